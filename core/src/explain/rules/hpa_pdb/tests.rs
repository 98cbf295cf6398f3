use crate::testing::run;
use serde_json::{Value, json};

fn hpa(conditions: Value) -> Value {
    json!({"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
        "metadata": {"name": "web", "namespace": "ns", "uid": "h1"},
        "spec": {"maxReplicas": 5, "minReplicas": 1, "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}},
        "status": {"currentReplicas": 5, "desiredReplicas": 5, "conditions": conditions}})
}

fn web_deployment() -> Value {
    json!({"kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}}}})
}

#[test]
fn missing_requests_from_condition() {
    let h = hpa(
        json!([{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
        "message": "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container app of Pod web-1"}]),
    );
    let f = run("hpa.missing-requests", vec![h.clone(), web_deployment()]);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].evidence.iter().any(|e| e.field.as_deref()
            == Some("spec.template.spec.containers[name=app].resources.requests.cpu")),
        "{:?}",
        f[0].evidence
    );
    assert!(
        run("hpa.metrics-unavailable", vec![h]).is_empty(),
        "the specific cause wins"
    );
}

#[test]
fn missing_requests_from_event() {
    let ev = json!({"kind": "Event", "involvedObject": {"kind": "HorizontalPodAutoscaler", "name": "web", "namespace": "ns", "uid": "h1"},
        "reason": "FailedGetResourceMetric", "message": "missing request for memory", "count": 30});
    let f = run("hpa.missing-requests", vec![hpa(json!([])), ev]);
    assert_eq!(f.len(), 1);
    assert!(f[0].summary.contains("memory"), "{}", f[0].summary);
}

#[test]
fn metrics_unavailable() {
    let h = hpa(
        json!([{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
        "message": "the HPA was unable to compute the replica count: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"}]),
    );
    assert_eq!(run("hpa.metrics-unavailable", vec![h.clone()]).len(), 1);
    assert!(run("hpa.missing-requests", vec![h]).is_empty());
}

#[test]
fn healthy_hpa_near_misses() {
    let ok = hpa(
        json!([{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"},
        {"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas", "message": "the desired replica count is less than the minimum replica count"}]),
    );
    for slug in [
        "hpa.missing-requests",
        "hpa.metrics-unavailable",
        "hpa.at-max-replicas",
    ] {
        assert!(
            run(slug, vec![ok.clone()]).is_empty(),
            "{slug} on a healthy HPA at minReplicas"
        );
    }
}

#[test]
fn at_max_replicas() {
    let h = hpa(
        json!([{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"},
        {"type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas", "message": "the desired replica count is more than the maximum replica count"}]),
    );
    let f = run("hpa.at-max-replicas", vec![h]);
    assert_eq!(f.len(), 1);
    assert!(f[0].summary.contains("maxReplicas 5"));
}

fn pdb(allowed: i64, healthy: i64, desired: i64, expected: i64) -> Value {
    json!({"kind": "PodDisruptionBudget", "apiVersion": "policy/v1",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"disruptionsAllowed": allowed, "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected}})
}

#[test]
fn pdb_blocks_by_design_or_because_pods_are_unhealthy() {
    let f = run("pdb.no-disruptions-allowed", vec![pdb(0, 1, 1, 1)]);
    assert_eq!(f.len(), 1);
    assert!(f[0].summary.contains("requires all 1"), "{}", f[0].summary);
    let sick = json!({"kind": "Pod", "metadata": {"name": "web-1", "namespace": "ns", "labels": {"app": "web"}},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]}});
    let f = run("pdb.no-disruptions-allowed", vec![pdb(0, 0, 1, 1), sick]);
    assert!(f[0].summary.contains("only 0 of the 1"), "{}", f[0].summary);
    assert!(
        f[0].fix.iter().any(|s| s.contains("pod/web-1")),
        "{:?}",
        f[0].fix
    );
}

#[test]
fn pdb_near_misses() {
    assert!(run("pdb.no-disruptions-allowed", vec![pdb(1, 2, 1, 2)]).is_empty());
    assert!(
        run("pdb.no-disruptions-allowed", vec![pdb(0, 0, 0, 0)]).is_empty(),
        "no pods selected yet"
    );
}
