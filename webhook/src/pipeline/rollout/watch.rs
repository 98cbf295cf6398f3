//! Watching a rollout to its verdict: one look at a time at the Deployment and its new pods,
//! judged by `mosaic_core::verdict`; on failure, the cause in words and the explain engine's
//! findings. A look comes on a change to the Deployment (at most two a second) or every
//! `POLL`; what it reads is bounded (`reads`).

use kube::ResourceExt;
use mosaic_core::BuildReason;
use std::time::{Duration, Instant};

use super::reads;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use mosaic_core::explain::{self, Finding};
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};
use mosaic_core::verdict::{Failure, Judge, Policy, Step};

use crate::cluster::claim::Claimed;
use crate::cluster::retry::{api_budget, is_transient, retry};
use crate::pipeline::{Ctx, Stop, fail};

/// How often the outcome is re-read without a change to the Deployment (new pods failing show
/// up here; the Deployment's own changes wake the loop through a watch).
const POLL: Duration = Duration::from_secs(2);
/// The least time between two looks, however often the Deployment changes.
const MIN_GAP: Duration = Duration::from_millis(500);

/// Changes to the rolled Deployment; `None` once the watch failed, leaving only the poll.
type Changes = Option<BoxStream<'static, Result<Deployment, watcher::Error>>>;

fn watch_changes(api: &Api<Deployment>, name: &str) -> Changes {
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    Some(watcher(api.clone(), cfg).applied_objects().boxed())
}

/// Wait until the Deployment changes (but at least `MIN_GAP` after the last look) or `POLL`
/// passes, whichever is first. Returns the Deployment as the watch last showed it.
async fn changed_or_poll(changes: &mut Changes, last_look: Instant) -> Option<Deployment> {
    let Some(stream) = changes.as_mut() else {
        tokio::time::sleep(POLL).await;
        return None;
    };
    let mut seen = None;
    let broken = tokio::select! {
        ev = stream.next() => match ev {
            Some(Ok(d)) => {
                seen = Some(d);
                false
            }
            Some(Err(e)) => {
                tracing::debug!(error = %e, "Deployment watch failed; polling instead");
                true
            }
            None => true,
        },
        () = tokio::time::sleep(POLL) => false,
    };
    if broken {
        *changes = None;
        return None;
    }
    if seen.is_some() {
        tokio::time::sleep_until((last_look + MIN_GAP).into()).await;
        // Changes that came meanwhile: the last one is the Deployment now.
        while let Some(Some(ev)) = stream.next().now_or_never() {
            match ev {
                Ok(d) => seen = Some(d),
                Err(_) => break,
            }
        }
    }
    seen
}

/// The new pods of `build`'s rollout: those of `dep` (of its ReplicaSet `hash`, once known)
/// whose template names this Build.
async fn new_pods(
    client: &kube::Client,
    ns: &str,
    dep: &Deployment,
    build: &str,
    hash: Option<&str>,
) -> Result<Vec<Pod>, kube::Error> {
    let selector = reads::pod_selector(dep, hash);
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&selector))
        .await?;
    Ok(pods
        .items
        .into_iter()
        .filter(|p| {
            p.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(names::ANNOTATION_BUILD))
                .map(String::as_str)
                == Some(build)
        })
        .collect())
}

/// Findings about the new pods, their ReplicaSets and Deployment, from the explain engine,
/// and what this rollout changed in the pod template against the older revision (`failed
/// since this rollout changed the readiness probe of app …`).
fn diagnose(
    dep: &Deployment,
    sets: &[ReplicaSet],
    pods: &[Pod],
    events: &[Event],
) -> (Vec<Finding>, Option<String>) {
    let mut objects = vec![serde_json::to_value(dep).unwrap_or_default()];
    objects.extend(sets.iter().filter_map(|r| serde_json::to_value(r).ok()));
    objects.extend(pods.iter().filter_map(|p| serde_json::to_value(p).ok()));
    objects.extend(events.iter().filter_map(|e| serde_json::to_value(e).ok()));
    // The verdict already decided this rollout failed: report what the young objects show.
    let options = explain::Options {
        now: Some(chrono::Utc::now()),
        settle: false,
    };
    let index = explain::Index::build(objects);
    let report = explain::explain_index(&index, &explain::Ctx::new(&index, &options));
    let changed = explain::since_for(&index, &report.findings).and_then(|s| s.rollout_clause());
    (report.findings, changed)
}

/// A rollout being watched: each `next` is one look, judged by `mosaic_core::verdict`.
pub struct Watch<'a> {
    ctx: &'a Ctx,
    claimed: &'a Claimed,
    api: Api<Deployment>,
    ns: String,
    build: String,
    dep_name: String,
    judge: Judge,
    deadline: Instant,
    changes: Changes,
    unreachable: bool,
    first: bool,
    /// The Deployment and new pods of the last look.
    last: Option<(Deployment, Vec<Pod>)>,
    /// The Deployment as its watch last showed it (`None` once the watch failed).
    seen: Option<Deployment>,
    /// The new ReplicaSet's `pod-template-hash`, once its pods show it.
    hash: Option<String>,
    last_look: Instant,
}

impl<'a> Watch<'a> {
    /// Start watching the rollout of `build` (already applied) to `binding`'s Deployment.
    pub async fn start(
        ctx: &'a Ctx,
        claimed: &'a Claimed,
        build: &Build,
        binding: &Binding,
    ) -> Result<Watch<'a>, Stop> {
        let ns = build.metadata.namespace.clone().unwrap_or_default();
        let dep_name = binding.spec.deployment.clone();
        let api = Api::<Deployment>::namespaced(ctx.client.clone(), &ns);
        let dep = retry("reading the Deployment", api_budget(), || {
            api.get(&dep_name)
        })
        .await
        .map_err(|e| {
            fail(
                BuildReason::ClusterUnreachable,
                format!("reading Deployment {dep_name}: {e}"),
            )
        })?;
        let policy = Policy::for_rollout(binding.spec.verify.as_ref(), &dep, ctx.limits.verify)
            .map_err(|e| fail(BuildReason::InvalidBinding, e))?;
        let changes = watch_changes(&api, &dep_name);
        Ok(Watch {
            seen: Some(dep),
            hash: None,
            last_look: Instant::now(),
            ctx,
            claimed,
            api,
            ns,
            build: build.name_any(),
            dep_name,
            judge: Judge::new(policy),
            deadline: Instant::now() + ctx.limits.rollout_timeout,
            changes,
            unreachable: false,
            first: true,
            last: None,
        })
    }

    /// The policy this rollout is judged by.
    pub fn policy(&self) -> Policy {
        self.judge.policy()
    }

    /// Wait for a change (or the poll), then look once. A newer Build taking the Deployment
    /// over ends the watch as superseded.
    pub async fn next(&mut self) -> Result<Step, Stop> {
        if !std::mem::replace(&mut self.first, false)
            && let Some(d) = changed_or_poll(&mut self.changes, self.last_look).await
        {
            self.seen = Some(d);
        }
        loop {
            let me = self.claimed.build().await;
            let watched = self.changes.as_ref().and(self.seen.clone());
            let hash = self.hash.clone();
            let read = async {
                let dep = match watched {
                    Some(d) => d,
                    None => self.api.get(&self.dep_name).await?,
                };
                let taken = reads::taken_over(self.ctx, &me, &dep).await?;
                let pods = new_pods(
                    &self.ctx.client,
                    &self.ns,
                    &dep,
                    &self.build,
                    hash.as_deref(),
                )
                .await?;
                Ok::<_, kube::Error>((dep, taken, pods))
            };
            let (dep, taken, pods) = match read.await {
                Ok(r) => r,
                // An API server restarting is waited for, up to the deadline (one warning).
                Err(e) if is_transient(&e) && Instant::now() < self.deadline => {
                    if !std::mem::replace(&mut self.unreachable, true) {
                        tracing::warn!(build = %self.build, error = %e, "cannot read the rollout; waiting for the API server");
                    }
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                Err(e) => {
                    return Err(fail(
                        BuildReason::ClusterUnreachable,
                        format!("reading the Deployment, its pods and Builds: {e}"),
                    ));
                }
            };
            if std::mem::replace(&mut self.unreachable, false) {
                tracing::info!(build = %self.build, "the API server answers again; watching the rollout");
            }
            self.last_look = Instant::now();
            // A newer Build took the Deployment over: what happens now is its rollout, not ours.
            if let Some(newer) = taken {
                return Err(newer.into());
            }
            // Read only the new ReplicaSet's pods once they name it; all again if none shows.
            self.hash = if pods.is_empty() {
                None
            } else {
                self.hash.take().or_else(|| reads::shared_hash(&pods))
            };
            let now = Instant::now();
            let mut step = self.judge.step(now, &dep, &pods);
            if let Step::Progressing(what) = &step
                && now >= self.deadline
            {
                step = Step::Failed(self.judge.timed_out(
                    self.ctx.limits.rollout_timeout,
                    what,
                    &pods,
                ));
            }
            self.last = Some((dep, pods));
            return Ok(step);
        }
    }

    /// A failed rollout's message (its root cause in words) and the explain engine's findings.
    pub async fn describe(&mut self, failure: &Failure) -> (String, Vec<Finding>) {
        let Some((dep, pods)) = &self.last else {
            return (failure.cause(&[], &[]), Vec::new());
        };
        let sets = reads::replica_sets(&self.ctx.client, &self.ns, dep).await;
        let events = reads::events_of(&self.ctx.client, &self.ns, dep, &sets, pods).await;
        let mut cause = failure.cause(pods, &events);
        let (mut findings, changed) = diagnose(dep, &sets, pods, &events);
        if let Some(c) = changed {
            cause = format!("{cause}; {c}");
        }
        // A crash caught at its first exit is not yet a crash loop to the explain engine.
        if let Some(f) = failure.crash_finding(pods)
            && !findings.iter().any(|x| x.object == f.object)
        {
            findings.insert(0, f);
        }
        (cause, findings)
    }
}
