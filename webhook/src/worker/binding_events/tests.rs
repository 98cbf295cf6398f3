//! The Binding's "why not deployed" Event, from a Build shaped as the API server returns it.

use super::*;

fn superseded() -> Build {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": "web-0123456", "namespace": "team",
            "uid": "0b6c5b4e-8d7a-4c1e-9f55-3d1f0a6f2c11", "resourceVersion": "4711",
            "creationTimestamp": "2026-12-07T01:00:00Z", "generation": 1},
        "spec": {"binding": "web", "commit": "0123456789abcdef0123456789abcdef01234567",
            "ref": "refs/heads/main", "trigger": {"type": "push", "delivery": "d-1"}},
        "status": {"phase": "Superseded", "reason": "Superseded",
            "message": "89abcdef0123 is newer", "claimedBy": "mosaic-webhook-7d9f-abcde"}
    }))
    .expect("a Build as the API server writes it")
}

#[test]
fn the_why_event_is_on_the_binding_and_named_apart_from_the_builds_phase_event() {
    // Both are written for one superseded Build: a shared name made the second a swallowed
    // 409, and "why didn't my push deploy" said nothing.
    let b = superseded();
    let why = event(&b, None, "Superseded", "89abcdef0123 is newer");
    let phase = crate::cluster::build_events::phase_event(&b, "pod-1");
    assert_ne!(why.metadata.name, phase.metadata.name);
    assert_eq!(why.metadata.name.as_deref(), Some("web-0123456.superseded"));
    assert_eq!(why.involved_object.kind.as_deref(), Some("Binding"));
    assert_eq!(why.involved_object.name.as_deref(), Some("web"));
}
