//! A Kubernetes Event on a Build for each change of its phase, so `kubectl describe build` and
//! `kubectl get events` tell its story: reason = the new phase, a short message (the status
//! message, which never holds a secret, cut to one line), `Warning` for a failure. Written by
//! `claim::Claimed` after each status write that changed the phase, under the one reporting
//! component the webhook uses for all its Events (`mosaic-webhook`), with this replica's
//! identity as the instance. Best effort: an Event that cannot be written is logged.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt};
use mosaic_core::names;
use mosaic_core::resources::{Build, BuildPhase};

/// Longest message an Event carries.
const MESSAGE_CHARS: usize = 200;

/// The Event saying `build` entered its current phase (pure), reported by `instance`.
pub fn phase_event(build: &Build, instance: &str) -> Event {
    let status = build.status.clone().unwrap_or_default();
    let phase = status.phase;
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let name = build.name_any();
    let now = crate::cluster::claim::now_time();
    let said = status.message.as_deref().unwrap_or_default();
    let said = said.lines().next().unwrap_or_default();
    let mut message = match status.reason.as_deref() {
        Some(reason) if phase.is_terminal() => format!("{} ({reason}): {said}", phase.as_str()),
        _ => format!("{}: {said}", phase.as_str()),
    };
    if message.chars().count() > MESSAGE_CHARS {
        message = message.chars().take(MESSAGE_CHARS - 1).collect::<String>() + "…";
    }
    Event {
        metadata: ObjectMeta {
            // One Event per Build and phase: writing it again is a harmless conflict. `phase-`
            // keeps it apart from the Binding's "why not deployed" Event of the same Build
            // (`worker::binding_events`, named `{build}.{reason}`: a Superseded reason too).
            name: Some(format!(
                "{name}.phase-{}",
                phase.as_str().to_ascii_lowercase()
            )),
            namespace: Some(ns.clone()),
            labels: Some([(names::LABEL_COMMIT.to_string(), build.spec.commit.clone())].into()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some(Build::api_version(&()).into_owned()),
            kind: Some(Build::kind(&()).into_owned()),
            name: Some(name),
            namespace: Some(ns),
            uid: build.metadata.uid.clone(),
            resource_version: build.metadata.resource_version.clone(),
            ..Default::default()
        },
        reason: Some(phase.as_str().to_string()),
        message: Some(message),
        type_: Some(
            if phase == BuildPhase::Failed {
                "Warning"
            } else {
                "Normal"
            }
            .into(),
        ),
        source: Some(EventSource {
            component: Some(names::WEBHOOK_NAME.to_string()),
            host: None,
        }),
        reporting_component: Some(names::WEBHOOK_NAME.to_string()),
        reporting_instance: Some(instance.to_string()),
        action: Some("Phase".into()),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        ..Default::default()
    }
}

/// Write the Event for `build`'s current phase. Errors are logged.
pub async fn phase_changed(client: kube::Client, build: &Build, instance: &str) {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let ev = phase_event(build, instance);
    match Api::<Event>::namespaced(client, &ns)
        .create(&PostParams::default(), &ev)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => tracing::warn!(
            build = %build.name_any(), namespace = %ns, reason = ev.reason.as_deref().unwrap_or_default(),
            error = %mosaic_core::permission::kube_error(&e),
            "cannot write the Event of the Build's phase"
        ),
    }
}

#[cfg(test)]
mod tests;
