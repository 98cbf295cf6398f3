//! What `status` knows about one Binding, as data (`-o json|yaml`): the Binding, its rollout
//! in words, its newest Builds and Events, and whether its registry is reached over plain HTTP.
//! Pure: `run` (in `status`) reads the cluster.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Event;
use kube::ResourceExt;
use mosaic_core::verdict::Rollout;
use mosaic_core::{Binding, Build};

/// How many builds `status` shows per binding.
pub const RECENT_BUILDS: usize = 5;

/// How many "why didn't my push deploy?" Events `status` shows per binding.
pub const RECENT_EVENTS: usize = 5;

/// The machine-readable status of one binding.
#[derive(serde::Serialize)]
pub struct StatusReport<'a> {
    pub binding: &'a Binding,
    pub rollout: String,
    pub builds: Vec<&'a Build>,
    /// The newest Events on the Binding (why pushes did not deploy), newest first.
    pub events: Vec<&'a Event>,
    /// The image's registry, when it is reached over plain HTTP.
    #[serde(rename = "plainHttpRegistry", skip_serializing_if = "Option::is_none")]
    pub plain_http_registry: Option<String>,
}

/// The image's registry host when the webhook reaches it over plain HTTP: a loopback address
/// or one of `plain` (the install's `--insecure-registry` list).
pub fn plain_http_registry(binding: &Binding, plain: &[String]) -> Option<String> {
    let r = mosaic_core::reference::ImageRef::parse(&binding.spec.image).ok()?;
    let host = r.registry_host();
    mosaic_core::registry_auth::plain_http(host, plain).then(|| host.to_string())
}

/// The report for one binding (pure): rollout in words and the newest builds first.
pub fn report<'a>(
    binding: &'a Binding,
    deployment: Option<&Deployment>,
    builds: &'a [Build],
    events: &'a [Event],
    plain: &[String],
) -> StatusReport<'a> {
    let mut mine: Vec<&Build> = builds
        .iter()
        .filter(|b| b.spec.binding == binding.name_any())
        .collect();
    mine.sort_by_key(|b| {
        std::cmp::Reverse(
            b.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.as_second()),
        )
    });
    mine.truncate(RECENT_BUILDS);
    StatusReport {
        binding,
        rollout: deployment
            .map(rollout_words)
            .unwrap_or_else(|| format!("deployment/{} not found", binding.spec.deployment)),
        builds: mine,
        events: recent_events(binding, events),
        plain_http_registry: plain_http_registry(binding, plain),
    }
}

/// The newest Events about `binding` (its kind and name), newest first.
pub fn recent_events<'a>(binding: &Binding, events: &'a [Event]) -> Vec<&'a Event> {
    let name = binding.name_any();
    let mut mine: Vec<&Event> = events
        .iter()
        .filter(|e| e.involved_object.kind.as_deref() == Some("Binding"))
        .filter(|e| e.involved_object.name.as_deref() == Some(name.as_str()))
        .collect();
    mine.sort_by_key(|e| std::cmp::Reverse(event_time(e)));
    mine.truncate(RECENT_EVENTS);
    mine
}

/// When an Event last happened (Unix seconds), as the API server has it.
pub fn event_time(e: &Event) -> Option<i64> {
    e.last_timestamp
        .as_ref()
        .or(e.first_timestamp.as_ref())
        .map(|t| t.0.as_second())
        .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()))
        .or_else(|| {
            e.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.as_second())
        })
}

/// A Deployment's rollout state in words, following `kubectl rollout status`. Whether it
/// failed or completed is decided once, in core, as the webhook decides it; this only words it.
pub fn rollout_words(d: &Deployment) -> String {
    match mosaic_core::verdict::rollout_state(d) {
        Rollout::Failed { reason, message } => {
            let what = match reason.as_str() {
                "ProgressDeadlineExceeded" => "progress deadline exceeded",
                other => other,
            };
            let message = if message.is_empty() {
                "no message"
            } else {
                message.as_str()
            };
            format!("failed: {what} ({message})")
        }
        Rollout::Complete => {
            let n = d.spec.replicas.unwrap_or(1);
            format!("complete: {n} of {n} replicas up to date and available")
        }
        Rollout::Waiting(what) => waiting_words(d).unwrap_or(format!("rolling out: {what}")),
    }
}

/// What a rollout that is still going waits for, in `kubectl rollout status`'s order.
fn waiting_words(d: &Deployment) -> Option<String> {
    let Some(st) = d.status.as_ref() else {
        return Some("waiting for the Deployment controller to report status".into());
    };
    if st.observed_generation.unwrap_or(0) < d.metadata.generation.unwrap_or(0) {
        return Some("waiting for the Deployment controller to observe the new spec".into());
    }
    let spec_replicas = d.spec.replicas.unwrap_or(1);
    let updated = st.updated_replicas.unwrap_or(0);
    let replicas = st.replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    if updated < spec_replicas {
        Some(format!(
            "rolling out: {updated} of {spec_replicas} new replicas updated"
        ))
    } else if replicas > updated {
        Some(format!(
            "rolling out: {} old replicas pending termination",
            replicas - updated
        ))
    } else if available < updated {
        Some(format!(
            "rolling out: {available} of {updated} updated replicas available"
        ))
    } else {
        None
    }
}

/// Seconds a Build took (or has taken so far).
pub fn build_seconds(b: &Build, now: i64) -> Option<i64> {
    let st = b.status.as_ref();
    let times = st.map(|s| &s.phase_times);
    let start = times
        .and_then(|t| t.pending.as_ref())
        .or(b.metadata.creation_timestamp.as_ref())
        .map(|t| t.0.as_second())?;
    let end = times
        .and_then(|t| t.finished.as_ref())
        .map(|t| t.0.as_second());
    match end {
        Some(e) => Some(e - start),
        None if st.is_some_and(|s| s.phase.is_terminal()) => None,
        None => Some(now - start),
    }
}
