//! "Why didn't my push deploy?": a Kubernetes Event on the Binding for every Build that ended
//! without deploying because of a decision, not a failure (behind the branch head, not on the
//! branch, already deployed, paused), so `kubectl describe binding` and `kubectl mosaic status`
//! show it. Best effort: an Event that cannot be written is logged, never fatal.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};

/// The Event saying why `build` did not deploy (pure; `uid` is the Binding's, when known).
pub fn event(build: &Build, uid: Option<String>, reason: &str, message: &str) -> Event {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let name = build.name_any();
    let now = crate::cluster::claim::now_time();
    Event {
        metadata: ObjectMeta {
            // One Event per Build and reason: writing it twice is a harmless conflict.
            name: Some(format!("{name}.{}", reason.to_ascii_lowercase())),
            namespace: Some(ns.clone()),
            labels: Some(
                [
                    (names::LABEL_COMMIT.to_string(), build.spec.commit.clone()),
                    (names::LABEL_BINDING.to_string(), build.spec.binding.clone()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some(Binding::api_version(&()).into_owned()),
            kind: Some(Binding::kind(&()).into_owned()),
            name: Some(build.spec.binding.clone()),
            namespace: Some(ns),
            uid,
            ..Default::default()
        },
        reason: Some(reason.to_string()),
        message: Some(format!(
            "{} ({name}, commit {}): {message}",
            match reason {
                "Paused" => "not built",
                _ => "not deployed",
            },
            crate::pipeline::plan::short_sha(&build.spec.commit)
        )),
        type_: Some("Normal".into()),
        source: Some(EventSource {
            component: Some(names::WEBHOOK_NAME.to_string()),
            host: None,
        }),
        reporting_component: Some(names::WEBHOOK_NAME.to_string()),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        ..Default::default()
    }
}

/// Write the Event on `build`'s Binding. Errors are logged.
pub async fn note(client: &kube::Client, build: &Build, reason: &str, message: &str) {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let uid = build
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "Binding")
        .map(|o| o.uid.clone());
    let ev = event(build, uid, reason, message);
    match Api::<Event>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &ev)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => tracing::warn!(
            binding = %build.spec.binding, namespace = %ns, reason,
            error = %mosaic_core::permission::kube_error(&e),
            "cannot write the Event saying why a Build did not deploy"
        ),
    }
}

#[cfg(test)]
mod tests;
