//! A pod stuck Terminating: past its `deletionTimestamp` (which already includes the
//! grace period), with what holds it named: a node that cannot confirm the stop,
//! finalizers left after the containers stopped, or a container still running.

use super::pod::{events_evidence, finding, statuses};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::{human_duration, str_at, time_at};

pub const RULES: &[Rule] = &[Rule {
    slug: "pod.stuck-terminating",
    kinds: &["Pod"],
    symptom: false,
    check: stuck_terminating,
}];

/// How long past its deletion deadline a pod may linger.
const TERMINATING_GRACE: i64 = 5 * 60;

fn stuck_terminating(pod: &Obj, ix: &Index, ctx: &Ctx) -> Vec<Finding> {
    let Some(deadline) = time_at(&pod.value, "metadata.deletionTimestamp") else {
        return Vec::new();
    };
    let Some(over) = ctx
        .age(Some(deadline))
        .filter(|d| d.num_seconds() > TERMINATING_GRACE)
    else {
        return Vec::new();
    };
    let finalizers: Vec<&str> = pod
        .arr("metadata.finalizers")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let node = pod.str("spec.nodeName");
    let node_obj = node.and_then(|n| ix.get("Node", None, n));
    let node_ready = node_obj
        .and_then(|n| n.condition("Ready"))
        .and_then(|c| str_at(c, "status"));
    // What holds it: its containers have stopped (the kubelet is done) and finalizers
    // remain, or its node cannot confirm the shutdown, or the containers still run.
    let sts = statuses(pod);
    let running = sts.iter().any(|c| c.running());
    let why = what_holds(node, node_ready, &finalizers, running, !sts.is_empty());
    let mut f = finding(
        "pod.stuck-terminating",
        Severity::Warning,
        pod,
        format!(
            "Pod {} should have been gone {} ago but is still terminating{why}.",
            pod.name,
            human_duration(over)
        ),
    )
    .evidence(pod.field(
        "metadata.deletionTimestamp",
        pod.str("metadata.deletionTimestamp").unwrap_or("?"),
    ));
    if !finalizers.is_empty() {
        f = f.evidence(pod.field("metadata.finalizers", finalizers.join(", ")));
    }
    if let (Some(n), Some(s)) = (node, node_ready) {
        f = f.evidence(Evidence::field(
            format!("Node/{n}"),
            "status.conditions[type=Ready].status",
            s,
        ));
    }
    f = f.evidence_all(events_evidence(
        &ix.events_with(pod, &["FailedKillPod"])
            .into_iter()
            .rev()
            .collect::<Vec<_>>(),
    ));
    vec![
        f.fix("If the node is gone or NotReady, the kubelet cannot confirm the shutdown: fix or remove the node.")
            .fix(if finalizers.is_empty() {
                "If a finalizer blocks it, find the controller that owns the finalizer.".to_string()
            } else {
                format!(
                    "Find the controller that owns {} and why it has not finished; only if it is gone for good: kubectl patch pod {}{} --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'",
                    finalizers.join(", "),
                    pod.name,
                    pod.ns_flag()
                )
            })
            .fix(format!("As a last resort: kubectl delete pod {}{} --grace-period=0 --force", pod.name, pod.ns_flag())),
    ]
}

/// What holds a pod past its deletion (`: …`, or nothing when the input does not
/// show): a node that cannot confirm the shutdown, finalizers, or containers that
/// still run.
fn what_holds(
    node: Option<&str>,
    node_ready: Option<&str>,
    finalizers: &[&str],
    running: bool,
    has_statuses: bool,
) -> String {
    match (node_ready, finalizers.is_empty(), running) {
        (Some(s), _, _) if s != "True" => format!(
            ": its node {} is {}, so the kubelet cannot confirm that the containers stopped",
            node.unwrap_or("?"),
            if s == "Unknown" {
                "unreachable"
            } else {
                "NotReady"
            }
        ),
        (_, false, false) if has_statuses => format!(
            ": its containers have stopped, and the finalizer{} {} still hold{} the object until the controller that owns {} removes {}",
            if finalizers.len() == 1 { "" } else { "s" },
            finalizers.join(", "),
            if finalizers.len() == 1 { "s" } else { "" },
            if finalizers.len() == 1 { "it" } else { "them" },
            if finalizers.len() == 1 { "it" } else { "them" },
        ),
        (_, false, true) => format!(
            ": a container still runs, and the finalizer{} {} will hold the object after it stops",
            if finalizers.len() == 1 { "" } else { "s" },
            finalizers.join(", ")
        ),
        (_, true, true) => {
            ": a container still runs past the grace period (the kubelet could not stop it)"
                .to_string()
        }
        (_, false, false) => format!(
            ": the finalizer{} {} hold{} it",
            if finalizers.len() == 1 { "" } else { "s" },
            finalizers.join(", "),
            if finalizers.len() == 1 { "s" } else { "" },
        ),
        (_, true, false) => String::new(),
    }
}
