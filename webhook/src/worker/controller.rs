//! The worker: a kube-runtime Controller over Builds. Each reconcile claims a runnable Build,
//! runs the pipeline with a heartbeat, and writes the terminal status and the Binding's status.
//! An outcome that cannot be written while the API server is unreachable is kept (`Parked`)
//! and written when the Build is requeued, never rebuilt. On shutdown, running Builds are
//! released for another worker. Each controller's store also feeds the unfinished-Builds
//! gauge (`unfinished`).

use kube::ResourceExt;

use crate::metrics::ReconcileError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use mosaic_core::resources::{Binding, Build, BuildPhase};

use crate::cluster::claim::{ClaimCheck, ClaimError, Claimed, claim_check};
use crate::pipeline::outcome::{Next, Outcome, next_step};
use crate::pipeline::{Ctx, Stop, run};
use crate::readiness::Readiness;
use crate::worker::history::Pruner;

/// Errors a reconcile reports to the controller (which retries after a back-off).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Claim(#[from] ClaimError),
    #[error("Kubernetes API: {}", mosaic_core::permission::kube_error(.0))]
    Api(#[from] kube::Error),
}

/// What a worker's reconciles share: the pipeline's context, the outcomes it has not been
/// able to record yet, and the history pruner.
pub struct Worker {
    pub ctx: Ctx,
    pub parked: Parked,
    pub history: Arc<Pruner>,
}

impl Worker {
    #[cfg(test)]
    pub fn new(ctx: Ctx) -> Self {
        Self::with_bindings(ctx, Vec::new())
    }

    /// A worker whose history pruner reads Bindings from the caches `bindings`.
    pub fn with_bindings(ctx: Ctx, bindings: Vec<Store<Binding>>) -> Self {
        Worker {
            history: Arc::new(Pruner::new(&ctx, bindings)),
            ctx,
            parked: Parked::default(),
        }
    }
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

    fn holds(&self, key: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(key)
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
pub async fn record_parked(worker: &Worker, within: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + within;
    let mut unrecorded = 0;
    for (key, (claimed, outcome)) in worker.parked.drain() {
        let error = match tokio::time::timeout_at(deadline, finish(worker, &claimed, &outcome))
            .await
        {
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

/// A Build's key in [`Parked`]: `namespace/name`.
fn key_of(b: &Build) -> String {
    format!(
        "{}/{}",
        b.metadata.namespace.as_deref().unwrap_or_default(),
        b.metadata.name.as_deref().unwrap_or_default()
    )
}

/// How long a parked outcome waits before the next try to record it.
const RECORD_RETRY: Duration = Duration::from_secs(5);

/// One look at a Build: record a kept outcome, or claim and run it. Every line logged inside
/// carries the Build, its namespace and its commit from this span.
#[tracing::instrument(name = "reconcile", skip_all, fields(
    build = build.metadata.name.as_deref().unwrap_or_default(),
    namespace = build.metadata.namespace.as_deref().unwrap_or_default(),
    commit = %build.spec.commit,
))]
async fn reconcile(build: Arc<Build>, worker: Arc<Worker>) -> Result<Action, WorkerError> {
    let ctx = &worker.ctx;
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let key = key_of(&build);
    if let Some((claimed, outcome)) = worker.parked.take(&key) {
        tracing::info!(
            "recording the outcome kept while the Kubernetes API server was unreachable"
        );
        return write_outcome(&worker, key, claimed, outcome).await;
    }
    match claim_check(
        build.status.as_ref(),
        &ctx.identity,
        ctx.limits.claim_ttl,
        Utc::now(),
    ) {
        ClaimCheck::Done => return Ok(Action::await_change()),
        ClaimCheck::HeldBy(owner, wait) => {
            tracing::debug!(owner, "claimed elsewhere");
            return Ok(Action::requeue(wait + Duration::from_millis(100)));
        }
        ClaimCheck::Claim => {}
    }
    if ctx.shutdown.is_cancelled() {
        return Ok(Action::await_change());
    }
    let api = Api::<Build>::namespaced(ctx.client.clone(), &ns);
    if let Some(newer) = crate::pipeline::latest::cached_newer(ctx, &build) {
        return end_unstarted(&worker, api, &build, newer.into()).await;
    }
    if let Err(stop) = crate::pipeline::latest::admit(ctx, &build).await {
        return end_unstarted(&worker, api, &build, stop).await;
    }
    let claimed = match Claimed::claim(api, &build, &ctx.identity).await {
        Ok(c) => c,
        Err(ClaimError::Conflict(_)) => return Ok(Action::requeue(Duration::from_millis(200))),
        Err(e) => return Err(e.into()),
    };
    if build.status.as_ref().map(|s| s.phase).unwrap_or_default() == BuildPhase::Pending {
        ctx.metrics.phase(BuildPhase::Building);
    }
    tracing::info!("build claimed");
    let heartbeat = claimed.heartbeat(ctx.limits.heartbeat);
    let mut report_errors = Vec::new();
    let result = tokio::select! {
        r = run(ctx, &claimed, &mut report_errors) => r,
        () = ctx.shutdown.cancelled() => Err(Stop::Cancelled),
    };
    heartbeat.abort();
    match next_step(result, &report_errors, &build.spec.commit) {
        Next::Record(outcome) => write_outcome(&worker, key, claimed, outcome).await,
        Next::Leave(e) => {
            tracing::warn!(error = %e, "claim lost; leaving the build to its new owner");
            Ok(Action::await_change())
        }
        Next::Release => {
            tracing::info!("shutting down: releasing build");
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
    worker: &Worker,
    api: Api<Build>,
    build: &Build,
    stop: Stop,
) -> Result<Action, WorkerError> {
    let ctx = &worker.ctx;
    let Next::Record(outcome) = next_step(Err(stop.replay()), &[], &build.spec.commit) else {
        return Ok(Action::await_change());
    };
    let ended = Claimed::claim_as(api, build, &ctx.identity, |s, now| outcome.write(s, now)).await;
    let claimed = match ended {
        Ok(c) => c,
        Err(ClaimError::Conflict(_)) => return Ok(Action::requeue(Duration::from_millis(200))),
        Err(e) => return Err(e.into()),
    };
    ctx.metrics.phase(outcome.phase);
    tracing::info!(
        reason = %outcome.reason,
        message = %outcome.message,
        "build decided before it started"
    );
    crate::worker::binding_events::note(
        &ctx.client,
        build,
        outcome.reason.as_str(),
        &outcome.message,
    )
    .await;
    worker.history.ended(build);
    let notes = crate::pipeline::report_superseded(ctx, build, &claimed, stop.replay()).await;
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
async fn write_outcome(
    worker: &Worker,
    key: String,
    claimed: Claimed,
    outcome: Outcome,
) -> Result<Action, WorkerError> {
    match finish(worker, &claimed, &outcome).await {
        Ok(()) => Ok(Action::await_change()),
        Err(ClaimError::Api(e)) if !is_not_found(&e) => {
            tracing::warn!(
                build = %key,
                error = %mosaic_core::permission::kube_error(&e),
                retry_in = ?RECORD_RETRY,
                "Kubernetes API server unreachable: cannot record the build's outcome; keeping it (not rebuilding) and trying again"
            );
            worker.parked.park(key, claimed, outcome);
            Ok(Action::requeue(RECORD_RETRY))
        }
        Err(e) => Err(e.into()),
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound")
}

/// Write the Binding's status, then the terminal status (guarded by the claim). The terminal
/// write comes last because it is what tells a reader (and another worker) that the run is
/// over, so everything it implies is in place by then; if it fails, the outcome is parked and
/// `finish` runs again, and the Binding patch is idempotent.
async fn finish(worker: &Worker, claimed: &Claimed, outcome: &Outcome) -> Result<(), ClaimError> {
    let ctx = &worker.ctx;
    let build = claimed.build().await;
    let name = build.name_any();
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let (phase, reason) = (outcome.phase, outcome.reason.as_str());
    // Superseded and Cancelled say nothing about the Binding's health; an Event says why.
    if matches!(phase, BuildPhase::Superseded | BuildPhase::Cancelled) {
        crate::worker::binding_events::note(&ctx.client, &build, reason, &outcome.message).await;
    } else {
        crate::worker::binding_status::update_binding(&ctx.client, &build, outcome).await;
    }
    claimed
        .update(|s| outcome.write(s, crate::cluster::claim::now_time()))
        .await?;
    ctx.metrics.phase(phase);
    tracing::info!(build = %name, namespace = %ns, phase = %phase, reason, "build finished");
    worker.history.ended(&build);
    Ok(())
}

impl WorkerError {
    /// The `error` label of the reconcile-failure counter.
    fn kind(&self) -> ReconcileError {
        match self {
            WorkerError::Claim(_) => ReconcileError::Claim,
            WorkerError::Api(_) => ReconcileError::Api,
        }
    }
}

fn error_policy(build: Arc<Build>, err: &WorkerError, worker: Arc<Worker>) -> Action {
    worker.ctx.metrics.reconcile_failed(err.kind());
    tracing::warn!(
        build = build.metadata.name.as_deref().unwrap_or_default(),
        error = %err,
        "reconcile failed; retrying"
    );
    Action::requeue(Duration::from_secs(2))
}

/// Run one controller over `api` until shutdown; counts its store as synced once the watch is ready.
pub async fn run_controller(
    api: Api<Build>,
    worker: Arc<Worker>,
    concurrency: u16,
    readiness: Arc<Readiness>,
) {
    // Controller::new's own watch, with the sibling index fed from the same events. The
    // store keeps whole objects only for the Builds still to run (`store::for_controller`):
    // latest-wins reads the finished ones from the index.
    let (store, writer) = kube::runtime::reflector::store();
    let index = worker.ctx.builds.add();
    let keeping = worker.clone();
    let builds = watcher(api, watcher::Config::default()).try_filter_map(move |event| {
        index.apply(&event);
        let kept = store::for_controller(event, |b| keeping.parked.holds(&key_of(b)));
        std::future::ready(Ok(kept))
    });
    let ttl = worker.ctx.limits.claim_ttl;
    let counted = store.clone();
    worker.ctx.metrics.count_unfinished_with(move || {
        let builds = counted.state();
        unfinished::count(builds.iter().map(|b| &**b), ttl, Utc::now())
    });
    let trigger = kube::runtime::reflector(writer, builds).applied_objects();
    let controller = Controller::for_stream(trigger, store.clone())
        .trigger_backoff(crate::cluster::retry::WatchBackoff::default())
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency));
    tokio::spawn(async move {
        // The store's readiness wakes only its most recent waiter (the controller's own), so
        // poll again until it reports ready.
        while tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready())
            .await
            .is_err()
        {}
        readiness.build_store_synced();
    });
    let shutdown = worker.ctx.shutdown.clone();
    controller
        .graceful_shutdown_on(async move { shutdown.cancelled().await })
        .run(reconcile, error_policy, worker)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "controller event");
            }
        })
        .await;
}

mod store;
#[cfg(test)]
mod tests;
mod unfinished;
