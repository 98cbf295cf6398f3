//! The phase Event of a Build, from a Build shaped as the API server returns it.

use super::*;

fn build(phase: &str, reason: Option<&str>, message: &str) -> Build {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": "web-0123456", "namespace": "team",
            "uid": "0b6c5b4e-8d7a-4c1e-9f55-3d1f0a6f2c11", "resourceVersion": "4711",
            "creationTimestamp": "2026-12-07T01:00:00Z", "generation": 1},
        "spec": {"binding": "web", "commit": "0123456789abcdef0123456789abcdef01234567",
            "ref": "refs/heads/main", "trigger": {"type": "push", "delivery": "d-1", "pusher": "octocat"}},
        "status": {"phase": phase, "reason": reason, "message": message,
            "claimedBy": "mosaic-webhook-7d9f-abcde"}
    }))
    .expect("a Build as the API server writes it")
}

#[test]
fn a_phase_event_names_the_build_the_phase_and_a_short_message() {
    let ev = phase_event(
        &build("Pushing", None, "pushing 127.0.0.1:5000/team/web:0123456"),
        "pod-1",
    );
    assert_eq!(ev.reason.as_deref(), Some("Pushing"));
    assert_eq!(ev.type_.as_deref(), Some("Normal"));
    assert_eq!(
        ev.message.as_deref(),
        Some("Pushing: pushing 127.0.0.1:5000/team/web:0123456")
    );
    assert_eq!(
        ev.metadata.name.as_deref(),
        Some("web-0123456.phase-pushing")
    );
    let o = &ev.involved_object;
    assert_eq!(
        (o.kind.as_deref(), o.name.as_deref(), o.namespace.as_deref()),
        (Some("Build"), Some("web-0123456"), Some("team"))
    );
    assert_eq!(
        o.uid.as_deref(),
        Some("0b6c5b4e-8d7a-4c1e-9f55-3d1f0a6f2c11")
    );
    assert_eq!(ev.reporting_component.as_deref(), Some("mosaic-webhook"));
    assert_eq!(ev.reporting_instance.as_deref(), Some("pod-1"));
}

#[test]
fn a_failure_is_a_warning_with_its_reason_cut_to_one_short_line() {
    let long = format!(
        "docker build failed: {}\nStep 2/2 : RUN false",
        "x".repeat(500)
    );
    let ev = phase_event(&build("Failed", Some("BuildFailed"), &long), "pod-1");
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    let m = ev.message.unwrap();
    assert!(
        m.starts_with("Failed (BuildFailed): docker build failed: xxx"),
        "{m}"
    );
    assert_eq!(m.chars().count(), MESSAGE_CHARS);
    assert!(!m.contains('\n') && m.ends_with('…'), "{m}");
}
