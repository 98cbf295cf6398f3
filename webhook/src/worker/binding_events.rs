//! "Why didn't my push deploy?": a Kubernetes Event on the Binding for every Build that ended
//! without deploying because of a decision, not a failure (behind the branch head, not on the
//! branch, already deployed, paused), so `kubectl describe binding` and `kubectl mosaic status`
//! show it. Best effort: an Event that cannot be written is logged, never fatal.

use k8s_openapi::api::core::v1::Event;
use kube::ResourceExt;
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};

use crate::cluster::events;

/// The Event saying why `build` did not deploy (pure; `uid` is the Binding's, when known).
pub fn event(build: &Build, uid: Option<String>, reason: &str, message: &str) -> Event {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let name = build.name_any();
    let message = format!(
        "{} ({name}, commit {}): {message}",
        match reason {
            "Paused" => "not built",
            _ => "not deployed",
        },
        crate::pipeline::plan::short_sha(&build.spec.commit)
    );
    let labels = [
        (names::LABEL_COMMIT.to_string(), build.spec.commit.clone()),
        (names::LABEL_BINDING.to_string(), build.spec.binding.clone()),
    ]
    .into();
    events::event(
        events::about::<Binding>(&build.spec.binding, &ns, uid),
        // One Event per Build and reason: writing it twice is a harmless conflict.
        format!("{name}.{}", reason.to_ascii_lowercase()),
        labels,
        (reason, message),
        false,
        crate::cluster::claim::now_time(),
    )
}

/// Write the Event on `build`'s Binding. Errors are logged.
pub async fn note(client: &kube::Client, build: &Build, reason: &str, message: &str) {
    let uid = build
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "Binding")
        .map(|o| o.uid.clone());
    let ev = event(build, uid, reason, message);
    if let Err(e) = events::create(client.clone(), &ev).await {
        tracing::warn!(
            binding = %build.spec.binding, namespace = %build.namespace().unwrap_or_default(), reason,
            error = %mosaic_core::permission::kube_error(&e),
            "cannot write the Event saying why a Build did not deploy"
        );
    }
}

#[cfg(test)]
mod tests;
