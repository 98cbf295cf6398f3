//! Unit tests of the rules in `pod_probes.rs`, each with a near miss that must not fire.
use crate::testing::{cs, event, pod, run, running, slugs};
use serde_json::json;

#[test]
fn liveness_kills_need_probe_and_events() {
    let spec = json!({"containers": [{"name": "app", "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]});
    let p = running(
        11,
        json!({"exitCode": 137, "reason": "Error"}),
        spec.clone(),
    );
    let e = event(
        "p",
        "Unhealthy",
        "Liveness probe failed: Get \"http://10.0.0.1:8080/healthz\": connection refused",
        40,
        "2024-05-01T10:09:00Z",
    );
    assert_eq!(
        slugs(vec![p.clone(), e.clone()]),
        ["pod.probe.liveness-killing"]
    );
    let f = run("pod.probe.liveness-killing", vec![p.clone(), e.clone()]);
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.note.as_deref().is_some_and(|n| n.contains("about 30s")))
    );
    assert_eq!(f[0].confidence, crate::explain::Confidence::Certain);
    // Without the events the kill is only inferred.
    let g = run("pod.probe.liveness-killing", vec![p]);
    assert_eq!(g[0].confidence, crate::explain::Confidence::Likely);
    let no_probe = running(11, json!({"exitCode": 137, "reason": "Error"}), json!({}));
    assert!(run("pod.probe.liveness-killing", vec![no_probe, e]).is_empty());
}

#[test]
fn readiness_failing_and_gates() {
    let spec =
        json!({"containers": [{"name": "app", "readinessProbe": {"tcpSocket": {"port": 80}}}]});
    let mut p = running(0, json!(null), spec);
    p["status"]["containerStatuses"][0]["ready"] = json!(false);
    let e = event(
        "p",
        "Unhealthy",
        "Readiness probe failed: dial tcp 10.0.0.1:80: connect: connection refused",
        7,
        "2024-05-01T10:01:00Z",
    );
    assert_eq!(
        run("pod.probe.readiness-failing", vec![p.clone(), e]).len(),
        1
    );
    // Started 30 s before something else in the input, no failure recorded: young.
    let clock = json!({"kind": "Node", "metadata": {"name": "n1", "creationTimestamp": "2024-05-01T10:00:30Z"}});
    assert!(
        run("pod.probe.readiness-failing", vec![p.clone(), clock]).is_empty(),
        "just started, no failure recorded"
    );
    // Nothing later than its start: its age is unknown, not zero.
    let f = run("pod.probe.readiness-failing", vec![p]);
    assert_eq!(f[0].severity, crate::explain::Severity::Warning);
    assert!(f[0].evidence.iter().any(|e| {
        e.note
            .as_deref()
            .is_some_and(|n| n.contains("could not be established"))
    }));
    let g = pod(
        "g",
        json!({"readinessGates": [{"conditionType": "target-health.elbv2.k8s.aws/x"}]}),
        json!({"phase": "Running",
        "conditions": [{"type": "ContainersReady", "status": "True"}, {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady",
        "message": "corresponding condition of pod readiness gate \"target-health.elbv2.k8s.aws/x\" does not exist."}]}),
    );
    assert_eq!(run("pod.readiness-gate.not-ready", vec![g]).len(), 1);
    let ok = pod(
        "h",
        json!({"readinessGates": [{"conditionType": "x"}]}),
        json!({"phase": "Running",
        "conditions": [{"type": "ContainersReady", "status": "True"}, {"type": "Ready", "status": "True"}, {"type": "x", "status": "True"}]}),
    );
    assert!(run("pod.readiness-gate.not-ready", vec![ok]).is_empty());
}

/// A pod of a rollout 20 s old whose readiness probe answers 404, as kubelet 1.36
/// writes it: running, not ready, Ready=False, and `Unhealthy` events.
fn readiness_404() -> Vec<serde_json::Value> {
    let spec = json!({"containers": [{"name": "app", "image": "shop/api:c3d4",
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
            "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}}]});
    let mut p = pod(
        "p",
        spec,
        json!({"phase": "Running", "startTime": "2024-05-01T10:00:00Z",
            "conditions": [
                {"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:00Z",
                 "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:00Z"}],
            "containerStatuses": [
                cs("app", json!({"running": {"startedAt": "2024-05-01T10:00:02Z"}}), json!({}), 0, false)]}),
    );
    p["status"]["containerStatuses"][0]["started"] = json!(true);
    let mut e = event(
        "p",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 404",
        2,
        "2024-05-01T10:00:20Z",
    );
    e["involvedObject"]["fieldPath"] = json!("spec.containers{app}");
    vec![p, e]
}

#[test]
fn readiness_404_is_an_error_naming_probe_path_and_status() {
    let f = run("pod.probe.readiness-failing", readiness_404());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, crate::explain::Severity::Error);
    assert!(
        f[0].summary
            .starts_with("readiness probe GET /healthz answers 404"),
        "{}",
        f[0].summary
    );
    assert!(f[0].summary.len() <= 140);
    // Twenty seconds into a rollout, with or without settling.
    for settle in [true, false] {
        let opts = crate::explain::Options {
            settle,
            ..Default::default()
        };
        let r = crate::explain::explain(readiness_404(), &opts);
        assert_eq!(r.findings[0].slug, "pod.probe.readiness-failing");
    }
}

#[test]
fn probe_outcomes_read_from_kubelet_messages() {
    use super::probe_outcome;
    assert_eq!(
        probe_outcome(
            "Readiness probe failed: Get \"http://10.244.0.12:8080/healthz\": dial tcp 10.244.0.12:8080: connect: connection refused"
        ),
        "is refused (nothing listens on the port)"
    );
    assert_eq!(
        probe_outcome(
            "Readiness probe failed: Get \"http://10.244.0.12:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        ),
        "times out"
    );
}

#[test]
fn liveness_kills_without_events_are_likely() {
    let spec = json!({"containers": [{"name": "app", "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]});
    let p = running(
        5,
        json!({"exitCode": 137, "reason": "Error", "startedAt": "2024-05-01T09:59:00Z", "finishedAt": "2024-05-01T09:59:40Z"}),
        spec.clone(),
    );
    let f = run("pod.probe.liveness-killing", vec![p.clone()]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].confidence, crate::explain::Confidence::Likely);
    assert!(f[0].evidence.iter().any(|e| {
        e.note
            .as_deref()
            .is_some_and(|n| n.starts_with("inferred from:"))
    }));
    assert_eq!(slugs(vec![p]), ["pod.probe.liveness-killing"]);
    // OOMKilled is its own cause; one restart is not "repeated"; no probe, no inference.
    let oom = running(
        5,
        json!({"exitCode": 137, "reason": "OOMKilled"}),
        spec.clone(),
    );
    assert!(run("pod.probe.liveness-killing", vec![oom]).is_empty());
    let once = running(1, json!({"exitCode": 143, "reason": "Error"}), spec);
    assert!(run("pod.probe.liveness-killing", vec![once]).is_empty());
    let none = running(5, json!({"exitCode": 137, "reason": "Error"}), json!({}));
    assert!(run("pod.probe.liveness-killing", vec![none]).is_empty());
}
