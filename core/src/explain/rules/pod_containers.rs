//! Pod rules for containers that start and then fail: OOM kills, commands that
//! cannot run, repeated restarts. Crash loops are in `pod_crash.rs`.

use super::pod::{
    Cs, container_events, describe, events_evidence, exit_meaning, finding, learn, logs_previous,
    restarts, statuses,
};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};

pub const RULES: &[Rule] = &[
    rule("pod.run-error", run_error),
    rule("pod.restarting", restarting),
    rule("pod.oom-killed", oom_killed),
];

const fn rule(slug: &'static str, check: fn(&Obj, &Index, &Ctx) -> Vec<Finding>) -> Rule {
    Rule {
        slug,
        kinds: &["Pod"],
        symptom: false,
        check,
    }
}

const CANNOT_RUN: &[&str] = &["ContainerCannotRun", "StartError"];

fn run_error(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    for cs in statuses(pod) {
        let waiting = cs.waiting_reason() == Some("RunContainerError");
        let last = cs.last_reason().is_some_and(|r| CANNOT_RUN.contains(&r));
        let now = cs.term_reason().is_some_and(|r| CANNOT_RUN.contains(&r));
        if !(waiting || last || now) {
            continue;
        }
        let msg = run_message(ix, pod, &cs);
        let why = cannot_run_why(&msg);
        let cmd = re!(r#"exec: "([^"]+)""#)
            .captures(&msg)
            .map(|c| format!(" ({:?})", &c[1]))
            .unwrap_or_default();
        let mut ev = cs.waiting_evidence(pod);
        if now {
            ev.push(cs.ev(
                pod,
                "state.terminated.reason",
                cs.term_reason().unwrap_or_default(),
            ));
            if let Some(c) = cs.term_exit() {
                ev.push(cs.ev(pod, "state.terminated.exitCode", c));
            }
        }
        ev.extend(cs.last_evidence(pod));
        if !msg.is_empty() && !ev.iter().any(|e| e.value.as_deref() == Some(msg.trim())) {
            ev.push(Evidence {
                message: Some(msg.trim().to_string()),
                ..Evidence::default()
            });
        }
        let f = finding(
            "pod.run-error",
            Severity::Error,
            pod,
            format!(
                "Pod {}: {} cannot start because {why}{cmd}.",
                pod.name,
                cs.label()
            ),
        )
        .evidence_all(ev)
        .evidence_all(command_evidence(pod, &cs));
        return vec![
            f.fix("Fix command/args in the pod template, or the image's ENTRYPOINT/CMD; check the binary exists: docker run --rm --entrypoint sh IMAGE -c 'command -v BINARY'")
                .fix(describe(pod)),
        ];
    }
    Vec::new()
}

/// What the runtime said when the container could not run: the message naming the
/// exec failure, else any message, else the newest `Failed` Event's.
fn run_message(ix: &Index, pod: &Obj, cs: &Cs<'_>) -> String {
    let texts: Vec<&str> = [cs.waiting_message(), cs.last_message(), cs.term_message()]
        .into_iter()
        .flatten()
        .filter(|m| !m.is_empty())
        .collect();
    texts
        .iter()
        .find(|m| re!(r"exec|no such file|permission denied|OCI runtime").is_match(m))
        .or(texts.first())
        .copied()
        .map(str::to_string)
        .or_else(|| {
            container_events(ix, pod, cs, &["Failed"])
                .first()
                .map(|e| e.message.clone())
        })
        .unwrap_or_default()
}

/// Why the runtime could not run the command, from its message.
fn cannot_run_why(msg: &str) -> &'static str {
    if re!(r"executable file not found|no such file or directory").is_match(msg) {
        "its command does not exist in the image"
    } else if msg.contains("permission denied") {
        "its command is not executable"
    } else if msg.contains("exec format error") {
        "its command is built for another CPU architecture"
    } else {
        "its command or entrypoint cannot be executed"
    }
}

/// The container's command and args as evidence, when the pod spec sets them.
fn command_evidence(pod: &Obj, cs: &Cs<'_>) -> Option<Evidence> {
    let spec = cs.spec(pod);
    let command: Vec<&str> = ["command", "args"]
        .iter()
        .flat_map(|k| {
            spec.and_then(|s| s.get(k))
                .and_then(|v| v.as_array())
                .unwrap_or_default()
        })
        .filter_map(|v| v.as_str())
        .collect();
    if command.is_empty() {
        return None;
    }
    let list = if cs.init {
        "initContainers"
    } else {
        "containers"
    };
    Some(pod.field(
        format!("spec.{list}[name={}].command+args", cs.name),
        command.join(" "),
    ))
}

fn restarting(pod: &Obj, _: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(cs) = statuses(pod).into_iter().find(|c| {
        c.running()
            && c.restarts() > 3
            && c.last_exit().is_some_and(|e| e != 0)
            && c.last_reason() != Some("OOMKilled")
    }) else {
        return Vec::new();
    };
    let code = cs.last_exit().unwrap_or_default();
    let mut f = finding(
        "pod.restarting",
        Severity::Warning,
        pod,
        format!("Pod {}: {} is running but has restarted {} times; it last exited with code {code} ({}).", pod.name, cs.label(), cs.restarts(), exit_meaning(code)),
    )
    .evidence(cs.ev(pod, "restartCount", cs.restarts()))
    .evidence_all(cs.last_evidence(pod));
    let probed = cs
        .spec(pod)
        .is_some_and(|s| s.get("livenessProbe").is_some() || s.get("startupProbe").is_some());
    if probed && (code == 137 || code == 143) {
        f = f.evidence(Evidence::note("The container has a liveness or startup probe and was killed by a signal: failed probes may be the cause, but no event survives to prove it."));
    }
    vec![
        f.learn(learn::CRASH_LOOP)
            .fix(logs_previous(pod, &cs))
            .fix(describe(pod)),
    ]
}

fn oom_killed(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(cs) = statuses(pod)
        .into_iter()
        .find(|c| c.term_reason() == Some("OOMKilled") || c.last_reason() == Some("OOMKilled"))
    else {
        return Vec::new();
    };
    let limit = cs
        .spec(pod)
        .and_then(|s| s.pointer("/resources/limits/memory"))
        .and_then(|v| v.as_str());
    let list = if cs.init {
        "initContainers"
    } else {
        "containers"
    };
    let current = cs.term_reason() == Some("OOMKilled");
    let mut f = finding(
        "pod.oom-killed",
        // One old OOM kill of a container that runs fine now is worth a warning;
        // a container that is down or keeps being killed is an error.
        if current || cs.waiting_reason().is_some() || cs.restarts() > 3 {
            Severity::Error
        } else {
            Severity::Warning
        },
        pod,
        format!(
            "Pod {}: {} was killed for using more memory than {}{}.",
            pod.name,
            cs.label(),
            limit
                .map(|l| format!("its limit of {l}"))
                .unwrap_or_else(|| "it may (no limit set: the node ran out)".to_string()),
            if cs.restarts() > 0 {
                format!(" ({})", restarts(cs.restarts()))
            } else {
                String::new()
            }
        ),
    );
    if current {
        f = f.evidence(cs.ev(pod, "state.terminated.reason", "OOMKilled"));
        if let Some(c) = cs.term_exit() {
            f = f.evidence(cs.ev(pod, "state.terminated.exitCode", c));
        }
    } else {
        f = f.evidence_all(cs.last_evidence(pod));
    }
    f = f.evidence(pod.field(
        format!("spec.{list}[name={}].resources.limits.memory", cs.name),
        limit.unwrap_or("(none)"),
    ));
    if let Some(node) = pod
        .str("spec.nodeName")
        .and_then(|n| ix.get("Node", None, n))
    {
        f = f.evidence_all(events_evidence(
            &ix.events_with(node, &["OOMKilling", "SystemOOM"])
                .into_iter()
                .rev()
                .collect::<Vec<_>>(),
        ));
    }
    vec![
        f.learn(learn::OOM)
        .fix(format!("See how much memory it uses: kubectl top pod {}{} --containers", pod.name, pod.ns_flag()))
            .fix("Raise resources.limits.memory (and requests) in the pod template, or reduce the program's memory use (heap flags such as -Xmx, cache sizes)."),
    ]
}

#[cfg(test)]
mod tests;
