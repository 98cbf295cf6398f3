//! Rolling a Deployment to a digest: server-side apply of only the container image and the
//! commit annotation (field manager `mosaic-webhook`, forced), then watching until the rollout
//! completes, the controller gives up, the explain engine finds the new pods failing, or time
//! runs out (an API server that is briefly away is waited for); on failure, optionally applying
//! the previous image back.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use mosaic_core::explain::{self, Finding, Severity};
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};

use crate::claim::Claimed;
use crate::pipeline::{Ctx, Stop};
use crate::plan::{self, Rollout};
use crate::transient::{API_RETRY_BUDGET, is_transient, retry};

const POLL: Duration = Duration::from_millis(250);

fn failed(reason: &'static str, message: String, findings: Vec<Finding>) -> Stop {
    Stop::Failed {
        reason,
        message,
        findings,
        rolled_back: false,
    }
}

async fn apply(
    api: &Api<Deployment>,
    dep: &str,
    container: &str,
    image: &str,
    commit: Option<&str>,
    build: &str,
) -> Result<(), kube::Error> {
    let mut patch = plan::rollout_patch(dep, container, image, commit.unwrap_or_default(), build);
    if commit.is_none() {
        patch["spec"]["template"]["metadata"]["annotations"]
            .as_object_mut()
            .map(|a| a.remove(names::ANNOTATION_COMMIT));
    }
    api.patch(
        dep,
        &PatchParams::apply(names::FIELD_MANAGER_WEBHOOK).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|_| ())
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

/// Roll `binding`'s Deployment to `image` and wait for the outcome.
pub async fn roll(
    ctx: &Ctx,
    claimed: &Claimed,
    build: &Build,
    binding: &Binding,
    image: &str,
) -> Result<(), Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let bname = build.metadata.name.clone().unwrap_or_default();
    let dep_name = &binding.spec.deployment;
    let api = Api::<Deployment>::namespaced(ctx.client.clone(), &ns);
    let dep = retry("reading the Deployment", API_RETRY_BUDGET, || {
        api.get(dep_name)
    })
    .await
    .map_err(|e| {
        failed(
            "DeploymentNotFound",
            format!("Deployment {ns}/{dep_name}: {e}"),
            vec![],
        )
    })?;
    let container = plan::pick_container(&binding.spec, &dep)
        .map_err(|e| failed("InvalidBinding", e.to_string(), vec![]))?;
    // On a retry after a crash the Deployment may already run this image: keep the first previous image.
    let recorded = claimed.build().await.status.and_then(|s| s.previous_image);
    let previous =
        recorded.or_else(|| plan::container_image(&dep, &container).filter(|i| i != image));
    let prev = previous.clone();
    claimed
        .update(move |s| s.previous_image = prev.clone())
        .await?;
    let commit = build.spec.commit.as_str();
    retry("applying the rollout", API_RETRY_BUDGET, || {
        apply(&api, dep_name, &container, image, Some(commit), &bname)
    })
    .await
    .map_err(|e| {
        failed(
            "RolloutApplyFailed",
            format!("applying image to Deployment {ns}/{dep_name}: {e}"),
            vec![],
        )
    })?;
    tracing::info!(build = %bname, deployment = %dep_name, image, "rollout applied");

    let deadline = Instant::now() + ctx.rollout_timeout;
    let mut unreachable = false;
    let outcome = loop {
        let dep = match api.get(dep_name).await {
            Ok(d) => d,
            // An API server restarting is waited for, up to the rollout deadline (one warning).
            Err(e) if is_transient(&e) && Instant::now() < deadline => {
                if !std::mem::replace(&mut unreachable, true) {
                    tracing::warn!(build = %bname, error = %e, "cannot read the Deployment; waiting for the API server");
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
            Err(e) => {
                return Err(failed(
                    "ClusterUnreachable",
                    format!("reading Deployment: {e}"),
                    vec![],
                ));
            }
        };
        if std::mem::replace(&mut unreachable, false) {
            tracing::info!(build = %bname, "the API server answers again; watching the rollout");
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
        tokio::time::sleep(POLL).await;
    };
    let (reason, message, findings) = outcome;
    let mut rolled_back = false;
    if binding.spec.rollback_on_failure
        && let Some(prev) = &previous
    {
        let last_commit = binding
            .status
            .as_ref()
            .and_then(|s| s.last_commit.as_deref());
        let undo = retry("rolling back", API_RETRY_BUDGET, || {
            apply(&api, dep_name, &container, prev, last_commit, &bname)
        });
        match undo.await {
            Ok(()) => {
                rolled_back = true;
                tracing::warn!(build = %bname, deployment = %dep_name, image = %prev, "rolled back");
            }
            Err(e) => tracing::error!(build = %bname, error = %e, "rollback failed"),
        }
    }
    Err(Stop::Failed {
        reason,
        message,
        findings,
        rolled_back,
    })
}
