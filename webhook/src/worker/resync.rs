//! Resync: at start and every `--resync-interval`, read each bound branch's head and record a
//! Build (trigger `resync`) when the head is neither deployed nor on its way. This recovers
//! every delivery lost to a 503, a 408 or an outage (GitHub does not redeliver on its own).
//!
//! The branch is read with a conditional request (`git_history`), so an unchanged branch costs
//! a 304, which GitHub does not count against the rate limit. The Bindings of one round are
//! spread over half the interval; a Binding is not asked about while GitHub's `Retry-After`
//! runs or its token's `X-RateLimit-Remaining` is down to [`RESERVE`] (until
//! `X-RateLimit-Reset`), but in the first round after; a request refused for the rate limit
//! ends the round. Builds are listed only for
//! a Binding whose head moved. Names are deterministic, so replicas that resync at once record
//! one Build.

use std::sync::Arc;
use std::time::Duration;

use chrono::SecondsFormat;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::reflector::Store;
use mosaic_core::names;
use mosaic_core::reference::RepoName;
use mosaic_core::resources::{Binding, Build, BuildPhase, BuildTrigger};
use mosaic_core::{BuildReason, CommitRef};
use tokio_util::sync::CancellationToken;

use crate::pipeline::ports::{GitHistory, PortError, Token};

/// Requests of a token's rate-limit window the resync leaves to the Builds' own checks.
pub const RESERVE: u64 = 50;

/// Failures after which the head is recorded again: GitHub or the cluster was away, not the
/// commit at fault.
const PASSING_FAILURES: [BuildReason; 3] = [
    BuildReason::GitHubUnavailable,
    BuildReason::GitHubRateLimited,
    BuildReason::ClusterUnreachable,
];

/// Given every Build of the head commit for one Binding (whose last deploy is another commit):
/// the number for a new Build, or `None` when one is running, waiting, or failed for a reason
/// of the commit's own (recording it again would rebuild a broken commit each interval).
pub fn needs_build(builds: &[Build]) -> Option<usize> {
    let newest = builds
        .iter()
        .max_by_key(|b| b.metadata.creation_timestamp.clone());
    let Some(newest) = newest else {
        return Some(0);
    };
    let Some(s) = &newest.status else { return None };
    match s.phase {
        BuildPhase::Superseded | BuildPhase::Cancelled | BuildPhase::Succeeded => {
            Some(builds.len())
        }
        BuildPhase::Failed
            if s.reason
                .as_deref()
                .and_then(|r| r.parse::<BuildReason>().ok())
                .is_some_and(|r| PASSING_FAILURES.contains(&r)) =>
        {
            Some(builds.len())
        }
        _ => None,
    }
}

/// The name of the `n`th Build of a head (0: the push's own name).
pub fn resync_name(base: &str, n: usize) -> String {
    if n == 0 {
        base.to_string()
    } else {
        format!("{base}-resync-{n}")
    }
}

/// What the resync needs.
pub struct Resync {
    pub client: kube::Client,
    /// The install's default credentials, for Bindings that name no Secret.
    pub defaults: crate::pipeline::credentials::Defaults,
    /// Becomes true once the Binding stores synced (never wait on the stores themselves: a
    /// store wakes only one of its waiters, and `/readyz` waits too).
    pub synced: tokio::sync::watch::Receiver<bool>,
    pub bindings: Vec<Store<Binding>>,
    pub history: Arc<dyn GitHistory>,
    pub interval: Duration,
    pub shutdown: CancellationToken,
}

impl Resync {
    /// Run until shutdown; an interval of zero turns it off.
    pub async fn run(self) {
        if self.interval.is_zero() {
            tracing::info!(
                "--resync-interval 0: branches are not resynced; lost deliveries stay lost"
            );
            return;
        }
        let mut synced = self.synced.clone();
        if synced.wait_for(|s| *s).await.is_err() {
            return;
        }
        loop {
            let all: Vec<Arc<Binding>> = self.bindings.iter().flat_map(|s| s.state()).collect();
            let spread = self.interval / (2 * all.len().max(1) as u32);
            for b in all {
                match self.one(&b).await {
                    Err(e) if e.reason == BuildReason::GitHubRateLimited => {
                        tracing::warn!(error = %e, "resync: GitHub's rate limit is spent; ending this round");
                        break;
                    }
                    Err(e) => tracing::warn!(
                        binding = b.metadata.name.as_deref().unwrap_or_default(),
                        namespace = b.metadata.namespace.as_deref().unwrap_or_default(),
                        error = %e,
                        "resync: cannot read the branch head"
                    ),
                    Ok(()) => {}
                }
                if self.pause(spread).await {
                    return;
                }
            }
            if self.pause(self.interval / 2).await {
                return;
            }
        }
    }

    /// Sleep `d`; true when shutting down.
    async fn pause(&self, d: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(d) => false,
            () = self.shutdown.cancelled() => true,
        }
    }

    /// Say on the Binding's Ready condition that its branch does not exist (once: a condition
    /// already saying so is not written again).
    async fn branch_missing(&self, b: &Binding, repo: &str) {
        let said = b
            .status
            .iter()
            .flat_map(|s| &s.conditions)
            .any(|c| c.type_ == "Ready" && c.reason == BuildReason::BranchNotFound.as_str());
        if said {
            return;
        }
        let (ns, name) = (
            b.metadata.namespace.clone().unwrap_or_default(),
            b.name_any(),
        );
        let patch = serde_json::json!({"status": {"conditions": [{
            "type": "Ready", "status": "False", "reason": BuildReason::BranchNotFound,
            "message": format!("branch {} does not exist in {repo}: nothing can deploy until it does (or the Binding names another branch)", b.spec.branch),
            "lastTransitionTime": crate::cluster::claim::now_time(),
            "observedGeneration": b.metadata.generation,
        }]}});
        if let Err(e) = Api::<Binding>::namespaced(self.client.clone(), &ns)
            .patch_status(
                &name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
        {
            tracing::warn!(binding = %name, namespace = %ns, error = %e, "resync: cannot write the Binding's Ready condition");
        }
    }

    /// Resync one Binding: read its branch head and record a Build when the head is neither
    /// deployed nor on its way.
    async fn one(&self, b: &Binding) -> Result<(), PortError> {
        let Some((ns, name, repo)) = target(b) else {
            return Ok(());
        };
        let Some(token) = self.token(b, ns, name).await else {
            return Ok(());
        };
        // Honour GitHub's limits: while a `Retry-After` runs or the window is spent (keeping
        // requests for the Builds' own checks), this Binding is not asked about this round;
        // a later round asks once GitHub allows it. Waiting here instead would hold up the
        // Bindings of other tokens, and asking after a shorter wait would break the limit.
        if let Some(d) = self.history.hold_off(token.as_ref(), RESERVE) {
            tracing::info!(binding = %name, namespace = %ns, wait_s = d.as_secs(), "resync: holding off for GitHub's rate limit");
            return Ok(());
        }
        let branch = &b.spec.branch;
        let Some(head) = self
            .history
            .branch_head(token.as_ref(), &repo, branch)
            .await?
        else {
            tracing::warn!(binding = %name, namespace = %ns, %repo, branch, "resync: the bound branch does not exist");
            self.branch_missing(b, &repo.to_string()).await;
            return Ok(());
        };
        let last = b.status.as_ref().and_then(|s| s.last_commit.as_deref());
        if last == Some(head.as_str()) {
            return Ok(());
        }
        let Some(n) = self.new_build_number(ns, name, &head).await else {
            return Ok(());
        };
        self.record(b, &head, n).await;
        Ok(())
    }

    /// The Binding's GitHub token (`Some(None)`: it asks without one); `None` when its Secret
    /// cannot be read (said in the log; the next round tries again).
    async fn token(&self, b: &Binding, ns: &str, name: &str) -> Option<Option<Token>> {
        match crate::pipeline::credentials::github_token(&self.client, &self.defaults, ns, &b.spec)
            .await
        {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(binding = %name, namespace = %ns, error = ?e, "resync: cannot read the Binding's GitHub token");
                None
            }
        }
    }

    /// The number for a new Build of `head` (see [`needs_build`]), or `None` when none is
    /// needed: one is on its way, broke on its own, or the head is deployed after all.
    async fn new_build_number(&self, ns: &str, name: &str, head: &str) -> Option<usize> {
        let lp = ListParams::default().labels(&format!(
            "{}={name},{}={head}",
            names::LABEL_BINDING,
            names::LABEL_COMMIT
        ));
        let builds = match Api::<Build>::namespaced(self.client.clone(), ns)
            .list(&lp)
            .await
        {
            Ok(l) => l.items,
            Err(e) => {
                tracing::warn!(binding = %name, namespace = %ns, error = %e, "resync: cannot list Builds");
                return None;
            }
        };
        let n = needs_build(&builds)?;
        // The store can lag the worker's write of the last deploy (a Build of the head that
        // just succeeded): ask the API server before recording the head again.
        if let Ok(fresh) = Api::<Binding>::namespaced(self.client.clone(), ns)
            .get(name)
            .await
            && fresh.status.and_then(|s| s.last_commit).as_deref() == Some(head)
        {
            return None;
        }
        Some(n)
    }

    /// Record the `n`th Build of `head` for `b` (trigger `resync`); a replica that recorded it
    /// first (409) is no failure.
    async fn record(&self, b: &Binding, head: &str, n: usize) {
        let ns = b.metadata.namespace.as_deref().unwrap_or_default();
        let name = b.name_any();
        let last = b.status.as_ref().and_then(|s| s.last_commit.clone());
        let now = chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
        let git_ref = format!("refs/heads/{}", b.spec.branch);
        let commit = CommitRef {
            sha: head,
            git_ref: &git_ref,
        };
        let Some(mut build) =
            Build::for_commit(b, commit, BuildTrigger::resync(last)).map(|b| b.pushed_at(&now))
        else {
            return;
        };
        build.metadata.name = Some(resync_name(&build.name_any(), n));
        let api = Api::<Build>::namespaced(self.client.clone(), ns);
        match api.create(&PostParams::default(), &build).await {
            Ok(_) => tracing::info!(
                binding = %name, namespace = %ns, %head, build = build.metadata.name.as_deref().unwrap_or_default(),
                "resync: the branch head was not deployed; recorded a Build"
            ),
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                tracing::warn!(binding = %name, namespace = %ns, error = %e, "resync: cannot record the Build")
            }
        }
    }
}

/// The namespace, name and repository of a Binding the resync reads; `None` for one it skips
/// (paused, or not yet complete).
fn target(b: &Binding) -> Option<(&str, &str, RepoName)> {
    let (Some(ns), Some(name)) = (&b.metadata.namespace, &b.metadata.name) else {
        return None;
    };
    if b.spec.paused {
        return None;
    }
    let repo = RepoName::parse(&b.spec.repo).ok()?;
    Some((ns, name, repo))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(phase: Option<&str>, reason: Option<&str>, created: &str) -> Build {
        let mut v = serde_json::json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
            "metadata": {"name": "web-x", "namespace": "team", "creationTimestamp": created},
            "spec": {"binding": "web", "commit": "c", "ref": "refs/heads/main", "trigger": {"type": "push"}}
        });
        if let Some(p) = phase {
            v["status"] = serde_json::json!({"phase": p, "reason": reason});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_head_is_recorded_unless_a_build_of_it_is_on_its_way_or_broke() {
        assert_eq!(needs_build(&[]), Some(0));
        let old = build(Some("Succeeded"), Some("Deployed"), "2026-01-01T00:00:00Z");
        assert_eq!(
            needs_build(std::slice::from_ref(&old)),
            Some(1),
            "reset back to it"
        );
        for waiting in [None, Some("Pending"), Some("Building"), Some("RollingOut")] {
            let w = build(waiting, None, "2026-01-01T00:00:01Z");
            assert_eq!(needs_build(&[old.clone(), w]), None, "{waiting:?}");
        }
        let broken = build(Some("Failed"), Some("BuildFailed"), "2026-01-01T00:00:01Z");
        assert_eq!(needs_build(&[old.clone(), broken]), None);
        let away = build(
            Some("Failed"),
            Some("GitHubUnavailable"),
            "2026-01-01T00:00:01Z",
        );
        assert_eq!(needs_build(&[old.clone(), away]), Some(2));
        let superseded = build(Some("Superseded"), None, "2026-01-01T00:00:01Z");
        assert_eq!(needs_build(&[superseded]), Some(1));
        assert_eq!(resync_name("web-abc", 0), "web-abc");
        assert_eq!(resync_name("web-abc", 2), "web-abc-resync-2");
    }
}
