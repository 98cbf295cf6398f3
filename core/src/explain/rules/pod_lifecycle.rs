//! Pod rules about the pod's life as a whole: failing or stuck init containers,
//! containers that never get created, evictions, and pods that finished in phase
//! Failed (pods stuck terminating: `pod_terminating.rs`).

use super::pod::{
    container_events, describe, events_evidence, exit_meaning, finding, learn, logs_previous,
    phase, restart_policy, restarts, statuses,
};
use super::{Age, Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::{human_duration, str_at, time_at};

pub const RULES: &[Rule] = &[
    rule("pod.init.failing", init_failing),
    rule("pod.init.stuck", init_stuck),
    rule("pod.stuck-creating", stuck_creating),
    rule("pod.evicted", evicted),
    rule("pod.failed", failed),
];

const fn rule(slug: &'static str, check: fn(&Obj, &Index, &Ctx) -> Vec<Finding>) -> Rule {
    Rule {
        slug,
        kinds: &["Pod"],
        symptom: false,
        check,
    }
}

/// How long a pod may stay initializing or creating before it counts as stuck.
const STUCK_AFTER: i64 = 10 * 60;

fn init_failing(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    if phase(pod) == "Succeeded" {
        return Vec::new();
    }
    // A pod being deleted has its init container killed (137/143): that is the
    // deletion, not a failure.
    let deleting = pod.get("metadata.deletionTimestamp").is_some();
    let Some(cs) = statuses(pod).into_iter().find(|c| {
        c.init
            && (c.waiting_reason() == Some("CrashLoopBackOff")
                || c.term_exit()
                    .is_some_and(|e| e != 0 && !(deleting && (e == 137 || e == 143))))
    }) else {
        return Vec::new();
    };
    let code = cs.last_exit().or(cs.term_exit());
    let exit = code
        .map(|c| format!(", exit code {c} ({})", exit_meaning(c)))
        .unwrap_or_default();
    let mut f = finding(
        "pod.init.failing",
        Severity::Error,
        pod,
        format!(
            "Pod {}: {} keeps failing ({}{exit}), so the main containers never start.",
            pod.name,
            cs.label(),
            restarts(cs.restarts())
        ),
    )
    .evidence_all(cs.waiting_evidence(pod));
    if let Some(c) = cs.term_exit() {
        f = f.evidence(cs.ev(pod, "state.terminated.exitCode", c));
    }
    f = f
        .evidence_all(cs.last_evidence(pod))
        .evidence_all(events_evidence(&container_events(
            ix,
            pod,
            &cs,
            &["BackOff"],
        )));
    if let Some(c) = pod.condition("Initialized") {
        f = f.evidence(pod.field(
            "status.conditions[type=Initialized].status",
            str_at(c, "status").unwrap_or("?"),
        ));
    }
    vec![
        f.learn(learn::INIT)
        .fix(logs_previous(pod, &cs))
            .fix("Init containers often wait for a dependency (database, DNS, migration): check that it is up and reachable from the pod's namespace.")
            .fix(describe(pod)),
    ]
}

/// Whether events show a cause other rules report (mount, sandbox, image pull).
fn explained_by_events(pod: &Obj, ix: &Index) -> bool {
    !ix.events_with(
        pod,
        &[
            "FailedMount",
            "FailedAttachVolume",
            "FailedCreatePodSandBox",
        ],
    )
    .is_empty()
}

/// Waiting reasons that mean "not started yet, no error".
fn benign_wait(r: Option<&str>) -> bool {
    matches!(r, None | Some("ContainerCreating" | "PodInitializing"))
}

/// Time since the pod was created (or scheduled, when later), from the best evidence.
fn pending_for(pod: &Obj, ctx: &Ctx) -> Age {
    let scheduled = pod
        .condition("PodScheduled")
        .and_then(|c| time_at(c, "lastTransitionTime"));
    ctx.age_of(pod.created().max(scheduled))
}

/// Whether a pod has waited past `STUCK_AFTER`: `Some(how long, as words)` when it
/// has, or when its age cannot be established (then said so); `None` while young.
fn stuck_for(pod: &Obj, ctx: &Ctx) -> Option<(String, Option<Evidence>)> {
    match pending_for(pod, ctx) {
        Age::Known(d) if d.num_seconds() > STUCK_AFTER => Some((human_duration(d), None)),
        Age::Known(_) => None,
        Age::Unknown => Some((
            "an unknown time".to_string(),
            Some(Evidence::note(
                "how long the pod has waited could not be established: nothing in the input was observed after its creation",
            )),
        )),
    }
}

fn init_stuck(pod: &Obj, ix: &Index, ctx: &Ctx) -> Vec<Finding> {
    let init_false = pod
        .condition("Initialized")
        .and_then(|c| str_at(c, "status"))
        == Some("False");
    let all = statuses(pod);
    let inits: Vec<_> = all.iter().filter(|c| c.init).collect();
    if !init_false
        || inits.is_empty()
        || phase(pod) != "Pending"
        || pod.get("metadata.deletionTimestamp").is_some()
    {
        return Vec::new();
    }
    let clean = inits.iter().all(|c| {
        (c.running() || benign_wait(c.waiting_reason()) || c.term_exit() == Some(0))
            && c.last_exit().is_none_or(|e| e == 0)
    });
    if !clean || explained_by_events(pod, ix) {
        return Vec::new();
    }
    let Some((age, age_note)) = stuck_for(pod, ctx) else {
        return Vec::new();
    };
    let current = inits
        .iter()
        .find(|c| c.term_exit() != Some(0))
        .copied()
        .copied();
    let which = current
        .map(|c| c.label())
        .unwrap_or_else(|| "an init container".to_string());
    let mut f = finding(
        "pod.init.stuck",
        Severity::Warning,
        pod,
        format!(
            "Pod {} has been initializing for {} without an error; {which} has not finished.",
            pod.name, age
        ),
    )
    .evidence_all(age_note)
    .evidence(pod.field("status.conditions[type=Initialized].status", "False"))
    .evidence(pod.field(
        "metadata.creationTimestamp",
        pod.str("metadata.creationTimestamp").unwrap_or("?"),
    ));
    for c in &inits {
        let state = if c.running() {
            "running".to_string()
        } else {
            c.waiting_reason().unwrap_or("terminated").to_string()
        };
        f = f.evidence(c.ev(pod, "state", state));
    }
    if ix.events(pod).is_empty() {
        f = f.evidence(Evidence::note("No events about this pod are in the input (they may have expired), so nothing recorded says what it is waiting for."));
    }
    let c = current.map(|c| c.name).unwrap_or("INIT");
    vec![
        f.learn(learn::INIT)
            .fix(format!(
                "See what the init container is doing: kubectl logs {} -c {c}{}",
                pod.name,
                pod.ns_flag()
            ))
            .fix("Check the dependency it waits for (a Service, database, migration) is up.")
            .fix(describe(pod)),
    ]
}

fn stuck_creating(pod: &Obj, ix: &Index, ctx: &Ctx) -> Vec<Finding> {
    if phase(pod) != "Pending" || pod.str("spec.nodeName").is_none_or(str::is_empty) {
        return Vec::new();
    }
    let all = statuses(pod);
    let apps: Vec<_> = all.iter().filter(|c| !c.init).collect();
    let init_done = all
        .iter()
        .filter(|c| c.init)
        .all(|c| c.term_exit() == Some(0))
        || pod
            .condition("Initialized")
            .and_then(|c| str_at(c, "status"))
            == Some("True");
    let creating = !apps.is_empty()
        && apps.iter().all(|c| {
            matches!(
                c.waiting_reason(),
                Some("ContainerCreating" | "PodInitializing")
            ) && c.restarts() == 0
        });
    if !init_done || !creating || explained_by_events(pod, ix) {
        return Vec::new();
    }
    let Some((age, age_note)) = stuck_for(pod, ctx) else {
        return Vec::new();
    };
    let node = pod.str("spec.nodeName").unwrap_or("?");
    let mut f = finding(
        "pod.stuck-creating",
        Severity::Warning,
        pod,
        format!("Pod {}: containers on node {node} have been in ContainerCreating for {} and nothing recorded says why.", pod.name, age),
    )
    .evidence_all(age_note)
    .evidence(pod.field("metadata.creationTimestamp", pod.str("metadata.creationTimestamp").unwrap_or("?")));
    for c in &apps {
        f = f.evidence(c.ev(
            pod,
            "state.waiting.reason",
            c.waiting_reason().unwrap_or("?"),
        ));
    }
    f = f.evidence(Evidence::note(
        "No mount, sandbox or image-pull error is in the data; the events may have expired.",
    ));
    vec![
        f.fix(describe(pod))
            .fix(format!("Check the node: kubectl describe node {node}; on the node, journalctl -u kubelet -u containerd"))
            .fix("A slow download of a large image also looks like this: check the Pulling/Pulled events."),
    ]
}

fn evicted(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    if phase(pod) != "Failed" || pod.str("status.reason") != Some("Evicted") {
        return Vec::new();
    }
    let msg = pod.str("status.message").unwrap_or_default();
    let what = re!(r"low on resource: ([\w-]+)")
        .captures(msg)
        .map(|c| c[1].to_string())
        .or_else(|| {
            re!(r"had condition: \[(\w+)\]").captures(msg).map(|c| {
                match &c[1] {
                    "DiskPressure" => "disk space (DiskPressure)",
                    "MemoryPressure" => "memory (MemoryPressure)",
                    "PIDPressure" => "process IDs (PIDPressure)",
                    other => other,
                }
                .to_string()
            })
        })
        .unwrap_or_else(|| "a resource".to_string());
    let node = pod.str("spec.nodeName").unwrap_or("?");
    let f = finding(
        "pod.evicted",
        Severity::Warning,
        pod,
        format!(
            "Pod {} was evicted from node {node} because the node ran short of {what}.",
            pod.name
        ),
    )
    .evidence(pod.field("status.reason", "Evicted"))
    .evidence(pod.field("status.message", msg))
    .evidence_all(events_evidence(
        &ix.events_with(pod, &["Evicted"])
            .into_iter()
            .rev()
            .collect::<Vec<_>>(),
    ));
    vec![
        f.fix(format!("Check the node's pressure conditions: kubectl describe node {node}"))
            .fix("Set resources.requests/limits (memory, ephemeral-storage) so the pod is not the first to go, and clean up disk usage (logs, emptyDir) on the node.")
            .fix(format!("Evicted pods are not deleted automatically: kubectl delete pod {}{}", pod.name, pod.ns_flag())),
    ]
}

fn failed(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    if phase(pod) != "Failed"
        || pod.str("status.reason") == Some("Evicted")
        || restart_policy(pod) == "Always"
    {
        return Vec::new();
    }
    let Some(cs) = statuses(pod)
        .into_iter()
        .find(|c| !c.init && c.term_exit().is_some_and(|e| e != 0))
    else {
        return Vec::new();
    };
    let code = cs.term_exit().unwrap_or_default();
    let reason = cs.term_reason().unwrap_or("Error");
    let owner = ix.controller_ref(pod).and_then(|r| {
        Some(format!(
            " (owned by {} {})",
            str_at(r, "kind")?,
            str_at(r, "name")?
        ))
    });
    let mut f = finding(
        "pod.failed",
        Severity::Error,
        pod,
        format!(
            "Pod {}{}: {} exited with code {code} ({}) and the pod failed.",
            pod.name,
            owner.unwrap_or_default(),
            cs.label(),
            exit_meaning(code)
        ),
    )
    .evidence(pod.field("status.phase", "Failed"))
    .evidence(cs.ev(pod, "state.terminated.reason", reason))
    .evidence(cs.ev(pod, "state.terminated.exitCode", code));
    if code == 137 {
        f = f.possible(true).evidence(Evidence::note(
            "Exit 137 means the process was killed (SIGKILL) but the status does not say OOMKilled: a memory limit, a deadline or an outside kill may have ended it.",
        ));
    }
    if let Some(m) = cs.term_message().filter(|m| !m.is_empty()) {
        f = f.evidence(cs.ev(pod, "state.terminated.message", m.trim()));
    }
    vec![
        f.fix(format!("Read its output: kubectl logs {} -c {}{}", pod.name, cs.name, pod.ns_flag()))
            .fix("Fix the error the logs show; for a Job, the next run (or a re-created Job) will pick up the fix."),
    ]
}

#[cfg(test)]
mod tests;
