//! Unit tests of the object index.
use super::*;
use serde_json::json;

/// [`super::selector_matches`] of a selector and labels written as `serde_json` values.
fn selector_matches(selector: &serde_json::Value, labels: &serde_json::Value) -> bool {
    super::selector_matches(&selector.into(), &labels.into())
}

fn sample() -> Index {
    Index::build(vec![
        json!({"kind": "Deployment", "metadata": {"name": "api", "namespace": "ns", "uid": "d1"}}),
        json!({"kind": "ReplicaSet", "metadata": {"name": "api-1", "namespace": "ns", "uid": "r1",
            "ownerReferences": [{"kind": "Deployment", "name": "api", "uid": "d1", "controller": true}]}}),
        json!({"kind": "Pod", "metadata": {"name": "api-1-x", "namespace": "ns", "uid": "p1", "labels": {"app": "api"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "api-1", "uid": "r1", "controller": true}]}}),
        json!({"kind": "Pod", "metadata": {"name": "lone", "namespace": "ns", "uid": "p2",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "gone-7", "uid": "zz", "controller": true}]}}),
        json!({"kind": "Event", "involvedObject": {"kind": "Pod", "name": "api-1-x", "namespace": "ns", "uid": "p1"},
            "reason": "BackOff", "message": "Back-off", "count": 4, "lastTimestamp": "2024-01-01T00:00:05Z"}),
        json!({"kind": "Event", "involvedObject": {"kind": "Pod", "name": "api-1-x", "namespace": "ns"},
            "reason": "Pulled", "message": "ok", "lastTimestamp": "2024-01-01T00:00:01Z"}),
        json!({"kind": "Event", "involvedObject": {"kind": "Pod", "name": "other", "namespace": "ns"}, "reason": "X"}),
        json!({"kind": "Widget", "metadata": {"name": "w"}}),
    ])
}

#[test]
fn chain_walks_owners_present_and_absent() {
    let ix = sample();
    let pod = ix.get("Pod", Some("ns"), "api-1-x").unwrap();
    let names: Vec<String> = ix
        .chain(pod)
        .iter()
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect();
    assert_eq!(names, ["Deployment/api", "ReplicaSet/api-1", "Pod/api-1-x"]);
    let lone = ix.get("Pod", Some("ns"), "lone").unwrap();
    let names: Vec<String> = ix
        .chain(lone)
        .iter()
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect();
    assert_eq!(names, ["ReplicaSet/gone-7", "Pod/lone"]);
    let rs = ix.get("ReplicaSet", Some("ns"), "api-1").unwrap();
    assert_eq!(
        ix.children(rs).map(|o| o.name.as_str()).collect::<Vec<_>>(),
        ["api-1-x"]
    );
}

#[test]
fn events_match_by_uid_then_name_and_sort() {
    let ix = sample();
    let pod = ix.get("Pod", Some("ns"), "api-1-x").unwrap();
    let reasons: Vec<&str> = ix.events(pod).iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["Pulled", "BackOff"]);
    assert_eq!(ix.events_with(pod, &["BackOff"])[0].count, 4);
    let notes = ix.notes().join("\n");
    assert!(notes.contains("Widget (1)"), "{notes}");
    assert!(notes.contains("1 event(s)"), "{notes}");
    assert_eq!(
        ix.newest_timestamp().unwrap().to_rfc3339(),
        "2024-01-01T00:00:05+00:00"
    );
}

#[test]
fn selectors() {
    let labels = json!({"app": "api", "tier": "web"});
    assert!(selector_matches(&json!({"app": "api"}), &labels));
    assert!(!selector_matches(&json!({"app": "web"}), &labels));
    assert!(!selector_matches(&json!({}), &labels));
    assert!(selector_matches(
        &json!({"matchLabels": {"app": "api"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}),
        &labels
    ));
    assert!(!selector_matches(
        &json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}),
        &labels
    ));
}

#[test]
fn secrets_lose_their_payload() {
    let ix = Index::build(vec![
        json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "c2VjcmV0"}}),
    ]);
    assert!(ix.objects()[0].get("data").is_none());
}

#[test]
fn pods_selected_uses_labels_and_expressions() {
    let mk = |name: &str, ns: &str, app: &str| json!({"kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {"app": app, "tier": "web"}}});
    let ix = Index::build(vec![
        mk("a", "ns", "api"),
        mk("b", "ns", "db"),
        mk("c", "other", "api"),
    ]);
    let names = |sel: serde_json::Value| -> Vec<String> {
        ix.pods_selected(Some("ns"), &sel.into())
            .map(|p| p.name.clone())
            .collect()
    };
    assert_eq!(names(json!({"app": "api"})), ["a"]);
    assert_eq!(
        names(json!({"app": "api", "tier": "db"})),
        Vec::<String>::new()
    );
    assert_eq!(
        names(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]})),
        ["b"]
    );
    assert_eq!(names(json!({"matchLabels": {"tier": "web"}})), ["a", "b"]);
}

#[test]
fn hpa_v1_annotations_read_as_v2_fields() {
    let hpa = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "api", "namespace": "ns", "creationTimestamp": "2026-12-06T18:00:00Z",
            "annotations": {
                "autoscaling.alpha.kubernetes.io/conditions": "[{\"type\":\"AbleToScale\",\"status\":\"True\",\"lastTransitionTime\":\"2026-12-06T18:00:15Z\",\"reason\":\"SucceededGetScale\",\"message\":\"the HPA controller was able to get the target's current scale\"},{\"type\":\"ScalingActive\",\"status\":\"False\",\"lastTransitionTime\":\"2026-12-06T18:00:15Z\",\"reason\":\"FailedGetResourceMetric\",\"message\":\"the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container app of Pod api-6d9f7c8b5-x2x7k\"}]",
                "autoscaling.alpha.kubernetes.io/current-metrics": "[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"currentAverageUtilization\":12,\"currentAverageValue\":\"12m\"}}]"}},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
            "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80},
        "status": {"currentReplicas": 1, "desiredReplicas": 1}});
    let ix = Index::build(vec![hpa]);
    let h = ix
        .get("HorizontalPodAutoscaler", Some("ns"), "api")
        .unwrap();
    assert_eq!(
        h.condition("ScalingActive")
            .and_then(|c| c["reason"].as_str()),
        Some("FailedGetResourceMetric")
    );
    assert!(h.get("status.currentMetrics").is_some_and(|m| m.is_array()));
    let report = crate::explain::explain(
        ix.objects().iter().map(|o| o.value.to_json()).collect(),
        &crate::explain::Options::default(),
    );
    assert_eq!(report.findings[0].slug, "hpa.missing-requests");
}
