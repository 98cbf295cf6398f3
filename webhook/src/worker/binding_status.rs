//! A finished run on its Binding's status: `lastBuild`, for a deployment `lastCommit` and
//! `lastImage`, and the Ready condition. Written before the Build's terminal phase (see
//! `worker::finish`); failing to write it is logged, never fatal to the Build.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, Patch, PatchParams};
use mosaic_core::resources::{Binding, Build, BuildPhase};

use crate::worker::Outcome;

fn ready_condition(ok: bool, reason: &str, message: &str, generation: Option<i64>) -> Condition {
    Condition {
        type_: "Ready".into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.chars().take(1000).collect(),
        last_transition_time: crate::cluster::claim::now_time(),
        observed_generation: generation,
    }
}

/// The status patch for `build`'s Binding after `outcome` (pure).
pub fn patch(build: &Build, outcome: &Outcome, generation: Option<i64>) -> serde_json::Value {
    let name = build.metadata.name.clone().unwrap_or_default();
    let mut status = serde_json::json!({ "lastBuild": name });
    if outcome.phase == BuildPhase::Succeeded {
        status["lastCommit"] = build.spec.commit.clone().into();
        status["lastImage"] = build.status.as_ref().and_then(|s| s.image.clone()).into();
        status["conditions"] = serde_json::json!([ready_condition(
            true,
            "Deployed",
            &outcome.message,
            generation
        )]);
    } else {
        let why = if outcome.rolled_back {
            format!("{}; rolled back", outcome.message)
        } else {
            outcome.message.clone()
        };
        status["conditions"] =
            serde_json::json!([ready_condition(false, &outcome.reason, &why, generation)]);
    }
    serde_json::json!({ "status": status })
}

/// Patch the Binding's status after `outcome`. Errors are logged.
pub async fn record(client: &kube::Client, build: &Build, outcome: &Outcome) {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let bapi = Api::<Binding>::namespaced(client.clone(), &ns);
    let generation = bapi
        .get(&build.spec.binding)
        .await
        .ok()
        .and_then(|b| b.metadata.generation);
    let body = patch(build, outcome, generation);
    if let Err(e) = bapi
        .patch_status(
            &build.spec.binding,
            &PatchParams::default(),
            &Patch::Merge(&body),
        )
        .await
    {
        tracing::warn!(binding = %build.spec.binding, error = %e, "updating Binding status failed");
    }
}
