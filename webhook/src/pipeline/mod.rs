//! One claimed Build, start to end: fetch the exact commit's tarball, build, push, verify the
//! digest, roll the Deployment by digest, watch it, report to GitHub and record the outcome on
//! the Build and its Binding. Stages call the adapters through the narrow traits in `ports`;
//! decisions come from `plan`.
//!
//! Kubernetes is not behind a trait: the pipeline uses a plain `kube::Client` (Secrets, the
//! Binding, sibling Builds, the guarded status writes of `claim`, and the Deployment in
//! `rollout`). That surface is wide and already has a seam: a `kube::Client` is a tower service,
//! so unit tests give it an in-memory fake API server (`fake_kube.rs`) instead of a
//! trait that would have to mirror a dozen API calls.

pub(crate) mod build_cache;
pub mod context;
pub(crate) mod credentials;
#[cfg(test)]
pub(crate) mod fake_kube;
#[cfg(test)]
pub(crate) mod fakes;
pub(crate) mod latest;
pub mod plan;
pub(crate) mod ports;
mod report;
pub mod rollout;
mod stages;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use mosaic_core::explain::Finding;
use mosaic_core::reference::RepoName;
use mosaic_core::resources::{Binding, Build, BuildPhase};
use tokio_util::sync::CancellationToken;

use crate::adapters::github::{StatusState, Token};
use crate::adapters::registry::RegistryAuth;
use crate::metrics::Metrics;
use crate::pipeline::build_cache::BuildCache;
use crate::worker::claim::{ClaimError, Claimed};
use mosaic_core::verdict::Step;
use plan::{BuildPlan, plan_build, push_time};
use ports::{GitHistory, ImageBuilder, RegistryCheck, SourceHost};
use report::Reporter;
pub use report::final_status;

/// What the worker needs, shared by every Build it runs.
pub struct Ctx {
    pub client: kube::Client,
    pub builder: Arc<dyn ImageBuilder>,
    pub source: Arc<dyn SourceHost>,
    /// Where branches are (`latest`); `None` only in tests of other concerns.
    pub history: Option<Arc<dyn GitHistory>>,
    pub registry: Arc<dyn RegistryCheck>,
    pub metrics: Arc<Metrics>,
    pub identity: String,
    pub claim_ttl: Duration,
    pub heartbeat: Duration,
    pub build_timeout: Duration,
    pub rollout_timeout: Duration,
    /// The cluster's least verification window and readiness grace.
    pub verify: mosaic_core::verdict::Defaults,
    pub github_web_url: String,
    pub shutdown: CancellationToken,
    /// Pauses before each further try of a stage that failed transiently (`--retry-pauses`).
    pub retry_pauses: Vec<Duration>,
    /// Sibling Builds for latest-wins checks, from the controllers' watch caches.
    pub builds: BuildCache,
    /// Outcomes the worker could not record yet (API unreachable), by `namespace/name`.
    pub parked: crate::worker::Parked,
    /// Credentials for Bindings that name none (`--default-github-secret`, ...).
    pub defaults: credentials::Defaults,
    /// Finished Builds kept per Binding when its `spec.history` says nothing.
    pub keep: mosaic_core::history::Defaults,
}

/// How a run ended early.
#[derive(Debug)]
pub enum Stop {
    Failed {
        reason: &'static str,
        message: String,
        findings: Vec<Finding>,
        rolled_back: bool,
    },
    /// A newer Build of the same Binding wins.
    Superseded { build: String, commit: String },
    /// Decided without deploying (`latest`): behind the branch head, not on the branch,
    /// already deployed, or the Binding is paused. Ends in `phase` (Superseded or Cancelled).
    Decided {
        phase: BuildPhase,
        reason: &'static str,
        message: String,
    },
    /// Shutting down: give the Build back.
    Cancelled,
    /// Another worker owns the Build now: touch nothing.
    Lost(ClaimError),
    /// A status write met a Kubernetes API server that stayed unreachable beyond the retry
    /// budget. The claim is still this worker's: the worker records the stop once the API
    /// answers again (never rebuilding the Build because of it).
    ApiUnavailable(ClaimError),
}

impl From<ClaimError> for Stop {
    fn from(e: ClaimError) -> Self {
        match e {
            ClaimError::Api(_) => Stop::ApiUnavailable(e),
            ClaimError::Lost(..) | ClaimError::Conflict(_) => Stop::Lost(e),
        }
    }
}

impl Stop {
    /// The same stop again, for a second use (one that ends a run is not copied).
    pub fn replay(&self) -> Self {
        match self {
            Stop::Failed {
                reason,
                message,
                findings,
                rolled_back,
            } => Stop::Failed {
                reason,
                message: message.clone(),
                findings: findings.clone(),
                rolled_back: *rolled_back,
            },
            Stop::Superseded { build, commit } => Stop::Superseded {
                build: build.clone(),
                commit: commit.clone(),
            },
            Stop::Decided {
                phase,
                reason,
                message,
            } => Stop::Decided {
                phase: *phase,
                reason,
                message: message.clone(),
            },
            _ => Stop::Cancelled,
        }
    }

    /// Superseded by `newer`.
    pub fn superseded_by(newer: &Build) -> Self {
        Stop::Superseded {
            build: newer.metadata.name.clone().unwrap_or_default(),
            commit: newer.spec.commit.clone(),
        }
    }
}

pub(crate) fn fail(reason: &'static str, message: impl std::fmt::Display) -> Stop {
    Stop::Failed {
        reason,
        message: message.to_string(),
        findings: Vec::new(),
        rolled_back: false,
    }
}

/// What one run knows about its commit, read once at the start.
pub struct Job {
    pub repo: RepoName,
    pub commit: String,
    /// The commit status context (`plan::status_context`).
    pub context: String,
    pub plan: BuildPlan,
    pub token: Option<Token>,
    pub auth: Option<RegistryAuth>,
}

/// Read one key of a Secret in `ns`. Errors name the Secret and key, never the value.
pub(crate) async fn secret_value(
    client: &kube::Client,
    ns: &str,
    name: &str,
    key: &str,
) -> Result<Vec<u8>, Stop> {
    let s = Api::<Secret>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .map_err(|e| {
            fail(
                "SecretUnreadable",
                format!(
                    "Secret {ns}/{name}: {}",
                    mosaic_core::permission::kube_error(&e)
                ),
            )
        })?;
    s.data
        .and_then(|mut d| d.remove(key))
        .map(|b| b.0)
        .ok_or_else(|| {
            fail(
                "SecretKeyMissing",
                format!("Secret {ns}/{name} has no key {key:?}"),
            )
        })
}

/// Move to `phase`, recording when.
async fn enter(ctx: &Ctx, claimed: &Claimed, phase: BuildPhase, message: &str) -> Result<(), Stop> {
    let msg = message.to_string();
    claimed
        .update(move |s| {
            s.phase = phase;
            let now = Some(crate::worker::claim::now_time());
            match phase {
                BuildPhase::Pushing => s.phase_times.pushing = now,
                BuildPhase::RollingOut => s.phase_times.rolling_out = now,
                BuildPhase::Verifying => s.phase_times.verifying = now,
                _ => {}
            }
            s.message = Some(msg.clone());
        })
        .await?;
    ctx.metrics.phase(phase);
    Ok(())
}

/// Every Build of `build`'s Binding, as the API server has them now (one request).
pub(crate) async fn list_siblings(
    client: &kube::Client,
    build: &Build,
) -> Result<Vec<Build>, kube::Error> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let lp = ListParams::default().labels(&format!(
        "{}={}",
        mosaic_core::names::LABEL_BINDING,
        build.spec.binding
    ));
    Api::<Build>::namespaced(client.clone(), &ns)
        .list(&lp)
        .await
        .map(|l| l.items)
}

/// [`list_siblings`], waiting out a briefly unreachable API server (`transient`).
pub(crate) async fn siblings(client: &kube::Client, build: &Build) -> Result<Vec<Build>, Stop> {
    crate::adapters::kube_retry::retry(
        "listing Builds",
        crate::adapters::kube_retry::API_RETRY_BUDGET,
        || list_siblings(client, build),
    )
    .await
    .map_err(|e| fail("ClusterUnreachable", format!("listing Builds: {e}")))
}

/// The newer Build of the same Binding that the watch cache shows still counting, if any. The
/// cache can only be behind, so what it shows exists: `build` is superseded.
pub fn cached_newer(ctx: &Ctx, build: &Build) -> Option<Build> {
    ctx.builds
        .newer(build)
        .flatten()
        .map(|newer| Build::clone(&newer))
}

/// Latest wins: stop if a newer sibling may still deploy or did deploy. The watch cache
/// answers "superseded" without a request (the newer Build it shows exists; the cache can only
/// be behind). "Not superseded" is confirmed by the API server, because the cache may not have
/// seen the newest push yet, and then an older Build would build, or roll out, first.
async fn check_latest(ctx: &Ctx, build: &Build) -> Result<(), Stop> {
    if let Some(newer) = cached_newer(ctx, build) {
        return Err(Stop::superseded_by(&newer));
    }
    let all = siblings(&ctx.client, build).await?;
    match plan::newer_build(build, &all) {
        Some(newer) => Err(Stop::superseded_by(newer)),
        None => Ok(()),
    }
}

/// Result of a successful run.
#[derive(Debug)]
pub struct Deployed {
    pub image: String,
    /// Stages that failed transiently and were run again, with why.
    pub retried: Vec<String>,
    /// Set when the image was taken over from another field manager.
    pub took_over: Option<String>,
}

/// Read the Binding's Secrets and plan the build.
async fn prepare(ctx: &Ctx, build: &Build, binding: &Binding) -> Result<Job, Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let spec = &binding.spec;
    let repo = RepoName::parse(&spec.repo).map_err(|e| fail("InvalidBinding", e))?;
    let commit = build.spec.commit.clone();
    let source = format!("{}/{repo}", ctx.github_web_url.trim_end_matches('/'));
    let created = push_time(build).unwrap_or_else(Utc::now);
    let plan =
        plan_build(spec, &commit, &source, created).map_err(|e| fail("InvalidBinding", e))?;
    let token = credentials::token(ctx, &ns, spec).await?;
    let auth = credentials::registry_auth(ctx, &ns, spec, &plan.registry_host).await?;
    Ok(Job {
        context: plan::status_context(&ns, &build.spec.binding),
        repo,
        commit,
        plan,
        token,
        auth,
    })
}

/// Run a claimed Build to the end. Terminal status is written by the caller.
pub async fn run(
    ctx: &Ctx,
    claimed: &Claimed,
    reporter_errors: &mut Vec<String>,
) -> Result<Deployed, Stop> {
    let build = claimed.build().await;
    let name = build.metadata.name.clone().unwrap_or_default();
    // Superseded before it starts: still read what reporting needs, so the commit shows why
    // it was not deployed (a failure to read it then does not hide the supersession).
    let superseded = match check_latest(ctx, &build).await {
        Ok(()) => None,
        Err(s @ Stop::Superseded { .. }) => Some(s),
        Err(e) => return Err(e),
    };
    let (binding, job, rep) = match prepare_run(ctx, &build).await {
        Ok(p) => p,
        Err(e) => return Err(superseded.unwrap_or(e)),
    };
    let result = match superseded {
        Some(s) => Err(s),
        None => {
            rep.report(StatusState::Pending, "building");
            run_stages(ctx, claimed, &build, &binding, &job, &rep).await
        }
    };
    reporter_errors.extend(rep.finish(final_status(&result)).await);
    tracing::debug!(build = %name, "pipeline finished");
    result
}

/// Read the Binding and its Secrets, plan the build, and start the commit's status reporter.
async fn prepare_run(ctx: &Ctx, build: &Build) -> Result<(Binding, Job, Reporter), Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let binding = Api::<Binding>::namespaced(ctx.client.clone(), &ns)
        .get(&build.spec.binding)
        .await
        .map_err(|e| {
            fail(
                "BindingNotFound",
                format!("Binding {ns}/{}: {e}", build.spec.binding),
            )
        })?;
    let job = prepare(ctx, build, &binding).await?;
    let rep = Reporter::start(ctx.source.clone(), ctx.metrics.clone(), &job);
    Ok((binding, job, rep))
}

/// The commit status of a Build that was decided before it ran (superseded by a newer push,
/// refused by `latest`; the worker ends such a Build without running it). Failures to report come back as notes; when the Binding
/// or its Secrets cannot be read there is nothing to report with, as in [`run`].
pub async fn report_superseded(ctx: &Ctx, build: &Build, stop: Stop) -> Vec<String> {
    match prepare_run(ctx, build).await {
        Ok((_, _, rep)) => rep.finish(final_status(&Err(stop))).await,
        Err(_) => Vec::new(),
    }
}

async fn run_stages(
    ctx: &Ctx,
    claimed: &Claimed,
    build: &Build,
    binding: &Binding,
    job: &Job,
    rep: &Reporter,
) -> Result<Deployed, Stop> {
    let started = Instant::now();
    let mut retry = stages::Retry::new(&ctx.retry_pauses);
    let (built, log_tail) = stages::fetch_and_build(
        ctx.source.as_ref(),
        ctx.builder.as_ref(),
        ctx.build_timeout,
        job,
        &mut retry,
    )
    .await;
    claimed
        .update(|s| s.log_tail = Some(log_tail.clone()))
        .await?;
    let summary = built?;
    tracing::info!(tag = %job.plan.tag, entries = summary.entries, bytes = summary.bytes, "image built");
    ctx.metrics.stage("build", started.elapsed().as_secs_f64());

    let tag = job.plan.tag.clone();
    enter(ctx, claimed, BuildPhase::Pushing, &format!("pushing {tag}")).await?;
    let started = Instant::now();
    let image =
        stages::push_and_verify(ctx.builder.as_ref(), ctx.registry.as_ref(), job, &mut retry)
            .await?;
    claimed.update(|s| s.image = Some(image.clone())).await?;
    ctx.metrics.stage("push", started.elapsed().as_secs_f64());

    check_latest(ctx, &claimed.build().await).await?;
    crate::pipeline::latest::recheck(ctx, build).await?;
    // Announce before the guarded apply in `rollout` looks at the siblings again.
    let doing = format!("rolling out {image}");
    enter(ctx, claimed, BuildPhase::RollingOut, &doing).await?;
    let started = Instant::now();
    let applied = rollout::apply(ctx, claimed, build, binding, &image).await?;
    let took_over = applied.took_over.clone();
    rep.report(StatusState::Pending, "rolling out");
    let r = verify(ctx, claimed, build, binding, rep, &applied).await;
    ctx.metrics
        .stage("rollout", started.elapsed().as_secs_f64());
    r.map(|()| Deployed {
        image,
        retried: retry.notes,
        took_over,
    })
}

/// Watch the rollout to a verdict (`mosaic_core::verdict`): Verifying once it completed, then
/// Ok when the new pods held for the window; on failure, roll back if the Binding asks for it.
async fn verify(
    ctx: &Ctx,
    claimed: &Claimed,
    build: &Build,
    binding: &Binding,
    rep: &Reporter,
    applied: &rollout::Applied,
) -> Result<(), Stop> {
    let mut watch = rollout::Watch::start(ctx, claimed, build, binding).await?;
    let window = mosaic_core::duration::format(watch.policy().window);
    let mut verifying = false;
    let failure = loop {
        match watch.next().await? {
            Step::Progressing(_) => {}
            Step::Verifying { .. } if !verifying => {
                verifying = true;
                let doing = format!("verifying: the new pods must stay healthy for {window}");
                enter(ctx, claimed, BuildPhase::Verifying, &doing).await?;
                rep.report(StatusState::Pending, &doing);
            }
            Step::Verifying { .. } => {}
            Step::Succeeded => return Ok(()),
            Step::Failed(f) => break f,
        }
    };
    let (cause, findings) = watch.describe(&failure).await;
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let mut message = cause;
    let mut rolled_back = false;
    if binding.spec.rollback_on_failure {
        match rollout::roll_back(ctx, claimed, binding, &ns, applied).await {
            Ok(()) => rolled_back = true,
            Err(why) => message = format!("{message}; {why}"),
        }
    }
    Err(Stop::Failed {
        reason: failure.kind.reason(),
        message,
        findings,
        rolled_back,
    })
}

#[cfg(test)]
mod retry_tests;
#[cfg(test)]
pub(crate) mod test_world;
#[cfg(test)]
mod tests;
