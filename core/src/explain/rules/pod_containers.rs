//! Pod rules for containers that start and then fail: crash loops, OOM kills,
//! commands that cannot run, failing probes and readiness gates, repeated restarts.

use super::pod::{
    Cs, container_events, describe, events_evidence, exit_meaning, finding, logs_previous,
    restart_policy, restarts, statuses,
};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::str_at;

pub const RULES: &[Rule] = &[
    rule("pod.run-error", run_error),
    rule("pod.crash-loop", crash_loop),
    rule("pod.crash-loop.completed", crash_loop_completed),
    rule("pod.restarting", restarting),
    rule("pod.oom-killed", oom_killed),
    rule("pod.probe.liveness-killing", liveness),
    rule("pod.probe.readiness-failing", readiness),
    rule("pod.readiness-gate.not-ready", readiness_gate),
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
        let texts: Vec<&str> = [cs.waiting_message(), cs.last_message(), cs.term_message()]
            .into_iter()
            .flatten()
            .filter(|m| !m.is_empty())
            .collect();
        let msg = texts
            .iter()
            .find(|m| re!(r"exec|no such file|permission denied|OCI runtime").is_match(m))
            .or(texts.first())
            .copied()
            .map(str::to_string)
            .or_else(|| {
                container_events(ix, pod, &cs, &["Failed"])
                    .first()
                    .map(|e| e.message.clone())
            })
            .unwrap_or_default();
        let why = if re!(r"executable file not found|no such file or directory").is_match(&msg) {
            "its command does not exist in the image"
        } else if msg.contains("permission denied") {
            "its command is not executable"
        } else if msg.contains("exec format error") {
            "its command is built for another CPU architecture"
        } else {
            "its command or entrypoint cannot be executed"
        };
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
        let spec = cs.spec(pod);
        let command: Vec<String> = ["command", "args"]
            .iter()
            .flat_map(|k| {
                spec.and_then(|s| s.get(*k))
                    .and_then(|v| v.as_array())
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let mut f = finding(
            "pod.run-error",
            Severity::Error,
            pod,
            format!(
                "Pod {}: {} cannot start because {why}{cmd}.",
                pod.name,
                cs.label()
            ),
        )
        .evidence_all(ev);
        if !command.is_empty() {
            let list = if cs.init {
                "initContainers"
            } else {
                "containers"
            };
            f = f.evidence(pod.field(
                format!("spec.{list}[name={}].command+args", cs.name),
                command.join(" "),
            ));
        }
        return vec![
            f.fix("Fix command/args in the pod template, or the image's ENTRYPOINT/CMD; check the binary exists: docker run --rm --entrypoint sh IMAGE -c 'command -v BINARY'")
                .fix(describe(pod)),
        ];
    }
    Vec::new()
}

/// App containers waiting in CrashLoopBackOff.
fn crash_looping<'a>(pod: &'a Obj) -> impl Iterator<Item = Cs<'a>> + 'a {
    statuses(pod)
        .into_iter()
        .filter(|c| !c.init && c.waiting_reason() == Some("CrashLoopBackOff"))
}

fn crash_loop(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(cs) = crash_looping(pod).next() else {
        return Vec::new();
    };
    let code = cs.last_exit();
    let reason = cs.last_reason().unwrap_or("unknown");
    let exit = code
        .map(|c| format!(" with exit code {c} ({})", exit_meaning(c)))
        .unwrap_or_default();
    let killed = code == Some(137) && reason != "OOMKilled";
    let mut f = finding(
        "pod.crash-loop",
        Severity::Error,
        pod,
        format!(
            "Pod {}: {} keeps crashing{exit} and is restarted with back-off ({}).",
            pod.name,
            cs.label(),
            restarts(cs.restarts())
        ),
    )
    .evidence_all(cs.waiting_evidence(pod))
    .evidence(cs.ev(pod, "restartCount", cs.restarts()))
    .evidence_all(cs.last_evidence(pod))
    .evidence_all(events_evidence(&container_events(
        ix,
        pod,
        &cs,
        &["BackOff"],
    )));
    if killed {
        f = f.possible(true).evidence(Evidence::note(
            "Exit 137 means the process was killed (SIGKILL) but the status does not say OOMKilled: it may be a memory limit hit, a failed liveness probe or an external kill.",
        ));
    }
    vec![f.fix(logs_previous(pod, &cs)).fix("Fix the error the logs show (configuration, a missing dependency, a bug), then roll out again.").fix(describe(pod))]
}

fn crash_loop_completed(pod: &Obj, _: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(cs) = crash_looping(pod)
        .find(|c| c.last_reason() == Some("Completed") && c.last_exit() == Some(0))
    else {
        return Vec::new();
    };
    if restart_policy(pod) != "Always" {
        return Vec::new();
    }
    vec![
        finding(
            "pod.crash-loop.completed",
            Severity::Error,
            pod,
            format!("Pod {}: {} exits successfully (exit 0) but is restarted forever because the pod must keep running ({}).", pod.name, cs.label(), restarts(cs.restarts())),
        )
        .evidence_all(cs.waiting_evidence(pod))
        .evidence_all(cs.last_evidence(pod))
        .evidence(pod.field("spec.restartPolicy", "Always"))
        .fix("For run-once work use a Job (kubectl create job ...) instead of a Deployment.")
        .fix("For a server, make the process stay in the foreground (no daemonizing, no shell script that exits).")
        .fix(logs_previous(pod, &cs)),
    ]
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
    vec![f.fix(logs_previous(pod, &cs)).fix(describe(pod))]
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
        f.fix(format!("See how much memory it uses: kubectl top pod {}{} --containers", pod.name, pod.ns_flag()))
            .fix("Raise resources.limits.memory (and requests) in the pod template, or reduce the program's memory use (heap flags such as -Xmx, cache sizes)."),
    ]
}

fn has_probe(cs: &Cs<'_>, pod: &Obj, kinds: &[&str]) -> bool {
    cs.spec(pod)
        .is_some_and(|s| kinds.iter().any(|k| s.get(*k).is_some()))
}

fn liveness(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    for cs in statuses(pod) {
        if !has_probe(&cs, pod, &["livenessProbe", "startupProbe"]) {
            continue;
        }
        let unhealthy: Vec<_> = container_events(ix, pod, &cs, &["Unhealthy"])
            .into_iter()
            .filter(|e| re!(r"^(Liveness|Startup) probe (failed|errored)").is_match(&e.message))
            .collect();
        let killing: Vec<_> = container_events(ix, pod, &cs, &["Killing"])
            .into_iter()
            .filter(|e| re!(r"failed (liveness|startup) probe").is_match(&e.message))
            .collect();
        let restarted = cs.restarts() > 0 && cs.last_reason() != Some("OOMKilled");
        if !(restarted && !unhealthy.is_empty() || !killing.is_empty()) {
            continue;
        }
        let probe = cs
            .spec(pod)
            .and_then(|s| s.get("livenessProbe").or_else(|| s.get("startupProbe")));
        let how = probe
            .map(|p| {
                if let Some(path) = str_at(p, "httpGet.path") {
                    format!(
                        "HTTP GET {path} on port {}",
                        p.pointer("/httpGet/port")
                            .map(|v| v.to_string().trim_matches('"').to_string())
                            .unwrap_or_default()
                    )
                } else if p.get("tcpSocket").is_some() {
                    "TCP connect".to_string()
                } else if p.get("exec").is_some() {
                    "exec command".to_string()
                } else {
                    "probe".to_string()
                }
            })
            .unwrap_or_default();
        let list = if cs.init {
            "initContainers"
        } else {
            "containers"
        };
        let mut f = finding(
            "pod.probe.liveness-killing",
            Severity::Error,
            pod,
            format!("Pod {}: {} is killed and restarted because its liveness/startup probe ({how}) keeps failing ({}).", pod.name, cs.label(), restarts(cs.restarts())),
        )
        .evidence_all(events_evidence(&unhealthy))
        .evidence_all(events_evidence(&killing))
        .evidence_all(cs.last_evidence(pod));
        if let Some(p) = probe {
            f = f.evidence(pod.field(format!("spec.{list}[name={}].livenessProbe", cs.name), p));
        }
        return vec![
            f.fix(logs_previous(pod, &cs))
                .fix("Check that the probe's port and path answer inside the container; if the app is just slow to start, add a startupProbe or raise initialDelaySeconds/failureThreshold.")
                .fix(describe(pod)),
        ];
    }
    Vec::new()
}

fn readiness(pod: &Obj, ix: &Index, ctx: &Ctx) -> Vec<Finding> {
    if pod.get("metadata.deletionTimestamp").is_some() {
        return Vec::new();
    }
    for cs in statuses(pod) {
        if cs.init || !cs.running() || cs.ready() || !has_probe(&cs, pod, &["readinessProbe"]) {
            continue;
        }
        let unhealthy: Vec<_> = container_events(ix, pod, &cs, &["Unhealthy"])
            .into_iter()
            .filter(|e| re!(r"^Readiness probe (failed|errored)").is_match(&e.message))
            .collect();
        let started = crate::explain::value::time_at(cs.v, "state.running.startedAt");
        let long = ctx.age(started).is_some_and(|d| d.num_seconds() > 300);
        if unhealthy.is_empty() && !long {
            continue;
        }
        let mut f = finding(
            "pod.probe.readiness-failing",
            Severity::Warning,
            pod,
            format!("Pod {}: {} is running but its readiness probe fails, so it receives no traffic from Services.", pod.name, cs.label()),
        )
        .evidence(cs.ev(pod, "ready", false))
        .evidence_all(events_evidence(&unhealthy));
        if let Some(p) = cs.spec(pod).and_then(|s| s.get("readinessProbe")) {
            f = f.evidence(pod.field(
                format!("spec.containers[name={}].readinessProbe", cs.name),
                p,
            ));
        }
        return vec![
            f.fix(format!("Read the app's logs: kubectl logs {} -c {}{}", pod.name, cs.name, pod.ns_flag()))
                .fix("Check the probe's port/path/command against what the app serves, and whether a dependency the app checks is down.")
                .fix(describe(pod)),
        ];
    }
    Vec::new()
}

fn readiness_gate(pod: &Obj, _: &Index, _: &Ctx) -> Vec<Finding> {
    let gates: Vec<&str> = pod
        .arr("spec.readinessGates")
        .iter()
        .filter_map(|g| str_at(g, "conditionType"))
        .collect();
    if gates.is_empty() {
        return Vec::new();
    }
    let ready = pod.condition("Ready");
    let containers_ready = pod
        .condition("ContainersReady")
        .and_then(|c| str_at(c, "status"))
        == Some("True");
    let gated = ready.is_some_and(|c| str_at(c, "reason") == Some("ReadinessGatesNotReady"));
    let failing: Vec<&str> = gates
        .iter()
        .copied()
        .filter(|g| pod.condition(g).and_then(|c| str_at(c, "status")) != Some("True"))
        .collect();
    if failing.is_empty()
        || !(gated || containers_ready && ready.and_then(|c| str_at(c, "status")) == Some("False"))
    {
        return Vec::new();
    }
    let mut f = finding(
        "pod.readiness-gate.not-ready",
        Severity::Warning,
        pod,
        format!("Pod {}: all containers are ready but readiness gate(s) {} are not true, so the pod is not Ready.", pod.name, failing.join(", ")),
    )
    .evidence(pod.field("spec.readinessGates", gates.join(", ")));
    if let Some(m) = ready.and_then(|c| str_at(c, "message")) {
        f = f.evidence(pod.field("status.conditions[type=Ready].message", m));
    }
    vec![f.fix("Check the controller that sets the gate condition (for example the cloud load-balancer controller) and its logs.").fix(describe(pod))]
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{cs, event, pod, run, slugs};
    use serde_json::json;

    fn looping(last: serde_json::Value, restarts: i64) -> serde_json::Value {
        pod(
            "p",
            json!({}),
            json!({"phase": "Running", "containerStatuses": [
            cs("app", json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}), json!({"terminated": last}), restarts, false)]}),
        )
    }

    #[test]
    fn crash_loop_with_exit_1() {
        let f = run(
            "pod.crash-loop",
            vec![looping(json!({"exitCode": 1, "reason": "Error"}), 6)],
        );
        assert!(
            f[0].summary.contains("exit code 1 (application error)"),
            "{}",
            f[0].summary
        );
        assert!(!f[0].possible);
    }

    #[test]
    fn exit_137_without_oom_is_possible_only() {
        let f = run(
            "pod.crash-loop",
            vec![looping(json!({"exitCode": 137, "reason": "Error"}), 6)],
        );
        assert!(f[0].possible);
        assert!(f[0].evidence.iter().any(|e| e.note.is_some()));
    }

    #[test]
    fn specific_causes_supersede_crash_loop() {
        assert_eq!(
            slugs(vec![looping(
                json!({"exitCode": 137, "reason": "OOMKilled"}),
                3
            )]),
            ["pod.oom-killed"]
        );
        assert_eq!(
            slugs(vec![looping(
                json!({"exitCode": 0, "reason": "Completed"}),
                3
            )]),
            ["pod.crash-loop.completed"]
        );
        assert_eq!(
            slugs(vec![looping(
                json!({"exitCode": 127, "reason": "ContainerCannotRun", "message": "exec: \"wge\": executable file not found in $PATH"}),
                3
            )]),
            ["pod.run-error"]
        );
    }

    #[test]
    fn completed_without_restart_always_is_not_crash_loop_completed() {
        let mut p = looping(json!({"exitCode": 0, "reason": "Completed"}), 3);
        p["spec"]["restartPolicy"] = json!("OnFailure");
        assert!(run("pod.crash-loop.completed", vec![p]).is_empty());
    }

    fn running(
        restarts: i64,
        last: serde_json::Value,
        spec: serde_json::Value,
    ) -> serde_json::Value {
        pod(
            "p",
            spec,
            json!({"phase": "Running", "containerStatuses": [
            cs("app", json!({"running": {"startedAt": "2024-05-01T10:00:00Z"}}), json!({"terminated": last}), restarts, true)]}),
        )
    }

    #[test]
    fn restarting_needs_more_than_three_failed_restarts() {
        assert_eq!(
            run(
                "pod.restarting",
                vec![running(
                    5,
                    json!({"exitCode": 2, "reason": "Error"}),
                    json!({})
                )]
            )
            .len(),
            1
        );
        assert!(
            run(
                "pod.restarting",
                vec![running(
                    3,
                    json!({"exitCode": 2, "reason": "Error"}),
                    json!({})
                )]
            )
            .is_empty()
        );
        assert!(
            run(
                "pod.restarting",
                vec![running(
                    9,
                    json!({"exitCode": 0, "reason": "Completed"}),
                    json!({})
                )]
            )
            .is_empty()
        );
        assert_eq!(
            slugs(vec![running(
                9,
                json!({"exitCode": 137, "reason": "OOMKilled"}),
                json!({})
            )]),
            ["pod.oom-killed"]
        );
        let once = run(
            "pod.oom-killed",
            vec![running(
                1,
                json!({"exitCode": 137, "reason": "OOMKilled"}),
                json!({}),
            )],
        );
        assert_eq!(once[0].severity, crate::explain::Severity::Warning);
    }

    #[test]
    fn liveness_kills_need_probe_and_events() {
        let spec = json!({"containers": [{"name": "app", "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]});
        let p = running(
            11,
            json!({"exitCode": 137, "reason": "Error"}),
            spec.clone(),
        );
        let e = event(
            "p",
            "Unhealthy",
            "Liveness probe failed: Get \"http://10.0.0.1:8080/healthz\": connection refused",
            40,
            "2024-05-01T10:09:00Z",
        );
        assert_eq!(
            slugs(vec![p.clone(), e.clone()]),
            ["pod.probe.liveness-killing"]
        );
        assert!(run("pod.probe.liveness-killing", vec![p]).is_empty());
        let no_probe = running(11, json!({"exitCode": 137, "reason": "Error"}), json!({}));
        assert!(run("pod.probe.liveness-killing", vec![no_probe, e]).is_empty());
    }

    #[test]
    fn readiness_failing_and_gates() {
        let spec =
            json!({"containers": [{"name": "app", "readinessProbe": {"tcpSocket": {"port": 80}}}]});
        let mut p = running(0, json!(null), spec);
        p["status"]["containerStatuses"][0]["ready"] = json!(false);
        let e = event(
            "p",
            "Unhealthy",
            "Readiness probe failed: dial tcp 10.0.0.1:80: connect: connection refused",
            7,
            "2024-05-01T10:01:00Z",
        );
        assert_eq!(
            run("pod.probe.readiness-failing", vec![p.clone(), e]).len(),
            1
        );
        assert!(
            run("pod.probe.readiness-failing", vec![p]).is_empty(),
            "just started, no failure recorded"
        );
        let g = pod(
            "g",
            json!({"readinessGates": [{"conditionType": "target-health.elbv2.k8s.aws/x"}]}),
            json!({"phase": "Running",
            "conditions": [{"type": "ContainersReady", "status": "True"}, {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady",
            "message": "corresponding condition of pod readiness gate \"target-health.elbv2.k8s.aws/x\" does not exist."}]}),
        );
        assert_eq!(run("pod.readiness-gate.not-ready", vec![g]).len(), 1);
        let ok = pod(
            "h",
            json!({"readinessGates": [{"conditionType": "x"}]}),
            json!({"phase": "Running",
            "conditions": [{"type": "ContainersReady", "status": "True"}, {"type": "Ready", "status": "True"}, {"type": "x", "status": "True"}]}),
        );
        assert!(run("pod.readiness-gate.not-ready", vec![ok]).is_empty());
    }
}
