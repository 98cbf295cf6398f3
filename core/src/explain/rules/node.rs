//! Node rules: NotReady/Unknown, resource pressure, and cordoned nodes.

use super::node_facts;
use super::workloads::{cond_evidence, cond_status, describe, newest_events};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::{bool_at, str_at};

pub const RULES: &[Rule] = &[
    Rule {
        slug: "node.not-ready",
        kinds: &["Node"],
        symptom: false,
        check: not_ready,
    },
    Rule {
        slug: "node.pressure",
        kinds: &["Node"],
        symptom: false,
        check: pressure,
    },
    Rule {
        slug: "node.cordoned",
        kinds: &["Node"],
        symptom: false,
        check: cordoned,
    },
];

fn taint_evidence(node: &Obj, keys: &[&str]) -> Vec<Evidence> {
    node.arr("spec.taints")
        .iter()
        .filter_map(|t| {
            let key = str_at(t, "key")?;
            keys.contains(&key).then(|| {
                node.field(
                    "spec.taints[].key",
                    format!("{key}:{}", str_at(t, "effect").unwrap_or("")),
                )
            })
        })
        .collect()
}

fn not_ready(node: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let status = cond_status(node, "Ready");
    if !matches!(status, Some("False" | "Unknown")) {
        return vec![];
    }
    let unknown = status == Some("Unknown");
    let summary = if unknown {
        format!(
            "Node {} stopped reporting: its status is Unknown, the kubelet is not posting updates.",
            node.name
        )
    } else {
        format!(
            "Node {} is NotReady: the kubelet reports it unhealthy.",
            node.name
        )
    };
    let mut f = Finding::new(
        "node.not-ready",
        Severity::Error,
        node.object_ref(),
        summary,
    )
    .evidence_all(cond_evidence(node, "Ready"))
    .evidence_all(taint_evidence(
        node,
        &[
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ],
    ))
    .evidence_all(newest_events(&ix.events_with(node, &["NodeNotReady"])));
    if let Some(hb) = node
        .condition("Ready")
        .and_then(|c| str_at(c, "lastHeartbeatTime"))
    {
        f = f.evidence(node.field("status.conditions[type=Ready].lastHeartbeatTime", hb));
    }
    let fix = if unknown {
        "Check that the machine is up and reachable, then the kubelet on it: systemctl status kubelet; journalctl -u kubelet"
    } else {
        "On the node, read the kubelet's reason (container runtime, network plugin, PLEG): journalctl -u kubelet"
    };
    vec![
        f.fix(fix)
            .fix(describe(node))
            .learn("Each node runs an agent, the kubelet, that reports the node's health every few seconds. Ready=False means it reports a problem; Unknown means it stopped reporting. After a few minutes Kubernetes taints the node and starts evicting its pods so they run elsewhere."),
    ]
}

const PRESSURES: &[(&str, &str, &str)] = &[
    (
        "MemoryPressure",
        "memory",
        "node.kubernetes.io/memory-pressure",
    ),
    (
        "DiskPressure",
        "disk space",
        "node.kubernetes.io/disk-pressure",
    ),
    (
        "PIDPressure",
        "process IDs",
        "node.kubernetes.io/pid-pressure",
    ),
];

fn pressure(node: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let active: Vec<&(&str, &str, &str)> = PRESSURES
        .iter()
        .filter(|(c, _, _)| cond_status(node, c) == Some("True"))
        .collect();
    if active.is_empty() {
        return vec![];
    }
    let what: Vec<&str> = active.iter().map(|(_, w, _)| *w).collect();
    let mut f = Finding::new(
        "node.pressure",
        Severity::Warning,
        node.object_ref(),
        format!(
            "Node {} is running short of {}; it refuses new pods and may evict running ones.",
            node.name,
            what.join(" and ")
        ),
    );
    for (c, _, _) in &active {
        f = f.evidence_all(cond_evidence(node, c));
    }
    let taint_keys: Vec<&str> = active.iter().map(|(_, _, t)| *t).collect();
    f = f
        .evidence_all(taint_evidence(node, &taint_keys))
        .evidence_all(newest_events(
            &ix.events_with(node, &["EvictionThresholdMet", "FreeDiskSpaceFailed"]),
        ));
    vec![
        f.fix(format!("See what uses the node: kubectl top pods -A --sort-by=memory --field-selector spec.nodeName={}", node.name))
            .fix("Free the resource (clean images/logs for disk, lower limits or move heavy pods for memory), or add capacity.")
            .fix(describe(node))
            .learn("The kubelet keeps a reserve of memory, disk and process IDs. When free resources drop below its eviction thresholds it sets a pressure condition, stops accepting new pods, and evicts pods (lowest priority, most over their requests first) until it recovers."),
    ]
}

fn cordoned(node: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let flag = bool_at(&node.value, "spec.unschedulable") == Some(true);
    let taint = taint_evidence(node, &["node.kubernetes.io/unschedulable"]);
    if !flag && taint.is_empty() {
        return vec![];
    }
    // Pods left Pending because no node would take them, cordons included.
    let pending: Vec<String> = node_facts::unschedulable_pods(ix)
        .filter(|p| {
            p.condition("PodScheduled")
                .and_then(|c| str_at(c, "message"))
                .is_some_and(|m| {
                    m.contains("were unschedulable")
                        || m.contains("node.kubernetes.io/unschedulable")
                })
        })
        .map(|p| format!("{}/{}", p.namespace.as_deref().unwrap_or(""), p.name))
        .collect();
    let tail = match pending.len() {
        0 => String::new(),
        1 => format!("; pod {} is Pending because of it", pending[0]),
        n => format!("; {n} pods are Pending because of it"),
    };
    let mut f = Finding::new(
        "node.cordoned",
        Severity::Warning,
        node.object_ref(),
        format!(
            "Node {} is cordoned: new pods are not scheduled on it{tail}.",
            node.name
        ),
    )
    .evidence_all(taint);
    if !pending.is_empty() {
        f = f.evidence(Evidence::note(format!(
            "Pods Pending, the scheduler reporting unschedulable nodes: {}",
            pending
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if flag {
        f = f.evidence(node.field("spec.unschedulable", true));
    }
    vec![
        f.fix(format!("If the maintenance is over, allow scheduling again: kubectl uncordon {}", node.name))
            .learn("Cordoning (kubectl cordon or drain, or an autoscaler about to remove the node) marks a node unschedulable. Pods already on it keep running; new pods go to other nodes, and if there are none they stay Pending."),
    ]
}

#[cfg(test)]
mod tests {
    use crate::testing::run;
    use serde_json::{Value, json};

    fn node(conditions: Value, spec: Value) -> Value {
        json!({"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1"}, "spec": spec, "status": {"conditions": conditions}})
    }

    fn healthy() -> Value {
        node(
            json!([{"type": "Ready", "status": "True", "reason": "KubeletReady"},
                   {"type": "MemoryPressure", "status": "False"}, {"type": "DiskPressure", "status": "False"}]),
            json!({}),
        )
    }

    #[test]
    fn healthy_node_near_miss() {
        for slug in ["node.not-ready", "node.pressure", "node.cordoned"] {
            assert!(run(slug, vec![healthy()]).is_empty(), "{slug}");
        }
    }

    #[test]
    fn unknown_node() {
        let n = node(
            json!([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status.",
                    "lastHeartbeatTime": "2021-10-13T12:00:00Z"}]),
            json!({"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]}),
        );
        let f = run("node.not-ready", vec![n]);
        assert_eq!(f.len(), 1);
        assert!(f[0].summary.contains("Unknown"));
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.value.as_deref() == Some("node.kubernetes.io/unreachable:NoSchedule"))
        );
    }

    #[test]
    fn pressure_names_each_resource() {
        let n = node(
            json!([{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "True", "reason": "KubeletHasInsufficientMemory"},
                   {"type": "DiskPressure", "status": "True", "reason": "KubeletHasDiskPressure"}]),
            json!({}),
        );
        let f = run("node.pressure", vec![n]);
        assert!(
            f[0].summary.contains("memory and disk space"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn cordoned_by_flag_or_taint() {
        assert_eq!(
            run(
                "node.cordoned",
                vec![node(json!([]), json!({"unschedulable": true}))]
            )
            .len(),
            1
        );
        let tainted = node(
            json!([]),
            json!({"taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]}),
        );
        assert_eq!(run("node.cordoned", vec![tainted]).len(), 1);
        assert!(
            run(
                "node.cordoned",
                vec![node(json!([]), json!({"unschedulable": false}))]
            )
            .is_empty()
        );
    }
}
