//! The worker: a kube-runtime Controller over Builds. Each reconcile claims a runnable Build,
//! runs the pipeline with a heartbeat, and writes the terminal status and the Binding's status.
//! On shutdown, running Builds are released for another worker.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use mosaic_core::resources::{Binding, Build, BuildPhase};

use crate::claim::{ClaimCheck, ClaimError, Claimed, claim_check};
use crate::pipeline::{Ctx, Stop, run};
use crate::server::Readiness;

/// Errors a reconcile reports to the controller (which retries after a back-off).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Claim(#[from] ClaimError),
    #[error("Kubernetes API: {}", mosaic_core::permission::kube_error(.0))]
    Api(#[from] kube::Error),
}

async fn reconcile(build: Arc<Build>, ctx: Arc<Ctx>) -> Result<Action, WorkerError> {
    let name = build.metadata.name.clone().unwrap_or_default();
    let ns = build.metadata.namespace.clone().unwrap_or_default();
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
    finish(&ctx, &claimed, result, report_errors).await?;
    Ok(Action::await_change())
}

fn ready_condition(ok: bool, reason: &str, message: &str, generation: Option<i64>) -> Condition {
    Condition {
        type_: "Ready".into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.chars().take(1000).collect(),
        last_transition_time: crate::claim::now_time(),
        observed_generation: generation,
    }
}

async fn finish(
    ctx: &Ctx,
    claimed: &Claimed,
    result: Result<crate::pipeline::Deployed, Stop>,
    report_errors: Vec<String>,
) -> Result<(), WorkerError> {
    let build = claimed.build().await;
    let name = build.metadata.name.clone().unwrap_or_default();
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let note = if report_errors.is_empty() {
        String::new()
    } else {
        format!(
            " (GitHub status report failed: {})",
            report_errors.join("; ")
        )
    };
    let (phase, reason, message, findings, rolled_back) = match result {
        Ok(d) => (
            BuildPhase::Succeeded,
            "Deployed".to_string(),
            format!("deployed {}", d.image),
            vec![],
            false,
        ),
        Err(Stop::Superseded { build: newer, .. }) => (
            BuildPhase::Superseded,
            "Superseded".into(),
            format!("a newer push ({newer}) wins"),
            vec![],
            false,
        ),
        Err(Stop::Failed {
            reason,
            message,
            findings,
            rolled_back,
        }) => (
            BuildPhase::Failed,
            reason.to_string(),
            message,
            findings,
            rolled_back,
        ),
        Err(Stop::Lost(e)) => {
            tracing::warn!(build = %name, error = %e, "claim lost; leaving the build to its new owner");
            return Ok(());
        }
        Err(Stop::Cancelled) => {
            tracing::info!(build = %name, "shutting down: releasing build");
            claimed.release().await?;
            return Ok(());
        }
    };
    let message = format!("{message}{note}");
    // The Binding first, the Build's terminal phase last: the terminal write is what tells a
    // reader (and another worker) that the run is over, so everything it implies is in place
    // by then. A crash in between reruns `finish`, and the Binding patch is idempotent.
    if phase != BuildPhase::Superseded {
        let image = build.status.as_ref().and_then(|s| s.image.clone());
        update_binding(ctx, &build, phase, &reason, &message, rolled_back, image).await;
    }
    let (r, m, f) = (reason.clone(), message.clone(), findings.clone());
    claimed
        .update(move |s| {
            s.phase = phase;
            s.reason = Some(r.clone());
            s.message = Some(m.clone());
            s.findings = f.clone();
            s.rolled_back = rolled_back;
            s.phase_times.finished = Some(crate::claim::now_time());
        })
        .await?;
    ctx.metrics.phase(phase);
    tracing::info!(build = %name, namespace = %ns, phase = %phase, reason, "build finished");
    Ok(())
}

/// Record a finished run on its Binding's status (`lastBuild`, and for a deployment
/// `lastCommit`/`lastImage`; the Ready condition either way). Failing to is logged, not fatal.
async fn update_binding(
    ctx: &Ctx,
    build: &Build,
    phase: BuildPhase,
    reason: &str,
    message: &str,
    rolled_back: bool,
    image: Option<String>,
) {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let name = build.metadata.name.clone().unwrap_or_default();
    let bapi = Api::<Binding>::namespaced(ctx.client.clone(), &ns);
    let generation = bapi
        .get(&build.spec.binding)
        .await
        .ok()
        .and_then(|b| b.metadata.generation);
    let mut status = serde_json::json!({ "lastBuild": name });
    if phase == BuildPhase::Succeeded {
        status["lastCommit"] = build.spec.commit.clone().into();
        status["lastImage"] = image.into();
        status["conditions"] =
            serde_json::json!([ready_condition(true, "Deployed", message, generation)]);
    } else {
        let why = if rolled_back {
            format!("{message}; rolled back")
        } else {
            message.to_string()
        };
        status["conditions"] =
            serde_json::json!([ready_condition(false, reason, &why, generation)]);
    }
    let patch = serde_json::json!({ "status": status });
    if let Err(e) = bapi
        .patch_status(
            &build.spec.binding,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        tracing::warn!(binding = %build.spec.binding, error = %e, "updating Binding status failed");
    }
}

fn error_policy(build: Arc<Build>, err: &WorkerError, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(build = ?build.metadata.name, error = %err, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(2))
}

/// Run one controller over `api` until shutdown; flips `builds_synced` once the watch is ready.
pub async fn run_controller(
    api: Api<Build>,
    ctx: Arc<Ctx>,
    concurrency: u16,
    readiness: Arc<Readiness>,
) {
    let controller = Controller::new(api, watcher::Config::default())
        .trigger_backoff(crate::transient::WatchBackoff::default())
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency));
    let store = controller.store();
    ctx.builds.add(store.clone());
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
