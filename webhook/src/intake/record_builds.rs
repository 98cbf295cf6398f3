//! Recording one push's Builds through the Kubernetes API: each under its deterministic name,
//! or found already recorded (a redelivery records nothing), with the fallback names of a
//! commit-prefix collision and of a reset back to a commit; all concurrently, in a task of
//! their own, so the request deadline never leaves a push half recorded.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use mosaic_core::resources::Build;
use serde_json::json;

use crate::intake::answer::reply;
use crate::intake::decide::{collision_name, repush_name};
use crate::intake::state::AppState;
use crate::metrics::RequestResult;

/// Create `b`, or find it already recorded. A name taken by another commit (the names carry a
/// 12-digit commit prefix) falls back to a longer, equally deterministic name; one taken by an
/// earlier push of the same commit from another place (a reset back to it: the push's `before`
/// differs) falls back to `decide::repush_name`, so the reset deploys it again while a
/// redelivery still records nothing.
async fn create_build(api: &Api<Build>, mut b: Build) -> Result<(String, bool), kube::Error> {
    let mut names = vec![b.name_any(), collision_name(&b)];
    let mut i = 0;
    while let Some(name) = names.get(i).cloned() {
        i += 1;
        b.metadata.name = Some(name.clone());
        match api.create(&PostParams::default(), &b).await {
            Ok(_) => return Ok((name, true)),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let found = api.get(&name).await?;
                if found.spec.commit != b.spec.commit {
                    tracing::warn!(build = %name, commit = %b.spec.commit, "Build name taken by another commit");
                    continue;
                }
                let repush = found.spec.trigger.kind == b.spec.trigger.kind
                    && found.spec.trigger.before != b.spec.trigger.before;
                match repush_name(&b).filter(|_| repush) {
                    Some(again) if !names.contains(&again) && names.len() < 4 => {
                        names.insert(i, again)
                    }
                    _ => return Ok((name, false)),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(kube::Error::Api(
        kube::core::Status::failure(
            "both Build names are taken by other commits",
            "AlreadyExists",
        )
        .with_code(409)
        .boxed(),
    ))
}

/// Record every Build of one push, concurrently, in a task of its own: the request deadline
/// can end the answer, never the recording half-way (a push is never left half recorded).
pub(crate) async fn create_builds_detached(
    st: Arc<AppState>,
    delivery: Option<String>,
    builds: Vec<Build>,
) -> Response {
    let task = tokio::spawn(create_builds(st.clone(), delivery, builds));
    match task.await {
        Ok(r) => r,
        Err(e) => {
            st.metrics.request(RequestResult::Error);
            tracing::error!(error = %e, "recording task failed");
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "recording the Builds failed inside the webhook; redeliver"}),
            )
        }
    }
}

async fn create_builds(
    st: Arc<AppState>,
    delivery: Option<String>,
    builds: Vec<Build>,
) -> Response {
    let delivery = delivery.as_deref();
    let outcomes = futures::future::join_all(builds.into_iter().map(|b| {
        let ns = b.metadata.namespace.clone().unwrap_or_default();
        let commit = b.spec.commit.clone();
        let api = Api::<Build>::namespaced(st.client.clone(), &ns);
        async move { (ns, commit, create_build(&api, b).await) }
    }))
    .await;
    let (mut created, mut existing, mut failed) = (Vec::new(), Vec::new(), None);
    for (ns, commit, outcome) in outcomes {
        match outcome {
            Ok((name, true)) => {
                tracing::info!(delivery, build = %format!("{ns}/{name}"), %commit, "build recorded");
                created.push(format!("{ns}/{name}"));
            }
            Ok((name, false)) => existing.push(format!("{ns}/{name}")),
            Err(e) => {
                tracing::error!(delivery, namespace = %ns, %commit, error = %e, "recording build failed");
                failed.get_or_insert(format!("could not record the Build of {commit} in {ns}: {e}; redeliver the webhook once the cluster API is reachable"));
            }
        }
    }
    if let Some(error) = failed {
        st.metrics.request(RequestResult::Error);
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": error, "created": created, "existing": existing}),
        );
    }
    let status = if created.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    st.metrics.request(if created.is_empty() {
        RequestResult::Duplicate
    } else {
        RequestResult::Created
    });
    reply(
        status,
        json!({"result": "recorded", "created": created, "existing": existing}),
    )
}
