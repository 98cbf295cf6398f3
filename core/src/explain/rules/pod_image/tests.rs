//! Unit tests of the rules in `pod_image.rs`, each with a near miss that must not fire.
use crate::testing::{cs, event, pod, run, slugs};
use serde_json::json;

fn pulling(name: &str, reason: &str, msg: &str) -> serde_json::Value {
    pod(
        name,
        json!({}),
        json!({"phase": "Pending", "containerStatuses": [
        cs("app", json!({"waiting": {"reason": reason, "message": msg}}), json!({}), 0, false)]}),
    )
}

#[test]
fn manifest_unknown_is_not_found_and_supersedes_backoff() {
    let p = pulling(
        "p",
        "ImagePullBackOff",
        "Back-off pulling image \"nginx:l4t3st\"",
    );
    let e = event(
        "p",
        "Failed",
        "Failed to pull image \"nginx:l4t3st\": rpc error: code = Unknown desc = Error response from daemon: manifest for nginx:l4t3st not found: manifest unknown: manifest unknown",
        3,
        "2024-05-01T10:01:00Z",
    );
    assert_eq!(slugs(vec![p, e]), ["pod.image-pull.not-found"]);
}

#[test]
fn degraded_backoff_is_honest() {
    let p = pulling(
        "p",
        "ImagePullBackOff",
        "Back-off pulling image \"nginx:l4t3st\"",
    );
    let e = event(
        "p",
        "Failed",
        "Error: ImagePullBackOff",
        9,
        "2024-05-01T10:01:00Z",
    );
    let f = run("pod.image-pull.backoff-unknown", vec![p.clone(), e]);
    assert_eq!(f.len(), 1);
    assert!(f[0].evidence.iter().any(|e| e.note.is_some()));
    assert!(run("pod.image-pull.not-found", vec![p]).is_empty());
}

#[test]
fn pull_access_denied_is_only_possible() {
    let p = pulling(
        "p",
        "ErrImagePull",
        "pull access denied for privat/app, repository does not exist or may require 'docker login'",
    );
    let f = run("pod.image-pull.unauthorized", vec![p]);
    assert!(f[0].possible);
    let q = pulling("q", "ErrImagePull", "failed to authorize: 401 Unauthorized");
    assert!(!run("pod.image-pull.unauthorized", vec![q])[0].possible);
}

#[test]
fn x509_is_unreachable() {
    let p = pulling(
        "p",
        "ErrImagePull",
        "Get \"https://noimage.com/v2/\": x509: certificate is not valid for any names",
    );
    assert_eq!(slugs(vec![p]), ["pod.image-pull.registry-unreachable"]);
}

#[test]
fn running_container_with_old_pull_event_is_fine() {
    let p = pod(
        "p",
        json!({}),
        json!({"phase": "Running", "containerStatuses": [
        cs("app", json!({"running": {"startedAt": "2024-05-01T10:02:00Z"}}), json!({}), 0, true)]}),
    );
    let e = event("p", "Failed", "manifest unknown", 1, "2024-05-01T10:01:00Z");
    assert!(slugs(vec![p, e]).is_empty());
}

#[test]
fn invalid_and_never() {
    assert_eq!(
        slugs(vec![pulling(
            "p",
            "InvalidImageName",
            "couldn't parse image reference"
        )]),
        ["pod.image-pull.invalid-name"]
    );
    assert_eq!(
        slugs(vec![pulling(
            "q",
            "ErrImageNeverPull",
            "is not present with pull policy of Never"
        )]),
        ["pod.image-pull.never-policy"]
    );
}

/// The kubelet's `Failed` event for a pull, as containerd writes it.
fn failed_pull(pod: &str, message: &str) -> serde_json::Value {
    event(pod, "Failed", message, 2, "2024-05-01T10:01:00Z")
}

#[test]
fn every_runtime_wording_of_a_missing_image_is_not_found() {
    let messages = [
        // containerd 2.x (real-cluster.md)
        "Failed to pull image \"registry.example:5000/shop/api:c3d4\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example:5000/shop/api:c3d4\": failed to resolve image: registry.example:5000/shop/api:c3d4: not found",
        // containerd 1.x
        "Failed to pull image \"docker.io/library/nginx:l4t3st\": rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:l4t3st\": failed to resolve reference \"docker.io/library/nginx:l4t3st\": docker.io/library/nginx:l4t3st: not found",
        // a registry's own wording
        "Failed to pull image \"quay.io/shop/api:9\": rpc error: code = Unknown desc = manifest unknown",
    ];
    for (i, m) in messages.iter().enumerate() {
        let name = format!("p{i}");
        let p = pulling(&name, "ErrImagePull", m);
        assert_eq!(slugs(vec![p]), ["pod.image-pull.not-found"], "{m}");
        // Also when only the event says it and the status has degraded to back-off.
        let p = pulling(&name, "ImagePullBackOff", "Back-off pulling image \"x\"");
        assert_eq!(
            slugs(vec![p, failed_pull(&name, m)]),
            ["pod.image-pull.not-found"],
            "{m}"
        );
    }
}

#[test]
fn htpasswd_registry_without_credentials_is_certain() {
    let m = "Failed to pull image \"registry.example:5000/shop/api:c3d4\": failed to pull and unpack image \"registry.example:5000/shop/api:c3d4\": failed to resolve reference \"registry.example:5000/shop/api:c3d4\": pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials";
    let f = run(
        "pod.image-pull.unauthorized",
        vec![pulling("p", "ErrImagePull", m)],
    );
    assert_eq!(f.len(), 1);
    assert!(!f[0].possible);
    assert!(
        f[0].summary.contains("requires credentials"),
        "{}",
        f[0].summary
    );
}

#[test]
fn an_unclassified_message_is_quoted_not_called_unknown() {
    let m = "Failed to pull image \"shop/api:1\": rpc error: code = Unknown desc = something the runtime says";
    let p = pulling(
        "p",
        "ImagePullBackOff",
        "Back-off pulling image \"shop/api:1\"",
    );
    let f = run(
        "pod.image-pull.backoff-unknown",
        vec![p, failed_pull("p", m)],
    );
    assert!(
        f[0].summary.contains("something the runtime says"),
        "{}",
        f[0].summary
    );
    assert!(!f[0].summary.contains("no longer says why"));
    assert!(
        f[0].evidence
            .iter()
            .all(|e| !e.note.as_deref().unwrap_or("").contains("expired"))
    );
}
