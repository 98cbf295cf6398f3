//! Rolling a Deployment to a digest: server-side apply of only the container image and the
//! commit annotation (field manager `mosaic-webhook`, forced, conditional on the resourceVersion
//! read before the latest-wins check: see `plan::deployment_taken_by`), then watching until the
//! rollout completes, the controller gives up, the explain engine finds the new pods failing, a
//! newer Build takes the Deployment over, or time runs out (an API server that is briefly away
//! is waited for); on failure, optionally applying the
//! previous image back under the same guard.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use mosaic_core::explain::{self, Finding, Severity};
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};

use crate::claim::Claimed;
use crate::pipeline::{Ctx, Stop, fail, list_siblings, siblings};
use crate::plan::{self, Rollout};
use crate::transient::{API_RETRY_BUDGET, is_transient, retry};

/// How often the outcome is re-read without a change to the Deployment (new pods failing show
/// up here; the Deployment's own changes wake the loop at once through a watch).
const POLL: Duration = Duration::from_millis(250);
/// Conditional applies tried before giving up on a Deployment that keeps changing.
const APPLY_ATTEMPTS: usize = 8;

/// Changes to the rolled Deployment; `None` once the watch failed, leaving only the poll.
type Changes = Option<BoxStream<'static, Result<Deployment, watcher::Error>>>;

fn watch_changes(api: &Api<Deployment>, name: &str) -> Changes {
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    Some(watcher(api.clone(), cfg).applied_objects().boxed())
}

/// Wait until the Deployment changes or `POLL` passes, whichever is first.
async fn changed_or_poll(changes: &mut Changes) {
    let Some(stream) = changes.as_mut() else {
        return tokio::time::sleep(POLL).await;
    };
    let broken = tokio::select! {
        ev = stream.next() => match ev {
            Some(Ok(_)) => false,
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
    }
}

/// Server-side apply `image` (and `commit`, or no commit annotation) to one container of `dep`.
/// With `resource_version`, the API server refuses (409) if the Deployment changed since.
pub async fn apply_image(
    api: &Api<Deployment>,
    dep: &str,
    container: &str,
    image: &str,
    commit: Option<&str>,
    build: &str,
    resource_version: Option<&str>,
) -> Result<(), kube::Error> {
    let mut patch = plan::rollout_patch(dep, container, image, commit.unwrap_or_default(), build);
    if commit.is_none() {
        patch["spec"]["template"]["metadata"]["annotations"]
            .as_object_mut()
            .map(|a| a.remove(names::ANNOTATION_COMMIT));
    }
    if let Some(rv) = resource_version {
        patch["metadata"]["resourceVersion"] = rv.into();
    }
    api.patch(
        dep,
        &PatchParams::apply(names::FIELD_MANAGER_WEBHOOK).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|_| ())
}

/// How a guarded apply ended.
enum Guarded {
    Applied,
    /// This newer Build stands in the way.
    Blocked(Box<Build>),
}

/// Which newer sibling forbids an apply.
type Blocker = for<'a> fn(&Build, &'a [Build]) -> Option<&'a Build>;

/// Apply `image` unless `blocker` finds a newer Build in the way. The order matters (see
/// `plan::deployment_taken_by`): read the Deployment, then list the Builds, then apply
/// conditionally on the resourceVersion read first; on a conflict start again.
#[allow(clippy::too_many_arguments)]
async fn guarded_apply(
    ctx: &Ctx,
    claimed: &Claimed,
    api: &Api<Deployment>,
    dep_name: &str,
    container: &str,
    image: &str,
    commit: Option<&str>,
    blocker: Blocker,
) -> Result<Guarded, Stop> {
    let me = claimed.build().await;
    let bname = me.metadata.name.clone().unwrap_or_default();
    for _ in 0..APPLY_ATTEMPTS {
        let dep = api.get(dep_name).await.map_err(|e| {
            fail(
                "ClusterUnreachable",
                format!("reading Deployment {dep_name}: {e}"),
            )
        })?;
        let all = siblings(&ctx.client, &me).await?;
        if let Some(newer) = blocker(&me, &all) {
            return Ok(Guarded::Blocked(Box::new(newer.clone())));
        }
        let rv = dep.metadata.resource_version.as_deref();
        match apply_image(api, dep_name, container, image, commit, &bname, rv).await {
            Ok(()) => return Ok(Guarded::Applied),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tracing::debug!(build = %bname, deployment = dep_name, "Deployment changed; checking again");
            }
            Err(e) => {
                return Err(fail(
                    "RolloutApplyFailed",
                    format!("applying image to Deployment {dep_name}: {e}"),
                ));
            }
        }
    }
    Err(fail(
        "RolloutApplyFailed",
        format!(
            "Deployment {dep_name} changed during each of {APPLY_ATTEMPTS} attempts to apply the image"
        ),
    ))
}

/// Findings about the new pods (those carrying this commit), their ReplicaSet and Deployment.
async fn diagnose(client: &kube::Client, ns: &str, dep: &Deployment, commit: &str) -> Vec<Finding> {
    let mut objects = vec![serde_json::to_value(dep).unwrap_or_default()];
    let uid = dep.metadata.uid.clone().unwrap_or_default();
    if let Ok(rs) = Api::<ReplicaSet>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
    {
        objects.extend(
            rs.items
                .iter()
                .filter(|r| {
                    r.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| o.uid == uid)
                })
                .filter_map(|r| serde_json::to_value(r).ok()),
        );
    }
    if let Ok(pods) = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
    {
        objects.extend(
            pods.items
                .iter()
                .filter(|p| {
                    p.metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(names::ANNOTATION_COMMIT))
                        .map(String::as_str)
                        == Some(commit)
                })
                .filter_map(|p| serde_json::to_value(p).ok()),
        );
    }
    if let Ok(events) = Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
    {
        objects.extend(
            events
                .items
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok()),
        );
    }
    explain::explain(objects, &explain::Options::default()).findings
}

/// Do these findings say the new pods are failing?
fn pods_failing(findings: &[Finding]) -> bool {
    findings
        .iter()
        .any(|f| f.severity == Severity::Error && f.object.kind == "Pod")
}

/// What `apply` changed.
pub struct Applied {
    container: String,
    previous: Option<String>,
    /// Set when the image was taken over from another field manager (`ownership`).
    pub took_over: Option<String>,
}

/// Roll `binding`'s Deployment to `image`, unless a newer Build is in the way. The caller has
/// already written phase RollingOut (the announcement the guard relies on).
pub async fn apply(
    ctx: &Ctx,
    claimed: &Claimed,
    build: &Build,
    binding: &Binding,
    image: &str,
) -> Result<Applied, Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let dep_name = &binding.spec.deployment;
    let api = Api::<Deployment>::namespaced(ctx.client.clone(), &ns);
    let dep = retry("reading the Deployment", API_RETRY_BUDGET, || {
        api.get(dep_name)
    })
    .await
    .map_err(|e| {
        fail(
            "DeploymentNotFound",
            format!("Deployment {ns}/{dep_name}: {e}"),
        )
    })?;
    let container =
        plan::pick_container(&binding.spec, &dep).map_err(|e| fail("InvalidBinding", e))?;
    // On a retry after a crash the Deployment may already run this image: keep the first previous image.
    let recorded = claimed.build().await.status.and_then(|s| s.previous_image);
    let previous =
        recorded.or_else(|| plan::container_image(&dep, &container).filter(|i| i != image));
    let prev = previous.clone();
    claimed
        .update(move |s| s.previous_image = prev.clone())
        .await?;
    let bname = build.metadata.name.as_deref().unwrap_or_default();
    let took_over =
        crate::ownership::settle(&api, binding, &container, image, &build.spec.commit, bname)
            .await?;
    let commit = Some(build.spec.commit.as_str());
    let latest: Blocker =
        |me, all| plan::newer_build(me, all).or_else(|| plan::deployment_taken_by(me, all));
    match guarded_apply(
        ctx, claimed, &api, dep_name, &container, image, commit, latest,
    )
    .await?
    {
        Guarded::Applied => {}
        Guarded::Blocked(newer) => return Err(Stop::superseded_by(&newer)),
    }
    tracing::info!(
        build = build.metadata.name.as_deref().unwrap_or_default(),
        deployment = %dep_name,
        image,
        "rollout applied"
    );
    Ok(Applied {
        container,
        previous,
        took_over,
    })
}

/// Wait for the rollout `apply` started; on failure roll back if the Binding asks for it.
pub async fn watch(
    ctx: &Ctx,
    claimed: &Claimed,
    build: &Build,
    binding: &Binding,
    applied: Applied,
) -> Result<(), Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let bname = build.metadata.name.clone().unwrap_or_default();
    let dep_name = &binding.spec.deployment;
    let api = Api::<Deployment>::namespaced(ctx.client.clone(), &ns);
    let commit = build.spec.commit.as_str();
    let deadline = Instant::now() + ctx.rollout_timeout;
    let mut changes = watch_changes(&api, dep_name);
    let mut unreachable = false;
    let outcome = loop {
        let me = claimed.build().await;
        let read = async {
            let dep = api.get(dep_name).await?;
            Ok::<_, kube::Error>((dep, list_siblings(&ctx.client, &me).await?))
        };
        let (dep, all) = match read.await {
            Ok(d) => d,
            // An API server restarting is waited for, up to the rollout deadline (one warning).
            Err(e) if is_transient(&e) && Instant::now() < deadline => {
                if !std::mem::replace(&mut unreachable, true) {
                    tracing::warn!(build = %bname, error = %e, "cannot read the Deployment or its Builds; waiting for the API server");
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
            Err(e) => {
                return Err(fail(
                    "ClusterUnreachable",
                    format!("reading the Deployment and its Builds: {e}"),
                ));
            }
        };
        if std::mem::replace(&mut unreachable, false) {
            tracing::info!(build = %bname, "the API server answers again; watching the rollout");
        }
        // A newer Build took the Deployment over: what happens now is its rollout, not ours.
        if let Some(newer) = plan::deployment_taken_by(&me, &all) {
            return Err(Stop::superseded_by(newer));
        }
        match plan::rollout_state(&dep) {
            Rollout::Complete => return Ok(()),
            Rollout::Failed { reason, message } => {
                let findings = diagnose(&ctx.client, &ns, &dep, commit).await;
                let text = findings
                    .first()
                    .map(|f| f.summary.clone())
                    .unwrap_or(format!("{reason}: {message}"));
                break ("RolloutFailed", text, findings);
            }
            Rollout::Waiting(what) => {
                let findings = diagnose(&ctx.client, &ns, &dep, commit).await;
                if pods_failing(&findings) {
                    let text = findings
                        .iter()
                        .find(|f| f.object.kind == "Pod")
                        .map(|f| f.summary.clone())
                        .unwrap_or_default();
                    break ("RolloutFailed", text, findings);
                }
                if Instant::now() >= deadline {
                    break (
                        "RolloutTimeout",
                        format!(
                            "rollout not complete after {:?}: {what}",
                            ctx.rollout_timeout
                        ),
                        findings,
                    );
                }
            }
        }
        changed_or_poll(&mut changes).await;
    };
    let (reason, mut message, findings) = outcome;
    let mut rolled_back = false;
    if binding.spec.rollback_on_failure
        && let Some(prev) = &applied.previous
    {
        let last_commit = binding
            .status
            .as_ref()
            .and_then(|s| s.last_commit.as_deref());
        let taken: Blocker = plan::deployment_taken_by;
        let c = &applied.container;
        match guarded_apply(ctx, claimed, &api, dep_name, c, prev, last_commit, taken).await {
            Ok(Guarded::Applied) => {
                rolled_back = true;
                tracing::warn!(build = %bname, deployment = %dep_name, image = %prev, "rolled back");
            }
            Ok(Guarded::Blocked(newer)) => {
                let newer = newer.metadata.name.unwrap_or_default();
                message = format!("{message}; not rolled back: {newer} is rolling out");
            }
            Err(e) => tracing::error!(build = %bname, error = ?e, "rollback failed"),
        }
    }
    Err(Stop::Failed {
        reason,
        message,
        findings,
        rolled_back,
    })
}
