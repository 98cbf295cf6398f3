//! The worker: a kube-runtime Controller over Builds. Each reconcile claims a runnable Build,
//! runs the pipeline with a heartbeat, and writes the terminal status and the Binding's status.
//! An outcome that cannot be written while the API server is unreachable is kept (`Parked`)
//! and written when the Build is requeued, never rebuilt. On shutdown, running Builds are
//! released for another worker.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use mosaic_core::explain::Finding;
use mosaic_core::resources::{Build, BuildPhase};

use crate::adapters::kube_retry::API_RETRY_BUDGET;
use crate::intake::server::Readiness;
use crate::pipeline::{Ctx, Deployed, Stop, run};
use crate::worker::claim::{ClaimCheck, ClaimError, Claimed, claim_check};

/// Errors a reconcile reports to the controller (which retries after a back-off).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Claim(#[from] ClaimError),
    #[error("Kubernetes API: {}", mosaic_core::permission::kube_error(.0))]
    Api(#[from] kube::Error),
}

/// Outcomes a worker could not record because the Kubernetes API server was unreachable, by
/// `namespace/name`, with the claim that still lets it write them. A reconcile of a parked
/// Build records its outcome instead of claiming (and rebuilding) it again.
#[derive(Default)]
pub struct Parked(Mutex<HashMap<String, (Claimed, Outcome)>>);

impl Parked {
    fn park(&self, key: String, claimed: Claimed, outcome: Outcome) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (claimed, outcome));
    }

    fn take(&self, key: &str) -> Option<(Claimed, Outcome)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key)
    }

    fn drain(&self) -> Vec<(String, (Claimed, Outcome))> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect()
    }
}

/// On shutdown, after the controllers stopped: one last try, within `within` in all, to record
/// the outcomes kept while the API server was unreachable. Each one that still cannot be written
/// is logged with its outcome (its Build is taken over and run again once its claim expires).
/// Returns how many were not recorded.
pub async fn record_parked(ctx: &Ctx, within: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + within;
    let mut unrecorded = 0;
    for (key, (claimed, outcome)) in ctx.parked.drain() {
        let error = match tokio::time::timeout_at(deadline, finish(ctx, &claimed, &outcome)).await {
            Ok(Ok(())) => {
                tracing::info!(build = %key, phase = %outcome.phase, "shutting down: recorded the outcome kept while the Kubernetes API server was unreachable");
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {within:?}"),
        };
        unrecorded += 1;
        tracing::error!(
            build = %key,
            phase = %outcome.phase,
            reason = %outcome.reason,
            message = %outcome.message,
            error,
            "shutting down: could not record this outcome; the Build will be taken over and run again once its claim expires"
        );
    }
    unrecorded
}

/// How long a parked outcome waits before the next try to record it.
const RECORD_RETRY: Duration = Duration::from_secs(5);

async fn reconcile(build: Arc<Build>, ctx: Arc<Ctx>) -> Result<Action, WorkerError> {
    let name = build.metadata.name.clone().unwrap_or_default();
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let key = format!("{ns}/{name}");
    if let Some((claimed, outcome)) = ctx.parked.take(&key) {
        tracing::info!(build = %name, namespace = %ns, "recording the outcome kept while the Kubernetes API server was unreachable");
        return record(&ctx, key, claimed, outcome).await;
    }
    match claim_check(
        build.status.as_ref(),
        &ctx.identity,
        ctx.claim_ttl,
        Utc::now(),
    ) {
        ClaimCheck::Done => return Ok(Action::await_change()),
        ClaimCheck::HeldBy(owner, wait) => {
            tracing::debug!(build = %name, owner, "claimed elsewhere");
            return Ok(Action::requeue(wait + Duration::from_millis(100)));
        }
        ClaimCheck::Claim => {}
    }
    if ctx.shutdown.is_cancelled() {
        return Ok(Action::await_change());
    }
    let api = Api::<Build>::namespaced(ctx.client.clone(), &ns);
    if let Some(newer) = crate::pipeline::cached_newer(&ctx, &build) {
        return end_unstarted(&ctx, api, &build, Stop::superseded_by(&newer)).await;
    }
    if let Err(stop) = crate::pipeline::latest::admit(&ctx, &build).await {
        return end_unstarted(&ctx, api, &build, stop).await;
    }
    let claimed = match Claimed::claim(api, &build, &ctx.identity).await {
        Ok(c) => c,
        Err(ClaimError::Conflict(_)) => return Ok(Action::requeue(Duration::from_millis(200))),
        Err(e) => return Err(e.into()),
    };
    ctx.metrics.phase(BuildPhase::Building);
    tracing::info!(build = %name, namespace = %ns, commit = %build.spec.commit, "build claimed");
    let heartbeat = claimed.heartbeat(ctx.heartbeat);
    let mut report_errors = Vec::new();
    let result = tokio::select! {
        r = run(&ctx, &claimed, &mut report_errors) => r,
        () = ctx.shutdown.cancelled() => Err(Stop::Cancelled),
    };
    heartbeat.abort();
    match next_step(result, &report_errors, &build.spec.commit) {
        Next::Record(outcome) => record(&ctx, key, claimed, outcome).await,
        Next::Leave(e) => {
            tracing::warn!(build = %name, error = %e, "claim lost; leaving the build to its new owner");
            Ok(Action::await_change())
        }
        Next::Release => {
            tracing::info!(build = %name, "shutting down: releasing build");
            claimed.release().await?;
            Ok(Action::await_change())
        }
    }
}

/// A Build decided before any claim ends in one guarded status write, instead of a claim and
/// then a terminal write, and its commit still gets its status: one the watch cache already
/// shows superseded (most of them when pushes come quickly), and one `latest` refuses (paused,
/// not on the branch, behind its head, already deployed). A failed report is noted in a second
/// write. A 409 means another worker, or a newer version of the Build, came first: look again.
async fn end_unstarted(
    ctx: &Ctx,
    api: Api<Build>,
    build: &Build,
    stop: Stop,
) -> Result<Action, WorkerError> {
    let Next::Record(outcome) = next_step(Err(stop.replay()), &[], &build.spec.commit) else {
        return Ok(Action::await_change());
    };
    let ended = Claimed::claim_as(api, build, &ctx.identity, |s, now| {
        s.phase = outcome.phase;
        s.reason = Some(outcome.reason.clone());
        s.message = Some(outcome.message.clone());
        s.findings = Vec::new();
        s.rolled_back = false;
        s.phase_times.finished = Some(now);
    })
    .await;
    let claimed = match ended {
        Ok(c) => c,
        Err(ClaimError::Conflict(_)) => return Ok(Action::requeue(Duration::from_millis(200))),
        Err(e) => return Err(e.into()),
    };
    ctx.metrics.phase(outcome.phase);
    tracing::info!(
        build = build.metadata.name.as_deref().unwrap_or_default(),
        namespace = build.metadata.namespace.as_deref().unwrap_or_default(),
        reason = %outcome.reason,
        message = %outcome.message,
        "build decided before it started"
    );
    crate::worker::binding_events::note(&ctx.client, build, &outcome.reason, &outcome.message)
        .await;
    crate::worker::history::prune(ctx, build).await;
    let notes = crate::pipeline::report_superseded(ctx, build, stop.replay()).await;
    if !notes.is_empty()
        && let Next::Record(noted) = next_step(Err(stop), &notes, &build.spec.commit)
    {
        claimed
            .update(|s| s.message = Some(noted.message.clone()))
            .await?;
    }
    Ok(Action::await_change())
}

/// Write `outcome`; if the API server is unreachable, keep it (and the claim) and try again
/// later rather than leaving the Build to be claimed and built again.
async fn record(
    ctx: &Ctx,
    key: String,
    claimed: Claimed,
    outcome: Outcome,
) -> Result<Action, WorkerError> {
    match finish(ctx, &claimed, &outcome).await {
        Ok(()) => Ok(Action::await_change()),
        Err(ClaimError::Api(e)) if !is_not_found(&e) => {
            tracing::warn!(
                build = %key,
                error = %mosaic_core::permission::kube_error(&e),
                retry_in = ?RECORD_RETRY,
                "Kubernetes API server unreachable: cannot record the build's outcome; keeping it (not rebuilding) and trying again"
            );
            ctx.parked.park(key, claimed, outcome);
            Ok(Action::requeue(RECORD_RETRY))
        }
        Err(e) => Err(e.into()),
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound")
}

/// What a finished run writes on its Build.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub(crate) phase: BuildPhase,
    pub(crate) reason: String,
    pub(crate) message: String,
    pub(crate) findings: Vec<Finding>,
    pub(crate) rolled_back: bool,
}

/// What the worker does with a run's result.
#[derive(Debug)]
enum Next {
    /// Write this terminal status.
    Record(Outcome),
    /// Another worker owns the Build: touch nothing.
    Leave(ClaimError),
    /// Shutting down: give the Build back.
    Release,
}

/// The terminal status a run's result calls for; failed status reports are noted in the
/// message. A run stopped by an unreachable API server ends Failed, and is not run again.
fn next_step(result: Result<Deployed, Stop>, report_errors: &[String], commit: &str) -> Next {
    let note = if report_errors.is_empty() {
        String::new()
    } else {
        format!(
            " (GitHub status report failed: {})",
            report_errors.join("; ")
        )
    };
    let outcome = |phase, reason: &str, message: String| Outcome {
        phase,
        reason: reason.to_string(),
        message: format!("{message}{note}"),
        findings: vec![],
        rolled_back: false,
    };
    Next::Record(match result {
        Ok(d) => {
            let mut text = format!("deployed {}", d.image);
            if let Some(t) = &d.took_over {
                text = format!("{text}; {t}");
            }
            if !d.retried.is_empty() {
                text = format!("{text} (retried after: {})", d.retried.join("; "));
            }
            outcome(BuildPhase::Succeeded, "Deployed", text)
        }
        Err(Stop::Superseded { build: newer, .. }) => outcome(
            BuildPhase::Superseded,
            "Superseded",
            format!("a newer push ({newer}) wins"),
        ),
        Err(Stop::Decided {
            phase,
            reason,
            message,
        }) => outcome(phase, reason, message),
        Err(Stop::Failed {
            reason,
            message,
            findings,
            rolled_back,
        }) => Outcome {
            findings,
            rolled_back,
            ..outcome(BuildPhase::Failed, reason, message)
        },
        Err(Stop::ApiUnavailable(e)) => outcome(
            BuildPhase::Failed,
            "ClusterUnreachable",
            format!(
                "stopped: the Kubernetes API server was unreachable for more than {}s while \
                 recording progress ({e}); not rebuilt, so that no build runs twice: push again \
                 or run `kubectl mosaic deploy --ref {commit}`",
                API_RETRY_BUDGET.as_secs()
            ),
        ),
        Err(Stop::Lost(e)) => return Next::Leave(e),
        Err(Stop::Cancelled) => return Next::Release,
    })
}

/// Write the Binding's status, then the terminal status (guarded by the claim). The terminal
/// write comes last because it is what tells a reader (and another worker) that the run is
/// over, so everything it implies is in place by then; if it fails, the outcome is parked and
/// `finish` runs again, and the Binding patch is idempotent.
async fn finish(ctx: &Ctx, claimed: &Claimed, outcome: &Outcome) -> Result<(), ClaimError> {
    let build = claimed.build().await;
    let name = build.metadata.name.clone().unwrap_or_default();
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let Outcome {
        phase,
        reason,
        message,
        findings,
        rolled_back,
    } = outcome.clone();
    // Superseded and Cancelled say nothing about the Binding's health; an Event says why.
    if matches!(phase, BuildPhase::Superseded | BuildPhase::Cancelled) {
        crate::worker::binding_events::note(&ctx.client, &build, &reason, &message).await;
    } else {
        crate::worker::binding_status::record(&ctx.client, &build, outcome).await;
    }
    let (r, m, f) = (reason.clone(), message, findings);
    claimed
        .update(move |s| {
            s.phase = phase;
            s.reason = Some(r.clone());
            s.message = Some(m.clone());
            s.findings = f.clone();
            s.rolled_back = rolled_back;
            s.phase_times.finished = Some(crate::worker::claim::now_time());
        })
        .await?;
    ctx.metrics.phase(phase);
    tracing::info!(build = %name, namespace = %ns, phase = %phase, reason, "build finished");
    crate::worker::history::prune(ctx, &build).await;
    Ok(())
}

fn error_policy(build: Arc<Build>, err: &WorkerError, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(
        build = build.metadata.name.as_deref().unwrap_or_default(),
        error = %err,
        "reconcile failed; retrying"
    );
    Action::requeue(Duration::from_secs(2))
}

/// Run one controller over `api` until shutdown; flips `builds_synced` once the watch is ready.
pub async fn run_controller(
    api: Api<Build>,
    ctx: Arc<Ctx>,
    concurrency: u16,
    readiness: Arc<Readiness>,
) {
    // Controller::new's own watch, with the sibling index fed from the same events as the store.
    let (store, writer) = kube::runtime::reflector::store();
    let index = ctx.builds.add(store.clone());
    let trigger = kube::runtime::reflector(writer, watcher(api, watcher::Config::default()))
        .map_ok(move |event| {
            index.apply(&event);
            event
        })
        .applied_objects();
    let controller = Controller::for_stream(trigger, store.clone())
        .trigger_backoff(crate::adapters::kube_retry::WatchBackoff::default())
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency));
    tokio::spawn(async move {
        // The store's readiness wakes only its most recent waiter (the controller's own), so
        // poll again until it reports ready.
        while tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready())
            .await
            .is_err()
        {}
        readiness.builds_synced.store(true, Ordering::Relaxed);
    });
    let shutdown = ctx.shutdown.clone();
    controller
        .graceful_shutdown_on(async move { shutdown.cancelled().await })
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "controller event");
            }
        })
        .await;
}

#[cfg(test)]
mod tests;
