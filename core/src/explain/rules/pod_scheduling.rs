//! Pod rules for pods the scheduler cannot place (`pod.unschedulable.*`) or
//! does not consider yet (`pod.scheduling-gated`): the scheduler's verdict, and the
//! causes on the nodes' side (resources, taints, host ports, cordons). Constraints
//! the pod sets itself are in `placement`.

mod placement;

use crate::explain::tree::Value;
use regex::Regex;

use super::node_facts;
use super::pod::{describe, finding, learn, phase};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::str_at;

pub const RULES: &[Rule] = &[
    rule("pod.unschedulable.insufficient-resources", insufficient),
    rule("pod.unschedulable.taints", taints),
    rule("pod.unschedulable.node-selector", placement::node_selector),
    rule("pod.unschedulable.pod-affinity", placement::pod_affinity),
    rule(
        "pod.unschedulable.topology-spread",
        placement::topology_spread,
    ),
    rule("pod.unschedulable.unbound-pvc", placement::unbound_pvc),
    rule("pod.unschedulable.nodes-cordoned", cordoned),
    rule("pod.unschedulable.host-port", host_port),
    rule("pod.scheduling-gated", gated),
];

const fn rule(slug: &'static str, check: fn(&Obj, &Index, &Ctx) -> Vec<Finding>) -> Rule {
    Rule {
        slug,
        kinds: &["Pod"],
        symptom: false,
        check,
    }
}

/// The scheduler's verdict on an unscheduled pod: its message and the evidence for it.
struct Verdict {
    message: String,
    evidence: Vec<Evidence>,
}

/// The scheduler's message for a pod that is Pending without a node: the
/// PodScheduled condition (reason Unschedulable) first, else the newest
/// FailedScheduling event.
fn verdict(pod: &Obj, ix: &Index) -> Option<Verdict> {
    if phase(pod) != "Pending" || pod.str("spec.nodeName").is_some_and(|n| !n.is_empty()) {
        return None;
    }
    let events = ix.events_with(pod, &["FailedScheduling"]);
    let newest_event = events.last();
    let cond = pod.condition("PodScheduled").filter(|c| {
        str_at(c, "status") == Some("False") && str_at(c, "reason") == Some("Unschedulable")
    });
    let mut evidence = Vec::new();
    let message = match (cond, newest_event) {
        (Some(c), _) if str_at(c, "message").is_some_and(|m| !m.is_empty()) => {
            let m = str_at(c, "message").unwrap_or_default().to_string();
            evidence.push(pod.field(
                "status.conditions[type=PodScheduled].reason",
                "Unschedulable",
            ));
            evidence.push(pod.field("status.conditions[type=PodScheduled].message", &m));
            m
        }
        (_, Some(e)) => e.message.clone(),
        _ => return None,
    };
    if let Some(e) = newest_event {
        evidence.push(e.evidence());
    }
    for e in ix
        .events_with(pod, &["NotTriggerScaleUp"])
        .iter()
        .rev()
        .take(1)
    {
        evidence.push(e.evidence());
    }
    Some(Verdict { message, evidence })
}

/// Runs `make` when the scheduler's message matches `re`.
fn when(pod: &Obj, ix: &Index, re: &Regex, make: impl FnOnce(&Verdict) -> Finding) -> Vec<Finding> {
    match verdict(pod, ix) {
        Some(v) if re.is_match(&v.message) => {
            let f = make(&v);
            let ev = v.evidence;
            vec![
                f.evidence_all(ev)
                    .fix(describe(pod))
                    .learn(learn::UNSCHEDULABLE),
            ]
        }
        _ => Vec::new(),
    }
}

/// `0/3 nodes are available` → `0/3`.
fn available(message: &str) -> String {
    re!(r"\d+/\d+ nodes are available")
        .find(message)
        .map(|m| {
            format!(
                " ({} nodes fit)",
                m.as_str().split(' ').next().unwrap_or_default()
            )
        })
        .unwrap_or_default()
}

fn requests(pod: &Obj, resources: &[String]) -> Vec<Evidence> {
    let mut out = Vec::new();
    for c in pod.arr("spec.containers") {
        let name = str_at(c, "name").unwrap_or("?");
        for r in resources {
            let req = c.pointer(&format!(
                "/resources/requests/{}",
                r.replace('~', "~0").replace('/', "~1")
            ));
            if let Some(q) = req {
                let q = q
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| q.to_string());
                out.push(pod.field(
                    format!("spec.containers[name={name}].resources.requests.{r}"),
                    q,
                ));
            }
        }
    }
    out
}

fn insufficient(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let re = re!(r"\d+ Insufficient [\w./-]+|Too many pods");
    when(pod, ix, re, |v| {
        let mut res: Vec<String> = re!(r"\d+ Insufficient ([\w./-]+)")
            .captures_iter(&v.message)
            .map(|c| c[1].trim_end_matches('.').to_string())
            .collect();
        res.dedup();
        let what = if res.is_empty() {
            "pod slots".to_string()
        } else {
            res.join(", ")
        };
        // The cluster autoscaler is already adding a node when its newest verdict
        // is TriggeredScaleUp: the pod should start soon, so this is a warning.
        let scale = ix.events_with(pod, &["TriggeredScaleUp", "NotTriggerScaleUp"]);
        let scaling = scale.last().filter(|e| e.reason == "TriggeredScaleUp");
        let (severity, tail) = match scaling {
            Some(_) => (
                Severity::Warning,
                "; the cluster autoscaler is adding a node",
            ),
            None => (Severity::Error, ""),
        };
        finding(
            "pod.unschedulable.insufficient-resources",
            severity,
            pod,
            format!("Pod {} cannot be scheduled: no node has enough free {what}{}{tail}.", pod.name, available(&v.message)),
        )
        .evidence_all(scaling.map(|e| e.evidence()))
        .evidence_all(requests(pod, &res))
        .fix("Compare the requests with what the nodes have left: kubectl describe nodes | grep -A8 'Allocated resources'")
        .fix("Lower spec.containers[].resources.requests, free capacity by scaling down other workloads, or add nodes (check the cluster autoscaler's limits).")
    })
}

fn taints(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let re = re!(r"had untolerated taint|had taints? \{.*\}, that the pod didn't tolerate");
    when(pod, ix, re, |v| {
        let taint = re!(r"taints? \{([^}]*)\}")
            .captures(&v.message)
            .map(|c| c[1].to_string());
        // Current schedulers do not name the taint; the Nodes in the input do.
        let mut on_nodes: Vec<String> = ix
            .of_kind("Node")
            .flat_map(|n| node_facts::untolerated(pod, n))
            .map(node_facts::taint_text)
            .collect();
        on_nodes.sort();
        on_nodes.dedup();
        let which = match taint {
            Some(t) => format!(" {{{t}}}"),
            None if !on_nodes.is_empty() => format!(" ({})", on_nodes.join(", ")),
            None => String::new(),
        };
        finding(
            "pod.unschedulable.taints",
            Severity::Error,
            pod,
            format!("Pod {} cannot be scheduled: the nodes carry taints{which} that the pod does not tolerate.", pod.name),
        )
        .evidence_all(node_facts::untolerated_evidence(pod, ix))
        .fix("List the taints: kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints")
        .fix("Add a matching spec.tolerations entry to the pod template, or remove the taint: kubectl taint nodes NODE KEY-")
    })
}

fn host_port(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    when(
        pod,
        ix,
        re!(r"didn't have free ports for the requested pod ports"),
        |v| {
            let ports: Vec<String> = pod
                .arr("spec.containers")
                .iter()
                .flat_map(|c| {
                    c.get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .filter_map(|p| p.get("hostPort").and_then(Value::as_i64))
                .map(|p| p.to_string())
                .collect();
            let mut f = finding(
                "pod.unschedulable.host-port",
                Severity::Error,
                pod,
                format!(
                    "Pod {} cannot be scheduled: the host port it asks for is already taken on every node that could run it{}.",
                    pod.name,
                    available(&v.message)
                ),
            );
            if !ports.is_empty() {
                f = f.evidence(pod.field("spec.containers[].ports[].hostPort", ports.join(", ")));
            }
            f.fix("Drop hostPort and reach the pod through a Service, or run at most one such pod per node (a DaemonSet, or pod anti-affinity).")
        },
    )
}

fn cordoned(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let re = re!(r"node\(s\) were unschedulable|node\.kubernetes\.io/unschedulable");
    when(pod, ix, re, |_| {
        let names: Vec<&str> = ix
            .of_kind("Node")
            .filter(|n| node_facts::cordoned(n))
            .map(|n| n.name.as_str())
            .collect();
        let which = if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        };
        finding(
            "pod.unschedulable.nodes-cordoned",
            Severity::Error,
            pod,
            format!(
                "Pod {} cannot be scheduled: the candidate nodes are cordoned{which}.",
                pod.name
            ),
        )
        .evidence_all(node_facts::cordoned_evidence(ix))
        .fix("Find cordoned nodes: kubectl get nodes (STATUS shows SchedulingDisabled)")
        .fix("When maintenance is done: kubectl uncordon NODE")
    })
}

fn gated(pod: &Obj, _: &Index, _: &Ctx) -> Vec<Finding> {
    let gates: Vec<&str> = pod
        .arr("spec.schedulingGates")
        .iter()
        .filter_map(|g| str_at(g, "name"))
        .collect();
    let cond_gated = pod
        .condition("PodScheduled")
        .is_some_and(|c| str_at(c, "reason") == Some("SchedulingGated"));
    if gates.is_empty()
        || phase(pod) != "Pending"
        || pod.str("spec.nodeName").is_some_and(|n| !n.is_empty())
    {
        return Vec::new();
    }
    let mut f = finding(
        "pod.scheduling-gated",
        Severity::Info,
        pod,
        format!("Pod {} is held back by scheduling gates ({}) and is not considered for scheduling yet.", pod.name, gates.join(", ")),
    )
    .evidence(pod.field("spec.schedulingGates", gates.join(", ")));
    if cond_gated {
        f = f.evidence(pod.field(
            "status.conditions[type=PodScheduled].reason",
            "SchedulingGated",
        ));
    }
    vec![f.fix("Find the controller that owns the gate (often a queue such as Kueue) and check why it has not admitted the pod.")]
}

#[cfg(test)]
mod tests;
