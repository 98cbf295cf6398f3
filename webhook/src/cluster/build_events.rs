//! A Kubernetes Event on a Build for each change of its phase, so `kubectl describe build` and
//! `kubectl get events` tell its story: reason = the new phase, a short message (the status
//! message, which never holds a secret, cut to one line), `Warning` for a failure. Written by
//! `claim::Claimed` after each status write that changed the phase, under the one reporting
//! component the webhook uses for all its Events (`mosaic-webhook`), with this replica's
//! identity as the instance. Best effort: an Event that cannot be written is logged.

use k8s_openapi::api::core::v1::Event;
use kube::ResourceExt;
use mosaic_core::names;
use mosaic_core::resources::{Build, BuildPhase};

use crate::cluster::events;

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
    // One Event per Build and phase: writing it again is a harmless conflict. `phase-` keeps
    // it apart from the Binding's "why not deployed" Event of the same Build
    // (`worker::binding_events`, named `{build}.{reason}`: a Superseded reason too).
    let event_name = format!("{name}.phase-{}", phase.as_str().to_ascii_lowercase());
    let mut about = events::about::<Build>(&name, &ns, build.metadata.uid.clone());
    about.resource_version = build.metadata.resource_version.clone();
    let labels = [(names::LABEL_COMMIT.to_string(), build.spec.commit.clone())].into();
    let failed = phase == BuildPhase::Failed;
    Event {
        reporting_instance: Some(instance.to_string()),
        action: Some("Phase".into()),
        ..events::event(
            about,
            event_name,
            labels,
            (phase.as_str(), message),
            failed,
            now,
        )
    }
}

/// Write the Event for `build`'s current phase. Errors are logged.
pub async fn phase_changed(client: kube::Client, build: &Build, instance: &str) {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let ev = phase_event(build, instance);
    if let Err(e) = events::create(client, &ev).await {
        tracing::warn!(
            build = %build.name_any(), namespace = %ns, reason = ev.reason.as_deref().unwrap_or_default(),
            error = %mosaic_core::permission::kube_error(&e),
            "cannot write the Event of the Build's phase"
        );
    }
}

#[cfg(test)]
mod tests;
