//! Unit tests of the rules in `pod_scheduling.rs`, each with a near miss that must not fire.
use crate::testing::{event, pod, run};
use serde_json::json;

fn pending(name: &str, msg: &str, spec: serde_json::Value) -> serde_json::Value {
    pod(
        name,
        spec,
        json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg}]}),
    )
}

#[test]
fn insufficient_resources_names_the_resource_and_request() {
    let spec = json!({"containers": [{"name": "app", "resources": {"requests": {"nvidia.com/gpu": "5"}}}]});
    let f = run(
        "pod.unschedulable.insufficient-resources",
        vec![pending(
            "p",
            "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available",
            spec,
        )],
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].summary.contains("nvidia.com/gpu"), "{}", f[0].summary);
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.value.as_deref() == Some("5"))
    );
}

#[test]
fn scheduled_pod_or_other_reason_is_not_insufficient() {
    let scheduled = pod(
        "p",
        json!({"nodeName": "n1"}),
        json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient cpu."}]}),
    );
    assert!(run("pod.unschedulable.insufficient-resources", vec![scheduled]).is_empty());
    let taint = pending(
        "q",
        "0/1 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }.",
        json!({}),
    );
    assert!(
        run(
            "pod.unschedulable.insufficient-resources",
            vec![taint.clone()]
        )
        .is_empty()
    );
    assert_eq!(run("pod.unschedulable.taints", vec![taint]).len(), 1);
}

#[test]
fn event_only_verdict_counts() {
    let p = pod("p", json!({}), json!({"phase": "Pending"}));
    let e = event(
        "p",
        "FailedScheduling",
        "0/3 nodes are available: 3 node(s) were unschedulable.",
        4,
        "2024-05-01T10:05:00Z",
    );
    let f = run("pod.unschedulable.nodes-cordoned", vec![p.clone(), e]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence[0].count, Some(4));
    assert!(run("pod.unschedulable.nodes-cordoned", vec![p]).is_empty());
}

#[test]
fn node_selector_shows_required_terms() {
    let spec = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "NotIn", "values": ["arm64"]}]}]}}}});
    let f = run(
        "pod.unschedulable.node-selector",
        vec![pending(
            "p",
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
            spec,
        )],
    );
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.value.as_deref() == Some("kubernetes.io/arch NotIn [arm64]"))
    );
    let near = pending(
        "q",
        "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints.",
        json!({}),
    );
    assert!(run("pod.unschedulable.node-selector", vec![near.clone()]).is_empty());
    assert_eq!(
        run("pod.unschedulable.topology-spread", vec![near]).len(),
        1
    );
}

#[test]
fn affinity_and_pvc() {
    let a = pending(
        "a",
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.",
        json!({}),
    );
    assert_eq!(run("pod.unschedulable.pod-affinity", vec![a]).len(), 1);
    let p = pending(
        "b",
        "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
        json!({"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}),
    );
    let f = run("pod.unschedulable.unbound-pvc", vec![p]);
    assert!(f[0].summary.contains("claim data"), "{}", f[0].summary);
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.value.as_deref() == Some("not in the input"))
    );
}

#[test]
fn gates_only_while_unscheduled() {
    let g = pod(
        "g",
        json!({"schedulingGates": [{"name": "kueue.x-k8s.io/admission"}]}),
        json!({"phase": "Pending"}),
    );
    assert_eq!(run("pod.scheduling-gated", vec![g]).len(), 1);
    let running = pod(
        "r",
        json!({"schedulingGates": [{"name": "x"}], "nodeName": "n"}),
        json!({"phase": "Running"}),
    );
    assert!(run("pod.scheduling-gated", vec![running]).is_empty());
}

#[test]
fn autoscaler_scale_up_lowers_severity() {
    let p = pending(
        "p",
        "0/2 nodes are available: 2 Insufficient cpu.",
        json!({}),
    );
    let up = event(
        "p",
        "TriggeredScaleUp",
        "pod triggered scale-up: [{pool 1->2 (max: 5)}]",
        1,
        "2024-05-01T10:00:30Z",
    );
    let f = run(
        "pod.unschedulable.insufficient-resources",
        vec![p.clone(), up],
    );
    assert_eq!(f[0].severity, crate::explain::Severity::Warning);
    assert!(
        f[0].summary.contains("autoscaler is adding a node"),
        "{}",
        f[0].summary
    );
    let f = run("pod.unschedulable.insufficient-resources", vec![p]);
    assert_eq!(f[0].severity, crate::explain::Severity::Error);
}

/// Two nodes as the API server serves them: one carrying the control-plane taint, one
/// cordoned by `kubectl cordon` (the flag plus the taint the node controller adds).
fn nodes() -> Vec<serde_json::Value> {
    let node = |name: &str, spec: serde_json::Value| {
        json!({"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": name, "uid": format!("uid-{name}"), "creationTimestamp": "2024-04-01T00:00:00Z"},
               "spec": spec,
               "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                          "message": "kubelet is posting ready status", "lastHeartbeatTime": "2024-05-01T10:04:00Z"}]}})
    };
    vec![
        node(
            "cp",
            json!({"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}),
        ),
        node(
            "w1",
            json!({"unschedulable": true, "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
                    "timeAdded": "2024-05-01T09:00:00Z"}]}),
        ),
    ]
}

const MSG_136: &str = "0/2 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.";

#[test]
fn untolerated_taints_are_read_from_the_nodes() {
    let mut objs = nodes();
    objs.push(pending("p", MSG_136, json!({})));
    let f = run("pod.unschedulable.taints", objs.clone());
    assert_eq!(f.len(), 1);
    assert!(
        f[0].summary
            .contains("node-role.kubernetes.io/control-plane:NoSchedule"),
        "{}",
        f[0].summary
    );
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.object.as_deref() == Some("Node/cp")
                && e.value.as_deref() == Some("node-role.kubernetes.io/control-plane:NoSchedule"))
    );
    // A pod that tolerates the taint: the node is not listed against it.
    objs.pop();
    objs.push(pending(
        "q",
        MSG_136,
        json!({"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}),
    ));
    let f = run("pod.unschedulable.taints", objs);
    assert!(
        !f[0]
            .evidence
            .iter()
            .any(|e| e.object.as_deref() == Some("Node/cp")),
        "{:?}",
        f[0].evidence
    );
}

#[test]
fn cordoned_nodes_are_named_on_the_pod_and_the_node() {
    let mut objs = nodes();
    objs.push(pending("p", MSG_136, json!({})));
    let f = run("pod.unschedulable.nodes-cordoned", objs.clone());
    assert!(f[0].summary.contains("cordoned (w1)"), "{}", f[0].summary);
    let n = run("node.cordoned", objs);
    assert_eq!(n.len(), 1, "only w1 is cordoned");
    assert!(
        n[0].summary.contains("pod ns/p is Pending because of it"),
        "{}",
        n[0].summary
    );
}
