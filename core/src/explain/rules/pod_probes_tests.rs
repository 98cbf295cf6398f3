//! Unit tests of the rules in `pod_probes.rs`, each with a near miss that must not fire.
use super::super::testkit::{cs, event, pod, run, slugs};
use serde_json::json;

fn running(restarts: i64, last: serde_json::Value, spec: serde_json::Value) -> serde_json::Value {
    pod(
        "p",
        spec,
        json!({"phase": "Running", "containerStatuses": [
        cs("app", json!({"running": {"startedAt": "2024-05-01T10:00:00Z"}}), json!({"terminated": last}), restarts, true)]}),
    )
}

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
    assert!(run("pod.probe.liveness-killing", vec![p]).is_empty());
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
    assert!(
        run("pod.probe.readiness-failing", vec![p]).is_empty(),
        "just started, no failure recorded"
    );
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
