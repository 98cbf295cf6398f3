//! Pods that end before they run for reasons outside the pod: the node's kubelet
//! refusing a pod at admission (`status.reason` OutOfcpu, OutOfmemory, NodeAffinity,
//! MatchNodeSelector, UnexpectedAdmissionError, ...) and preemption by a pod of
//! higher priority (`DisruptionTarget` condition, `Preempted` Events).

use super::pod::{describe, finding};
use super::{Ctx, Rule};
use crate::explain::finding::{Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::str_at;

pub const RULES: &[Rule] = &[
    Rule {
        slug: "pod.admission-rejected",
        kinds: &["Pod"],
        symptom: false,
        check: rejected,
    },
    Rule {
        slug: "pod.preempted",
        kinds: &["Pod"],
        symptom: false,
        check: preempted,
    },
];

/// What a kubelet admission `status.reason` means, for the summary.
fn rejection(reason: &str) -> Option<String> {
    if let Some(res) = reason.strip_prefix("OutOf") {
        return Some(format!("the node had not enough {res} left"));
    }
    match reason {
        "NodeAffinity" | "MatchNodeSelector" => {
            Some("the node's labels no longer match the pod's node selection".to_string())
        }
        "UnexpectedAdmissionError" => {
            Some("a device or resource could not be allocated on the node".to_string())
        }
        "NodePorts" => Some("its host port is taken on the node".to_string()),
        "NodeName" | "PodOSNotSupported" | "InvalidNodeInfo" => {
            Some("the node cannot run it".to_string())
        }
        _ => None,
    }
}

fn rejected(pod: &Obj, _: &Index, _: &Ctx) -> Vec<Finding> {
    if pod.str("status.phase") != Some("Failed") {
        return vec![];
    }
    let Some(reason) = pod.str("status.reason") else {
        return vec![];
    };
    let Some(why) = rejection(reason) else {
        return vec![];
    };
    let node = pod.str("spec.nodeName").unwrap_or("?");
    let mut f = finding(
        "pod.admission-rejected",
        Severity::Error,
        pod,
        format!("kubelet on node {node} rejected the pod ({reason}): {why}"),
    )
    .evidence(pod.field("status.phase", "Failed"))
    .evidence(pod.field("status.reason", reason));
    if let Some(m) = pod.str("status.message").filter(|m| !m.is_empty()) {
        f = f.evidence(pod.field("status.message", m));
    }
    vec![
        f.fix(format!("See what the node has left: kubectl describe node {node}"))
            .fix("Its controller creates a replacement; if rejections repeat, lower the pod's requests or fix the node (labels, device plugins). Delete the failed pod once understood.")
            .fix(describe(pod))
            .learn("The scheduler places a pod using its own view of the nodes; the node's kubelet then checks the pod again before starting it. When the two disagree (resources used by pods the scheduler did not count, labels changed, a device plugin failing), the kubelet refuses the pod: it ends Failed with status.reason such as OutOfcpu or NodeAffinity and never starts."),
    ]
}

fn preempted(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let cond = pod.condition("DisruptionTarget").filter(|c| {
        str_at(c, "status") == Some("True") && str_at(c, "reason") == Some("PreemptionByScheduler")
    });
    let events = ix.events_with(pod, &["Preempted"]);
    if cond.is_none() && events.is_empty() {
        return vec![];
    }
    let mut f = finding(
        "pod.preempted",
        Severity::Warning,
        pod,
        "pod was preempted: the scheduler removed it to make room for a pod of higher priority"
            .to_string(),
    );
    if let Some(c) = cond {
        f = f.evidence(pod.field(
            "status.conditions[type=DisruptionTarget]",
            format!(
                "True (PreemptionByScheduler): {}",
                str_at(c, "message").unwrap_or_default()
            ),
        ));
    }
    f = f.evidence_all(events.iter().rev().take(2).map(|e| e.evidence()));
    vec![
        f.fix(format!(
            "Compare priorities: kubectl get pods{} -o custom-columns=NAME:.metadata.name,PRIORITY:.spec.priority,CLASS:.spec.priorityClassName",
            pod.ns_flag()
        ))
        .fix("Give this workload a higher priorityClassName, or add capacity so both fit.")
        .learn("When a pod with a higher priority cannot be scheduled, the scheduler may evict lower-priority pods from a node to make room (preemption). The evicted pod gets a DisruptionTarget condition and a Preempted event; its controller creates a replacement, which waits for capacity."),
    ]
}

#[cfg(test)]
mod tests;
