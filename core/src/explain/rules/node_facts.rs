//! What the Nodes in the input say about a pod the scheduler could not place: the
//! taints each node carries that the pod does not tolerate (current schedulers
//! write only "had untolerated taint(s)"), and the cordoned nodes; and, the other
//! way round, the pods left Pending while a node is cordoned.

use crate::explain::tree::Value;

use super::workloads::cond_status;
use crate::explain::finding::Evidence;
use crate::explain::index::{Index, Obj};
use crate::explain::value::str_at;

/// `key=value:Effect` (or `key:Effect`).
pub fn taint_text(t: &Value) -> String {
    let key = str_at(t, "key").unwrap_or("");
    let effect = str_at(t, "effect").unwrap_or("");
    match str_at(t, "value").filter(|v| !v.is_empty()) {
        Some(v) => format!("{key}={v}:{effect}"),
        None => format!("{key}:{effect}"),
    }
}

/// Whether `toleration` tolerates `taint`, as the scheduler decides it.
pub fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let s = |v: &Value, k: &str| str_at(v, k).unwrap_or("").to_string();
    let effect = s(toleration, "effect");
    if !effect.is_empty() && effect != s(taint, "effect") {
        return false;
    }
    let key = s(toleration, "key");
    let exists = s(toleration, "operator") == "Exists";
    if key.is_empty() {
        return exists;
    }
    key == s(taint, "key") && (exists || s(toleration, "value") == s(taint, "value"))
}

/// The taints of `node` that keep `pod` off it (NoSchedule and NoExecute ones it
/// does not tolerate).
pub fn untolerated<'a>(pod: &Obj, node: &'a Obj) -> Vec<&'a Value> {
    let tolerations = pod.arr("spec.tolerations");
    node.arr("spec.taints")
        .iter()
        .filter(|t| matches!(str_at(t, "effect"), Some("NoSchedule" | "NoExecute")))
        .filter(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
        .collect()
}

/// One piece of evidence per node (at most five) with the taints that keep `pod` off it.
pub fn untolerated_evidence(pod: &Obj, ix: &Index) -> Vec<Evidence> {
    ix.of_kind("Node")
        .filter_map(|n| {
            let taints = untolerated(pod, n);
            (!taints.is_empty()).then(|| {
                let list: Vec<String> = taints.iter().map(|t| taint_text(t)).collect();
                n.field("spec.taints", list.join(", "))
            })
        })
        .take(5)
        .collect()
}

/// Whether a node is cordoned (by the flag or its taint).
pub fn cordoned(node: &Obj) -> bool {
    node.get("spec.unschedulable").and_then(Value::as_bool) == Some(true)
        || node
            .arr("spec.taints")
            .iter()
            .any(|t| str_at(t, "key") == Some("node.kubernetes.io/unschedulable"))
}

/// Evidence for each cordoned node in the input (at most five), with its Ready status.
pub fn cordoned_evidence(ix: &Index) -> Vec<Evidence> {
    ix.of_kind("Node")
        .filter(|n| cordoned(n))
        .map(|n| {
            n.field(
                "spec.unschedulable",
                format!(
                    "true (Ready={})",
                    cond_status(n, "Ready").unwrap_or("unknown")
                ),
            )
        })
        .take(5)
        .collect()
}

/// Whether the scheduler could not place a pod (no node, PodScheduled=False with
/// reason Unschedulable), from the raw object.
pub fn pod_unschedulable(pod: &Value) -> bool {
    str_at(pod, "spec.nodeName").is_none_or(str::is_empty)
        && crate::explain::value::condition(pod, "PodScheduled").is_some_and(|c| {
            str_at(c, "status") == Some("False") && str_at(c, "reason") == Some("Unschedulable")
        })
}

/// Pods the scheduler could not place.
pub fn unschedulable_pods(ix: &Index) -> impl Iterator<Item = &Obj> {
    ix.of_kind("Pod").filter(|p| pod_unschedulable(&p.value))
}
