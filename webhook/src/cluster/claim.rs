//! Ownership of a Build's status: claiming with a resourceVersion-guarded status update, the
//! heartbeat that keeps a claim fresh, and every later status change made only while this worker
//! still holds the claim (waiting out a briefly unreachable API server). Pure claim rules first,
//! the guarded writer after.

use kube::ResourceExt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, PostParams};
use mosaic_core::resources::{Build, BuildPhase, BuildStatus};
use tokio::sync::Mutex;

use crate::cluster::retry::{api_budget, retry};

/// The current time as a Kubernetes `Time`.
pub fn now_time() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// A Kubernetes `Time` as a chrono time.
pub fn to_chrono(t: &Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// Can `me` claim this Build now?
#[derive(Debug, PartialEq, Eq)]
pub enum ClaimCheck {
    /// Free, stale, or held by a previous incarnation of `me`: claim it.
    Claim,
    /// Another worker holds a fresh claim; look again after this long.
    HeldBy(String, Duration),
    /// Nothing to do (terminal).
    Done,
}

/// The claim rule. A claim by `me` found at this point is an orphan of a previous process with
/// the same identity (this process only looks at Builds it is not running).
pub fn claim_check(
    status: Option<&BuildStatus>,
    me: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> ClaimCheck {
    let Some(s) = status else {
        return ClaimCheck::Claim;
    };
    if s.phase.is_terminal() {
        return ClaimCheck::Done;
    }
    match (&s.claimed_by, &s.heartbeat) {
        (None, _) => ClaimCheck::Claim,
        (Some(owner), _) if owner == me => ClaimCheck::Claim,
        (Some(owner), Some(hb)) => {
            let age = (now - to_chrono(hb)).to_std().unwrap_or_default();
            if age >= ttl {
                ClaimCheck::Claim
            } else {
                ClaimCheck::HeldBy(owner.clone(), ttl - age)
            }
        }
        (Some(_), None) => ClaimCheck::Claim,
    }
}

/// Why a status write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("build {0} was claimed by {1} in the meantime")]
    Lost(String, String),
    #[error("build {0} changed concurrently")]
    Conflict(String),
    #[error("Kubernetes API: {}", mosaic_core::permission::kube_error(.0))]
    Api(#[from] kube::Error),
}

/// A claimed Build whose status only this worker writes. Cheap to clone.
#[derive(Clone)]
pub struct Claimed {
    api: Api<Build>,
    me: String,
    current: Arc<Mutex<Build>>,
}

fn phase_of(b: &Build) -> Option<BuildPhase> {
    b.status.as_ref().map(|s| s.phase)
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

impl Claimed {
    /// Claim `build` (as last read) for `me`: one guarded status update; a 409 means someone
    /// else got there first. A Pending Build starts Building. A Build taken over from a replica
    /// that stopped keeps the phase it reached and when it entered each phase: the run decides
    /// whether it builds again (then it enters Building) or continues from its pushed image.
    pub async fn claim(api: Api<Build>, build: &Build, me: &str) -> Result<Self, ClaimError> {
        Self::claim_as(api, build, me, |s, now| {
            if matches!(phase_of(build), None | Some(BuildPhase::Pending)) {
                s.phase = BuildPhase::Building;
                s.phase_times.building = Some(now);
                s.message = Some("claimed".into());
            } else {
                s.message = Some(format!("taken over by {me}"));
            }
            s.reason = None;
        })
        .await
    }

    /// Claim `build` for `me` with `set` applied to its status in the same guarded write (it is
    /// given the write's time): a Build decided before it runs is claimed and ended at once.
    pub async fn claim_as(
        api: Api<Build>,
        build: &Build,
        me: &str,
        set: impl FnOnce(&mut BuildStatus, Time),
    ) -> Result<Self, ClaimError> {
        let mut b = build.clone();
        let now = now_time();
        let s = b.status.get_or_insert_with(BuildStatus::default);
        s.phase_times.pending.get_or_insert(now.clone());
        s.claimed_by = Some(me.to_string());
        s.heartbeat = Some(now.clone());
        set(s, now);
        let name = b.name_any();
        let before = phase_of(build);
        match api.replace_status(&name, &PostParams::default(), &b).await {
            Ok(updated) => {
                let claimed = Self {
                    api,
                    me: me.to_string(),
                    current: Arc::new(Mutex::new(updated.clone())),
                };
                claimed.told(before, &updated).await;
                Ok(claimed)
            }
            Err(e) if is_conflict(&e) => Err(ClaimError::Conflict(name)),
            Err(e) => Err(e.into()),
        }
    }

    /// Tell of a phase change (a Kubernetes Event on the Build) when `written` left `before`.
    async fn told(&self, before: Option<BuildPhase>, written: &Build) {
        if phase_of(written) != before {
            let client = self.api.clone().into_client();
            crate::cluster::build_events::phase_changed(client, written, &self.me).await;
        }
    }

    /// A snapshot of the Build as last written.
    pub async fn build(&self) -> Build {
        self.current.lock().await.clone()
    }

    /// Change the status (and refresh the heartbeat) while the claim is still ours. On a
    /// conflict the Build is re-read: if still ours, the change is retried on the fresh copy.
    /// An API server that is briefly away is waited for (`transient`), so a restart of it does
    /// not end the run.
    pub async fn update(&self, change: impl Fn(&mut BuildStatus)) -> Result<Build, ClaimError> {
        let mut cur = self.current.lock().await;
        for _ in 0..5 {
            let mut b = cur.clone();
            let s = b.status.get_or_insert_with(BuildStatus::default);
            change(s);
            s.heartbeat = Some(now_time());
            let name = b.name_any();
            let pp = PostParams::default();
            let write = retry("writing the Build status", api_budget(), || {
                self.api.replace_status(&name, &pp, &b)
            });
            match write.await {
                Ok(updated) => {
                    let before = phase_of(&cur);
                    *cur = updated.clone();
                    self.told(before, &updated).await;
                    return Ok(updated);
                }
                Err(e) if is_conflict(&e) => {
                    let fresh =
                        retry("reading the Build", api_budget(), || self.api.get(&name)).await?;
                    let owner = fresh
                        .status
                        .as_ref()
                        .and_then(|s| s.claimed_by.clone())
                        .unwrap_or_default();
                    if owner != self.me {
                        return Err(ClaimError::Lost(name, owner));
                    }
                    *cur = fresh;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ClaimError::Conflict(cur.name_any()))
    }

    /// Give the Build back (on shutdown): Pending, unclaimed, for another worker to take.
    pub async fn release(&self) -> Result<(), ClaimError> {
        self.update(|s| {
            s.phase = BuildPhase::Pending;
            s.claimed_by = None;
            s.message = Some("released by a worker that shut down; waiting for another".into());
        })
        .await
        .map(|_| ())
    }

    /// Refresh the heartbeat every `every` until the returned task is aborted or the claim is lost.
    /// It logs in the caller's span (the reconcile's build, namespace and commit).
    pub fn heartbeat(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let beat = async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = me.update(|_| {}).await {
                    tracing::warn!(error = %e, "heartbeat failed");
                    if matches!(e, ClaimError::Lost(..)) {
                        return;
                    }
                }
            }
        };
        tokio::spawn(tracing::Instrument::in_current_span(beat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(
        phase: BuildPhase,
        by: Option<&str>,
        hb_secs_ago: Option<i64>,
        now: DateTime<Utc>,
    ) -> BuildStatus {
        BuildStatus {
            phase,
            claimed_by: by.map(str::to_string),
            heartbeat: hb_secs_ago.map(|s| {
                let t = now - chrono::Duration::seconds(s);
                Time(k8s_openapi::jiff::Timestamp::from_second(t.timestamp()).unwrap())
            }),
            ..Default::default()
        }
    }

    #[test]
    fn claim_rules() {
        let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
        let ttl = Duration::from_secs(30);
        assert_eq!(claim_check(None, "me", ttl, now), ClaimCheck::Claim);
        assert_eq!(
            claim_check(
                Some(&st(BuildPhase::Pending, None, None, now)),
                "me",
                ttl,
                now
            ),
            ClaimCheck::Claim
        );
        assert_eq!(
            claim_check(
                Some(&st(BuildPhase::Succeeded, None, None, now)),
                "me",
                ttl,
                now
            ),
            ClaimCheck::Done
        );
        let held = st(BuildPhase::Building, Some("other"), Some(10), now);
        assert!(
            matches!(claim_check(Some(&held), "me", ttl, now), ClaimCheck::HeldBy(o, d) if o == "other" && d == Duration::from_secs(20))
        );
        let stale = st(BuildPhase::Pushing, Some("other"), Some(31), now);
        assert_eq!(claim_check(Some(&stale), "me", ttl, now), ClaimCheck::Claim);
        let mine = st(BuildPhase::RollingOut, Some("me"), Some(1), now);
        assert_eq!(
            claim_check(Some(&mine), "me", ttl, now),
            ClaimCheck::Claim,
            "an orphan of my previous incarnation"
        );
    }
}
