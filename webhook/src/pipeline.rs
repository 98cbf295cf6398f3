//! One claimed Build, start to end: fetch the exact commit's tarball, build, push, verify the
//! digest, roll the Deployment by digest, watch it, report to GitHub and record the outcome on
//! the Build and its Binding. Stages call the adapters; decisions come from `plan`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use mosaic_core::explain::Finding;
use mosaic_core::reference::RepoName;
use mosaic_core::resources::{Binding, Build, BuildPhase};
use tokio_util::sync::CancellationToken;

use crate::claim::{ClaimError, Claimed};
use crate::docker::{Engine, LogTail};
use crate::github::{GitHub, StatusState, Token};
use crate::metrics::Metrics;
use crate::plan::{self, newer_build, plan_build, push_time};
use crate::registry::{self, RegistryAuth};
use crate::rollout;

/// What the worker needs, shared by every Build it runs.
pub struct Ctx {
    pub client: kube::Client,
    pub engine: Engine,
    pub github: GitHub,
    pub http: reqwest::Client,
    pub metrics: Arc<Metrics>,
    pub identity: String,
    pub claim_ttl: Duration,
    pub heartbeat: Duration,
    pub build_timeout: Duration,
    pub rollout_timeout: Duration,
    pub github_web_url: String,
    pub shutdown: CancellationToken,
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
    Superseded(String),
    /// Shutting down: give the Build back.
    Cancelled,
    /// Another worker owns the Build now: touch nothing.
    Lost(ClaimError),
}

impl From<ClaimError> for Stop {
    fn from(e: ClaimError) -> Self {
        Stop::Lost(e)
    }
}

fn fail(reason: &'static str, message: impl std::fmt::Display) -> Stop {
    Stop::Failed {
        reason,
        message: message.to_string(),
        findings: Vec::new(),
        rolled_back: false,
    }
}

/// Read one key of a Secret in `ns`. Errors name the Secret and key, never the value.
async fn secret_value(
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
            let now = Some(crate::claim::now_time());
            match phase {
                BuildPhase::Pushing => s.phase_times.pushing = now,
                BuildPhase::RollingOut => s.phase_times.rolling_out = now,
                _ => {}
            }
            s.message = Some(msg.clone());
        })
        .await?;
    ctx.metrics.phase(phase);
    Ok(())
}

/// GitHub reporting that never fails the build: errors are collected for the final message.
struct Reporter<'a> {
    ctx: &'a Ctx,
    token: Option<Token>,
    repo: RepoName,
    commit: String,
    errors: Vec<String>,
}

impl Reporter<'_> {
    async fn report(&mut self, state: StatusState, text: &str) {
        let r = self
            .ctx
            .github
            .status(self.token.as_ref(), &self.repo, &self.commit, state, text)
            .await;
        self.ctx.metrics.report(r.is_ok());
        if let Err(e) = r {
            tracing::warn!(commit = %self.commit, error = %e, "GitHub status report failed");
            self.errors.push(e.to_string());
        }
    }
}

/// Newest sibling that blocks this Build (latest wins).
async fn blocking_newer(ctx: &Ctx, build: &Build) -> Result<Option<String>, Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let lp = ListParams::default().labels(&format!(
        "{}={}",
        mosaic_core::names::LABEL_BINDING,
        build.spec.binding
    ));
    let siblings = Api::<Build>::namespaced(ctx.client.clone(), &ns)
        .list(&lp)
        .await
        .map_err(|e| fail("ClusterUnreachable", format!("listing Builds: {e}")))?;
    Ok(newer_build(build, &siblings.items).and_then(|b| b.metadata.name.clone()))
}

/// Result of a successful run.
pub struct Deployed {
    pub image: String,
}

/// Run a claimed Build to the end. Terminal status is written by the caller.
pub async fn run(
    ctx: &Ctx,
    claimed: &Claimed,
    reporter_errors: &mut Vec<String>,
) -> Result<Deployed, Stop> {
    let build = claimed.build().await;
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let name = build.metadata.name.clone().unwrap_or_default();
    if let Some(newer) = blocking_newer(ctx, &build).await? {
        return Err(Stop::Superseded(newer));
    }
    let binding = Api::<Binding>::namespaced(ctx.client.clone(), &ns)
        .get(&build.spec.binding)
        .await
        .map_err(|e| {
            fail(
                "BindingNotFound",
                format!("Binding {ns}/{}: {e}", build.spec.binding),
            )
        })?;
    let spec = &binding.spec;
    let repo = RepoName::parse(&spec.repo).map_err(|e| fail("InvalidBinding", e))?;
    let commit = build.spec.commit.clone();
    let source = format!("{}/{repo}", ctx.github_web_url.trim_end_matches('/'));
    let created = push_time(&build).unwrap_or_else(Utc::now);
    let plan =
        plan_build(spec, &commit, &source, created).map_err(|e| fail("InvalidBinding", e))?;
    let token = match &spec.github_secret {
        Some(s) => Some(Token(
            String::from_utf8(secret_value(&ctx.client, &ns, s, "token").await?)
                .map_err(|_| {
                    fail(
                        "SecretUnreadable",
                        format!("Secret {ns}/{s} key token is not UTF-8"),
                    )
                })?
                .trim()
                .to_string(),
        )),
        None => None,
    };
    let auth: Option<RegistryAuth> = match &spec.registry_secret {
        Some(s) => {
            let cfg = secret_value(&ctx.client, &ns, s, ".dockerconfigjson").await?;
            Some(
                registry::credentials_for(&cfg, &plan.registry_host)
                    .map_err(|e| fail("RegistryCredentials", format!("Secret {ns}/{s}: {e}")))?,
            )
        }
        None => None,
    };
    let mut rep = Reporter {
        ctx,
        token: token.clone(),
        repo: repo.clone(),
        commit: commit.clone(),
        errors: Vec::new(),
    };
    rep.report(StatusState::Pending, "building").await;
    let result = stages(
        ctx,
        claimed,
        &build,
        &binding,
        &plan,
        token.as_ref(),
        auth.as_ref(),
        &mut rep,
    )
    .await;
    match &result {
        Ok(d) => {
            rep.report(StatusState::Success, &format!("deployed {}", d.image))
                .await
        }
        Err(Stop::Failed { message, .. }) => rep.report(StatusState::Failure, message).await,
        Err(Stop::Superseded(newer)) => {
            rep.report(
                StatusState::Success,
                &format!("superseded by {newer}; not deployed"),
            )
            .await
        }
        Err(_) => {}
    }
    tracing::debug!(build = %name, "pipeline finished");
    reporter_errors.append(&mut rep.errors);
    result
}

#[allow(clippy::too_many_arguments)]
async fn stages(
    ctx: &Ctx,
    claimed: &Claimed,
    build: &Build,
    binding: &Binding,
    plan: &plan::BuildPlan,
    token: Option<&Token>,
    auth: Option<&RegistryAuth>,
    rep: &mut Reporter<'_>,
) -> Result<Deployed, Stop> {
    let repo = rep.repo.clone();
    let commit = build.spec.commit.clone();
    let started = Instant::now();
    let tarball = ctx
        .github
        .tarball(token, &repo, &commit)
        .await
        .map_err(|e| fail("SourceUnavailable", e))?;
    let mut tail = LogTail::default();
    let built = tokio::time::timeout(
        ctx.build_timeout,
        ctx.engine
            .build(Box::pin(tarball), plan, &commit, auth, &mut tail),
    )
    .await;
    let log_tail = tail.text();
    claimed
        .update(|s| s.log_tail = Some(log_tail.clone()))
        .await?;
    match built {
        Err(_) => {
            return Err(fail(
                "BuildTimeout",
                format!("build did not finish within {:?}", ctx.build_timeout),
            ));
        }
        Ok(Err(e)) => return Err(fail("BuildFailed", e)),
        Ok(Ok(summary)) => {
            tracing::info!(tag = %plan.tag, entries = summary.entries, bytes = summary.bytes, "image built")
        }
    }
    ctx.metrics.stage("build", started.elapsed().as_secs_f64());

    enter(
        ctx,
        claimed,
        BuildPhase::Pushing,
        &format!("pushing {}", plan.tag),
    )
    .await?;
    let started = Instant::now();
    let short = plan::short_sha(&commit).to_string();
    let digest = ctx
        .engine
        .push(&plan.repository, &short, auth)
        .await
        .map_err(|e| fail("PushFailed", e))?;
    let image = mosaic_core::reference::ImageRef::parse_repository(&plan.repository)
        .map_err(|e| fail("InvalidBinding", e))?;
    registry::verify_digest(&ctx.http, auth, &plan.registry_host, &image.path, &digest)
        .await
        .map_err(|e| fail("DigestNotServed", e))?;
    let image_ref = image.with_digest(&digest);
    claimed
        .update(|s| s.image = Some(image_ref.clone()))
        .await?;
    ctx.metrics.stage("push", started.elapsed().as_secs_f64());

    if let Some(newer) = blocking_newer(ctx, &claimed.build().await).await? {
        return Err(Stop::Superseded(newer));
    }
    enter(
        ctx,
        claimed,
        BuildPhase::RollingOut,
        &format!("rolling out {image_ref}"),
    )
    .await?;
    rep.report(StatusState::Pending, "rolling out").await;
    let started = Instant::now();
    let r = rollout::roll(ctx, claimed, build, binding, &image_ref).await;
    ctx.metrics
        .stage("rollout", started.elapsed().as_secs_f64());
    r.map(|()| Deployed { image: image_ref })
}
