//! One claimed Build, start to end (`run`): ask `latest` whether it may run, fetch the exact
//! commit's tarball and build it, push, verify the digest (`stages`), ask `latest` again, roll
//! the Deployment by digest and watch it (`rollout`), and report to GitHub (`report`). What it
//! shares and returns is in `types`; `outcome` turns the result into the Build's status, the
//! commit status and the Binding's patch, which the worker writes. Stages call the adapters
//! through the narrow traits in `ports`; build decisions come from `plan`.
//!
//! Kubernetes is not behind a trait: the pipeline uses a plain `kube::Client` (Secrets, the
//! Binding, sibling Builds, the guarded status writes of `claim`, and the Deployment in
//! `rollout`). That surface is wide and already has a seam: a `kube::Client` is a tower service,
//! so unit tests give it an in-memory fake API server (`fake_kube.rs`) instead of a
//! trait that would have to mirror a dozen API calls.

pub mod context;
pub(crate) mod credentials;
#[cfg(test)]
pub(crate) mod fake_kube;
#[cfg(test)]
pub(crate) mod fakes;
pub(crate) mod latest;
pub(crate) mod outcome;
pub(crate) mod plan;
pub(crate) mod ports;
mod reapply;
mod report;
mod report_text;
pub(crate) mod resume;
pub mod rollout;
mod stages;
mod types;

use kube::ResourceExt;
use mosaic_core::BuildReason;

use chrono::Utc;
use kube::api::Api;
use mosaic_core::reference::RepoName;
use mosaic_core::resources::{Binding, Build, BuildPhase};
use mosaic_core::verdict::Step;

use crate::cluster::claim::Claimed;
use crate::metrics::Stage;
use crate::pipeline::ports::CommitState;
use latest::{check_latest, push_time};
use outcome::final_status;
use plan::plan_build;
use report::Reporter;
pub(crate) use types::fail;
pub use types::{Ctx, Deployed, Limits, Ports, Stop, Work};

/// Move to `phase`, recording when. A Build taken over already in `phase` stays in it and keeps
/// the time it first entered it; only the message changes.
async fn enter(ctx: &Ctx, claimed: &Claimed, phase: BuildPhase, message: &str) -> Result<(), Stop> {
    let msg = message.to_string();
    let changed = claimed
        .build()
        .await
        .status
        .is_none_or(|s| s.phase != phase);
    claimed
        .update(move |s| {
            if s.phase != phase {
                s.phase = phase;
                let now = Some(crate::cluster::claim::now_time());
                match phase {
                    BuildPhase::Building => s.phase_times.building = now,
                    BuildPhase::Pushing => s.phase_times.pushing = now,
                    BuildPhase::RollingOut => s.phase_times.rolling_out = now,
                    BuildPhase::Verifying => s.phase_times.verifying = now,
                    _ => {}
                }
            }
            s.message = Some(msg.clone());
        })
        .await?;
    if changed {
        ctx.metrics.phase(phase);
    }
    Ok(())
}

/// Read the Binding's Secrets and plan the build.
async fn prepare(ctx: &Ctx, build: &Build, binding: &Binding) -> Result<Work, Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let spec = &binding.spec;
    let repo = RepoName::parse(&spec.repo).map_err(|e| fail(BuildReason::InvalidBinding, e))?;
    let commit = build.spec.commit.clone();
    let source = format!("{}/{repo}", ctx.github_web_url.trim_end_matches('/'));
    let created = push_time(build).unwrap_or_else(Utc::now);
    let plan = plan_build(spec, &commit, &source, created)
        .map(|p| resume::tag_for(p, build))
        .map_err(|e| fail(BuildReason::InvalidBinding, e))?;
    let token = credentials::token(ctx, &ns, spec).await?;
    let auth = credentials::registry_auth(ctx, &ns, spec, &plan.registry_host).await?;
    Ok(Work {
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
    let name = build.name_any();
    // Superseded before it starts: still read what reporting needs, so the commit shows why
    // it was not deployed (a failure to read it then does not hide the supersession).
    let superseded = match check_latest(ctx, &build).await {
        Ok(()) => None,
        Err(s @ Stop::Superseded { .. }) => Some(s),
        Err(e) => return Err(e),
    };
    let (binding, job, rep) = match prepare_run(ctx, &build, claimed).await {
        Ok(p) => p,
        Err(e) => return Err(superseded.unwrap_or(e)),
    };
    let result = match superseded {
        Some(s) => Err(s),
        None => {
            let doing = if mosaic_core::rollback::is_rollback(&build) {
                "rolling back"
            } else {
                "building"
            };
            rep.report(CommitState::Pending, doing);
            run_stages(ctx, claimed, &build, &binding, &job, &rep).await
        }
    };
    reporter_errors.extend(rep.finish(final_status(&result)).await);
    tracing::debug!(build = %name, "pipeline finished");
    result
}

/// `build`'s Binding as it is now, waiting out a briefly unreachable API server; the one
/// lookup of it the run, `latest::admit` and `latest::recheck` share.
pub(crate) async fn read_binding(ctx: &Ctx, build: &Build) -> Result<Binding, Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let api = Api::<Binding>::namespaced(ctx.client.clone(), &ns);
    let name = &build.spec.binding;
    crate::cluster::retry::retry(
        "reading the Binding",
        crate::cluster::retry::api_budget(),
        || api.get(name),
    )
    .await
    .map_err(|e| {
        fail(
            BuildReason::BindingNotFound,
            format!("Binding {ns}/{name}: {e}"),
        )
    })
}

/// Read the Binding and its Secrets, plan the build, and start the commit's status reporter
/// (which records what it sends in the status of the Build `claimed` holds).
async fn prepare_run(
    ctx: &Ctx,
    build: &Build,
    claimed: &Claimed,
) -> Result<(Binding, Work, Reporter), Stop> {
    let binding = read_binding(ctx, build).await?;
    let job = prepare(ctx, build, &binding).await?;
    let rep = Reporter::start(
        ctx.ports.source.clone(),
        ctx.metrics.clone(),
        &job,
        ctx.report_details,
        claimed.clone(),
    );
    Ok((binding, job, rep))
}

/// The commit status of a Build that was decided before it ran (superseded by a newer push,
/// refused by `latest`; the worker ends such a Build without running it). Failures to report come back as notes; when the Binding
/// or its Secrets cannot be read there is nothing to report with, as in [`run`]. What is sent
/// is recorded in the status of the Build `claimed` holds (ended already).
pub async fn report_superseded(
    ctx: &Ctx,
    build: &Build,
    claimed: &Claimed,
    stop: Stop,
) -> Vec<String> {
    match prepare_run(ctx, build, claimed).await {
        Ok((_, _, rep)) => rep.finish(final_status(&Err(stop))).await,
        Err(_) => Vec::new(),
    }
}

async fn run_stages(
    ctx: &Ctx,
    claimed: &Claimed,
    build: &Build,
    binding: &Binding,
    job: &Work,
    rep: &Reporter,
) -> Result<Deployed, Stop> {
    let mut tries = stages::Tries::new(&ctx.limits.retry_pauses);
    let image = if mosaic_core::rollback::is_rollback(build) {
        reapply::image(ctx, claimed, build, binding, job).await?
    } else if let Some(image) = resume::pushed(ctx.ports.registry.as_ref(), build, job).await {
        tracing::info!(build = %build.name_any(), %image, "taken over after its push: continuing from the pushed digest");
        claimed.update(|s| s.image = Some(image.clone())).await?;
        image
    } else {
        build_and_push(ctx, claimed, job, &mut tries).await?
    };
    check_latest(ctx, &claimed.build().await).await?;
    latest::recheck(ctx, build).await?;
    // Announce before the guarded apply in `rollout` looks at the siblings again.
    let doing = format!("rolling out {image}");
    enter(ctx, claimed, BuildPhase::RollingOut, &doing).await?;
    let timer = ctx.metrics.time(Stage::Rollout);
    let applied = rollout::apply(ctx, claimed, build, binding, &image).await?;
    let took_over = applied.took_over.clone();
    rep.report(CommitState::Pending, "rolling out");
    let r = verify(ctx, claimed, build, binding, rep, &applied).await;
    drop(timer);
    r.map(|()| Deployed {
        image,
        retried: tries.notes,
        took_over,
    })
}

/// Build the image and push it by the id the build reported; returns `repository@digest`.
async fn build_and_push(
    ctx: &Ctx,
    claimed: &Claimed,
    job: &Work,
    tries: &mut stages::Tries,
) -> Result<String, Stop> {
    // A Build taken over in a later phase whose image cannot be found builds again: say so.
    let phase = claimed.build().await.status.map(|s| s.phase);
    if phase != Some(BuildPhase::Building) {
        enter(
            ctx,
            claimed,
            BuildPhase::Building,
            "building again after a takeover",
        )
        .await?;
    }
    let timer = ctx.metrics.time(Stage::Build);
    let (built, log_tail) = stages::fetch_and_build(
        ctx.ports.source.as_ref(),
        ctx.ports.builder.as_ref(),
        ctx.limits.build_timeout,
        job,
        tries,
    )
    .await;
    claimed
        .update(|s| s.log_tail = Some(log_tail.clone()))
        .await?;
    let built = built?.context;
    drop(timer);
    tracing::info!(tag = %job.plan.tag, entries = built.entries, bytes = built.bytes, "image built");

    let tag = job.plan.tag.clone();
    enter(ctx, claimed, BuildPhase::Pushing, &format!("pushing {tag}")).await?;
    let timer = ctx.metrics.time(Stage::Push);
    let image = stages::push_and_verify(
        ctx.ports.builder.as_ref(),
        ctx.ports.registry.as_ref(),
        job,
        built.image_id.as_deref(),
        tries,
    )
    .await?;
    claimed.update(|s| s.image = Some(image.clone())).await?;
    drop(timer);
    Ok(image)
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
                rep.report(CommitState::Pending, &doing);
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
pub(crate) mod test_world;
#[cfg(test)]
mod tests;
