//! Pod rules for containers that cannot be created: missing ConfigMaps, Secrets and
//! keys, runAsNonRoot refusals, runtime creation errors, sandbox and mount failures,
//! and failing lifecycle hooks.

use regex::Regex;

use super::pod::{Cs, container_events, describe, events_evidence, finding, phase, statuses};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Event, Index, Obj};

pub const RULES: &[Rule] = &[
    rule("pod.config.missing-configmap", missing_configmap),
    rule("pod.config.missing-secret", missing_secret),
    rule("pod.config.missing-key", missing_key),
    rule("pod.config.run-as-non-root", run_as_non_root),
    rule("pod.create-container-error", create_container_error),
    rule("pod.sandbox-failed", sandbox_failed),
    rule("pod.lifecycle-hook-failed", lifecycle_hook),
    rule("pod.mount-failed", mount_failed),
];

const fn rule(slug: &'static str, check: fn(&Obj, &Index, &Ctx) -> Vec<Finding>) -> Rule {
    Rule {
        slug,
        kinds: &["Pod"],
        symptom: false,
        check,
    }
}

/// A container waiting with a given reason whose message (or Failed event) matched.
struct Hit<'a> {
    cs: Cs<'a>,
    /// Capture group 1 of the pattern, when it has one.
    group: Option<String>,
    evidence: Vec<Evidence>,
}

/// The first container waiting with one of `reasons` whose waiting.message or
/// newest matching Failed event matches `re`.
fn waiting_match<'a>(pod: &'a Obj, ix: &Index, reasons: &[&str], re: &Regex) -> Option<Hit<'a>> {
    for cs in statuses(pod) {
        if !cs.waiting_reason().is_some_and(|r| reasons.contains(&r)) {
            continue;
        }
        let events = container_events(ix, pod, &cs, &["Failed"]);
        let mut msgs: Vec<(&str, Option<&Event>)> = cs
            .waiting_message()
            .map(|m| (m, None))
            .into_iter()
            .collect();
        msgs.extend(events.iter().map(|e| (e.message.as_str(), Some(*e))));
        for (m, e) in msgs {
            if let Some(c) = re.captures(m) {
                let mut evidence = cs.waiting_evidence(pod);
                evidence.extend(e.map(Event::evidence));
                let group = c.get(1).map(|g| g.as_str().to_string());
                return Some(Hit {
                    cs,
                    group,
                    evidence,
                });
            }
        }
    }
    None
}

fn missing_configmap(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(h) = waiting_match(
        pod,
        ix,
        &["CreateContainerConfigError"],
        re!(r#"configmaps? "([^"]+)" not found"#),
    ) else {
        return Vec::new();
    };
    let name = h.group.unwrap_or_default();
    let ns = pod.ns_flag();
    vec![
        finding(
            "pod.config.missing-configmap",
            Severity::Error,
            pod,
            format!("Pod {}: {} cannot be created because ConfigMap {name:?} does not exist.", pod.name, h.cs.label()),
        )
        .evidence_all(h.evidence)
        .fix(format!("Check the name: kubectl get configmap{ns}"))
        .fix(format!("Create it (kubectl create configmap {name} --from-literal=KEY=VALUE{ns}) or fix the reference in the pod template; mark it optional: true if the pod can run without it.")),
    ]
}

fn missing_secret(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(h) = waiting_match(
        pod,
        ix,
        &["CreateContainerConfigError"],
        re!(r#"secrets? "([^"]+)" not found"#),
    ) else {
        return Vec::new();
    };
    let name = h.group.unwrap_or_default();
    let ns = pod.ns_flag();
    vec![
        finding(
            "pod.config.missing-secret",
            Severity::Error,
            pod,
            format!("Pod {}: {} cannot be created because Secret {name:?} does not exist.", pod.name, h.cs.label()),
        )
        .evidence_all(h.evidence)
        .fix(format!("Check the name: kubectl get secret{ns}"))
        .fix(format!("Create it (kubectl create secret generic {name} --from-literal=KEY=VALUE{ns}) or fix the reference in the pod template.")),
    ]
}

fn missing_key(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let re = re!(r"couldn't find key (\S+ in (?:ConfigMap|Secret) \S+)");
    let Some(h) = waiting_match(pod, ix, &["CreateContainerConfigError"], re) else {
        return Vec::new();
    };
    let what = h.group.unwrap_or_default();
    vec![
        finding(
            "pod.config.missing-key",
            Severity::Error,
            pod,
            format!("Pod {}: {} cannot be created because it reads key {what}, which is not there.", pod.name, h.cs.label()),
        )
        .evidence_all(h.evidence)
        .fix("List the keys that exist: kubectl describe configmap|secret NAME (data keys are listed without values)")
        .fix("Add the key, or fix env[].valueFrom.*KeyRef.key in the pod template."),
    ]
}

fn run_as_non_root(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let re = re!(
        r"container has runAsNonRoot and image will run as root|image has non-numeric user .*cannot verify user is non-root"
    );
    let Some(h) = waiting_match(pod, ix, &["CreateContainerConfigError"], re) else {
        return Vec::new();
    };
    vec![
        finding(
            "pod.config.run-as-non-root",
            Severity::Error,
            pod,
            format!("Pod {}: {} is refused because it must run as non-root but its image runs as root (or a non-numeric user).", pod.name, h.cs.label()),
        )
        .evidence_all(h.evidence)
        .fix("Set securityContext.runAsUser to a non-zero UID the image supports (e.g. 1000), or build the image with a numeric USER.")
        .fix(describe(pod)),
    ]
}

fn create_container_error(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(h) = waiting_match(pod, ix, &["CreateContainerError"], re!(r"(?s)(.*)")) else {
        return Vec::new();
    };
    let all: Vec<&str> = statuses(pod)
        .iter()
        .filter(|c| c.waiting_reason() == Some("CreateContainerError"))
        .map(|c| c.name)
        .collect();
    let msg = h.cs.waiting_message().unwrap_or("no message");
    let mut evidence = h.evidence;
    evidence.extend(events_evidence(&container_events(
        ix,
        pod,
        &h.cs,
        &["Failed"],
    )));
    evidence.dedup();
    vec![
        finding(
            "pod.create-container-error",
            Severity::Error,
            pod,
            format!("Pod {}: the container runtime on node {} fails to create container(s) {}: {}.", pod.name, pod.str("spec.nodeName").unwrap_or("?"), all.join(", "), msg.trim_end_matches('.')),
        )
        .evidence_all(evidence)
        .fix("Look at the container runtime on that node (journalctl -u containerd / -u kubelet); an overloaded runtime or a leftover container with the same name is the usual cause.")
        .fix(format!("Recreate the pod so it starts clean: kubectl delete pod {}{}", pod.name, pod.ns_flag())),
    ]
}

/// Whether the pod's containers have not started yet (Pending, none running).
fn not_started(pod: &Obj) -> bool {
    phase(pod) == "Pending"
        && !statuses(pod)
            .iter()
            .any(|c| c.running() || c.restarts() > 0)
}

fn sandbox_failed(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let events = ix.events_with(pod, &["FailedCreatePodSandBox"]);
    if events.is_empty() || !not_started(pod) {
        return Vec::new();
    }
    let newest = events.iter().rev().copied().collect::<Vec<_>>();
    vec![
        finding(
            "pod.sandbox-failed",
            Severity::Error,
            pod,
            format!("Pod {}: node {} cannot create the pod sandbox (its network namespace), so no container can start.", pod.name, pod.str("spec.nodeName").unwrap_or("?")),
        )
        .evidence_all(events_evidence(&newest))
        .fix("Check the network plugin (CNI) pods on that node: kubectl get pods -n kube-system -o wide --field-selector spec.nodeName=NODE")
        .fix("Check the container runtime and kubelet logs on the node (journalctl -u containerd -u kubelet).")
        .fix(describe(pod)),
    ]
}

fn lifecycle_hook(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    for cs in statuses(pod) {
        let by_reason = cs
            .waiting_reason()
            .is_some_and(|r| r == "PostStartHookError" || r == "PreStartHookError");
        let events = container_events(ix, pod, &cs, &["FailedPostStartHook", "FailedPreStopHook"]);
        let restarting =
            cs.waiting_reason() == Some("CrashLoopBackOff") || (cs.restarts() > 0 && !cs.ready());
        if !by_reason && (events.is_empty() || !restarting) {
            continue;
        }
        let hook = if events.iter().any(|e| e.reason == "FailedPreStopHook") {
            "preStop"
        } else {
            "postStart"
        };
        return vec![
            finding(
                "pod.lifecycle-hook-failed",
                Severity::Error,
                pod,
                format!("Pod {}: the {hook} hook of {} fails, so Kubernetes kills and restarts it.", pod.name, cs.label()),
            )
            .evidence_all(cs.waiting_evidence(pod))
            .evidence_all(events_evidence(&events))
            .fix(format!("Run the hook command by hand in the container to see its error: kubectl exec {} -c {}{} -- <command>", pod.name, cs.name, pod.ns_flag()))
            .fix("Fix spec.containers[].lifecycle, or make the hook tolerate a not-yet-ready application."),
        ];
    }
    Vec::new()
}

fn mount_failed(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let events = ix.events_with(pod, &["FailedMount", "FailedAttachVolume"]);
    if events.is_empty() || !not_started(pod) {
        return Vec::new();
    }
    let newest: Vec<&Event> = events.iter().rev().copied().collect();
    let volumes = re!(r"unmounted volumes=\[([^\]]*)\]")
        .captures(&newest[0].message)
        .or_else(|| re!(r#"for volume "([^"]+)""#).captures(&newest[0].message))
        .map(|c| format!("volume {}", &c[1]))
        .unwrap_or_else(|| "a volume".to_string());
    let multi = newest.iter().any(|e| e.message.contains("Multi-Attach"));
    let mut f = finding(
        "pod.mount-failed",
        Severity::Error,
        pod,
        format!(
            "Pod {}: {volumes} cannot be {} on node {}, so the containers cannot start.",
            pod.name,
            if multi { "attached" } else { "mounted" },
            pod.str("spec.nodeName").unwrap_or("?")
        ),
    )
    .evidence_all(events_evidence(&newest));
    if multi {
        f = f.fix("The volume is still attached to another node (ReadWriteOnce): wait for the old pod to go, or delete it: kubectl get pods -o wide");
    }
    vec![
        f.fix("Check that the referenced PVC, ConfigMap, Secret or host path exists and that the storage driver pods are healthy.")
            .fix(describe(pod)),
    ]
}

#[cfg(test)]
mod tests;
