//! Unit tests of the rules in `pod_config.rs`, each with a near miss that must not fire.
use crate::testing::{cs, event, pod, run, slugs};
use serde_json::json;

fn waiting(name: &str, reason: &str, msg: &str) -> serde_json::Value {
    pod(
        name,
        json!({"nodeName": "n1"}),
        json!({"phase": "Pending", "containerStatuses": [
        cs("app", json!({"waiting": {"reason": reason, "message": msg}}), json!({}), 0, false)]}),
    )
}

#[test]
fn config_errors_name_the_object() {
    let f = run(
        "pod.config.missing-configmap",
        vec![waiting(
            "p",
            "CreateContainerConfigError",
            "configmap \"confmap\" not found",
        )],
    );
    assert!(f[0].summary.contains("\"confmap\""), "{}", f[0].summary);
    assert_eq!(
        slugs(vec![waiting(
            "p",
            "CreateContainerConfigError",
            "secret \"db\" not found"
        )]),
        ["pod.config.missing-secret"]
    );
    assert_eq!(
        slugs(vec![waiting(
            "p",
            "CreateContainerConfigError",
            "couldn't find key PASS in Secret ns/db"
        )]),
        ["pod.config.missing-key"]
    );
    assert_eq!(
        slugs(vec![waiting(
            "p",
            "CreateContainerConfigError",
            "container has runAsNonRoot and image will run as root (pod: x)"
        )]),
        ["pod.config.run-as-non-root"]
    );
}

#[test]
fn not_found_message_without_config_error_reason_is_ignored() {
    let p = waiting("p", "ContainerCreating", "");
    let e = event(
        "p",
        "Failed",
        "Error: configmap \"confmap\" not found",
        2,
        "2024-05-01T10:01:00Z",
    );
    assert!(run("pod.config.missing-configmap", vec![p, e]).is_empty());
}

#[test]
fn create_container_error() {
    let f = run(
        "pod.create-container-error",
        vec![waiting(
            "p",
            "CreateContainerError",
            "context deadline exceeded",
        )],
    );
    assert!(f[0].summary.contains("context deadline exceeded"));
    assert!(
        run(
            "pod.create-container-error",
            vec![waiting("p", "ContainerCreating", "")]
        )
        .is_empty()
    );
}

#[test]
fn sandbox_and_mount_only_while_not_started() {
    let p = waiting("p", "ContainerCreating", "");
    let sb = event(
        "p",
        "FailedCreatePodSandBox",
        "Failed to create pod sandbox: rpc error: code = DeadlineExceeded",
        5,
        "2024-05-01T10:01:00Z",
    );
    let mt = event(
        "p",
        "FailedMount",
        "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data]: timed out waiting for the condition",
        5,
        "2024-05-01T10:01:00Z",
    );
    assert_eq!(
        run("pod.sandbox-failed", vec![p.clone(), sb.clone()]).len(),
        1
    );
    let f = run("pod.mount-failed", vec![p, mt.clone()]);
    assert!(f[0].summary.contains("volume data"), "{}", f[0].summary);
    let running = pod(
        "p",
        json!({"nodeName": "n1"}),
        json!({"phase": "Running", "containerStatuses": [
        cs("app", json!({"running": {}}), json!({}), 0, true)]}),
    );
    assert!(run("pod.sandbox-failed", vec![running.clone(), sb]).is_empty());
    assert!(run("pod.mount-failed", vec![running, mt]).is_empty());
}

#[test]
fn hook_failure_supersedes_crash_loop() {
    let p = pod(
        "p",
        json!({}),
        json!({"phase": "Running", "containerStatuses": [
        cs("app", json!({"waiting": {"reason": "CrashLoopBackOff"}}), json!({"terminated": {"exitCode": 137, "reason": "Error"}}), 4, false)]}),
    );
    let e = event(
        "p",
        "FailedPostStartHook",
        "Exec lifecycle hook ([/bin/false]) for Container \"app\" in Pod \"p\" failed",
        4,
        "2024-05-01T10:01:00Z",
    );
    assert_eq!(slugs(vec![p.clone(), e]), ["pod.lifecycle-hook-failed"]);
    assert!(run("pod.lifecycle-hook-failed", vec![p]).is_empty());
}
