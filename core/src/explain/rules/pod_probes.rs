//! Pod rules for health checks: liveness/startup probes that kill containers,
//! readiness probes that keep pods out of Services, and readiness gates.

use super::pod::{
    Cs, container_events, describe, events_evidence, finding, learn, logs_previous, restarts,
    statuses,
};
use super::{Age, Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::tree::Value;
use crate::explain::value::str_at;

pub const RULES: &[Rule] = &[
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

fn has_probe(cs: &Cs<'_>, pod: &Obj, kinds: &[&str]) -> bool {
    cs.spec(pod)
        .is_some_and(|s| kinds.iter().any(|k| s.get(k).is_some()))
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
        let stated = restarted && !unhealthy.is_empty() || !killing.is_empty();
        // Without Events (they expire after an hour): a signal exit (137 SIGKILL, 143
        // SIGTERM) that is not OOMKilled, a liveness probe, repeated restarts.
        let signal = [
            ("lastState.terminated", cs.last_exit(), cs.last_reason()),
            ("state.terminated", cs.term_exit(), cs.term_reason()),
        ]
        .into_iter()
        .find(|(_, code, reason)| {
            matches!(code, Some(137 | 143)) && matches!(reason, None | Some("Error" | "Completed"))
        });
        let inferred = !stated
            && cs.restarts() >= 2
            && signal.is_some()
            && has_probe(&cs, pod, &["livenessProbe"]);
        if !(stated || inferred) {
            continue;
        }
        let probe = cs
            .spec(pod)
            .and_then(|s| s.get("livenessProbe").or_else(|| s.get("startupProbe")));
        let how = probe.map(probe_how).unwrap_or_default();
        let summary = if inferred {
            format!(
                "container {} is likely killed by its liveness probe ({how}): exit {} and {}, no Events left to confirm",
                cs.name,
                signal.and_then(|s| s.1).unwrap_or_default(),
                restarts(cs.restarts())
            )
        } else {
            format!(
                "liveness/startup probe ({how}) keeps failing, so container {} is killed and restarted ({})",
                cs.name,
                restarts(cs.restarts())
            )
        };
        let mut f = finding("pod.probe.liveness-killing", Severity::Error, pod, summary)
            .evidence_all(events_evidence(&unhealthy))
            .evidence_all(events_evidence(&killing))
            .evidence_all(cs.last_evidence(pod));
        if let Some(p) = probe {
            f = probe_evidence(f, pod, &cs, p);
        }
        if let (true, Some(signal)) = (inferred, signal) {
            f = inferred_from(f, pod, &cs, signal);
        }
        return vec![
            f.learn(learn::PROBES)
        .fix(logs_previous(pod, &cs))
                .fix("Check that the probe's port and path answer inside the container; if the app is just slow to start, add a startupProbe or raise initialDelaySeconds/failureThreshold.")
                .fix(describe(pod)),
        ];
    }
    Vec::new()
}

/// How a probe checks: `HTTP GET /healthz on port 8080`, `TCP connect`, `exec command`.
fn probe_how(p: &Value) -> String {
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
}

/// The probe as evidence, with the time the container has to answer it.
fn probe_evidence(f: Finding, pod: &Obj, cs: &Cs<'_>, p: &Value) -> Finding {
    let list = if cs.init {
        "initContainers"
    } else {
        "containers"
    };
    // Defaults: periodSeconds 10, failureThreshold 3, initialDelaySeconds 0.
    let n = |k: &str, d: i64| p.get(k).and_then(|v| v.as_i64()).unwrap_or(d);
    let budget = n("initialDelaySeconds", 0) + n("failureThreshold", 3) * n("periodSeconds", 10);
    f.evidence(pod.field(format!("spec.{list}[name={}].livenessProbe", cs.name), p))
        .evidence(Evidence::note(format!(
            "The container must answer the probe within about {budget}s of starting (initialDelaySeconds + failureThreshold x periodSeconds) or it is killed."
        )))
}

/// A probe kill inferred without Events: `likely`, and the facts it rests on.
fn inferred_from(
    mut f: Finding,
    pod: &Obj,
    cs: &Cs<'_>,
    (at, code, reason): (&str, Option<i64>, Option<&str>),
) -> Finding {
    if at == "state.terminated" {
        f = f
            .evidence(cs.ev(pod, "state.terminated.exitCode", code.unwrap_or_default()))
            .evidence(cs.ev(pod, "state.terminated.reason", reason.unwrap_or("?")));
    }
    f.likely(&[
        format!(
            "{}.{at}.exitCode = {} (killed by a signal)",
            cs.name,
            code.unwrap_or_default()
        ),
        format!(
            "{}.{at}.reason = {} (not OOMKilled)",
            cs.name,
            reason.unwrap_or("(none)")
        ),
        format!("spec.containers[name={}].livenessProbe is set", cs.name),
        format!("restartCount = {}", cs.restarts()),
        "no Unhealthy or Killing Event is in the input (they expire after an hour)".to_string(),
    ])
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
        // Not ready for five minutes, or for a time the input cannot establish.
        let age = ctx.age_of(started);
        let long = match age {
            Age::Known(d) => d.num_seconds() > 300,
            Age::Unknown => true,
        };
        if unhealthy.is_empty() && !long {
            continue;
        }
        let probe = cs.spec(pod).and_then(|s| s.get("readinessProbe"));
        let not_ready = pod.condition("Ready").and_then(|c| str_at(c, "status")) == Some("False");
        // Failures the kubelet recorded make the cause certain: an error. A pod merely
        // not ready for a long time without a recorded failure stays a warning.
        let severity = if !unhealthy.is_empty() && not_ready {
            Severity::Error
        } else {
            Severity::Warning
        };
        let what = unhealthy
            .first()
            .map(|e| probe_outcome(&e.message))
            .unwrap_or_else(|| "never passes".to_string());
        let mut f = finding(
            "pod.probe.readiness-failing",
            severity,
            pod,
            format!(
                "readiness probe {} {what} (container {}{}): the pod gets no Service traffic",
                probe.map(probe_target).unwrap_or_default(),
                cs.name,
                probe
                    .and_then(|p| p.pointer("/httpGet/port"))
                    .map(|v| format!(
                        ", port {}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_string)
                    ))
                    .unwrap_or_default()
            )
            .replace("  ", " "),
        )
        .evidence(cs.ev(pod, "ready", false))
        .evidence_all(events_evidence(&unhealthy));
        if unhealthy.is_empty() && age == Age::Unknown {
            f = f.evidence(Evidence::note(
                "how long the container has been running could not be established (nothing in the input is later than its start), so it is not treated as just started",
            ));
        }
        if let Some(p) = probe {
            f = f.evidence(pod.field(
                format!("spec.containers[name={}].readinessProbe", cs.name),
                p,
            ));
        }
        return vec![
            f.learn(learn::PROBES)
        .fix(format!("Read the app's logs: kubectl logs {} -c {}{}", pod.name, cs.name, pod.ns_flag()))
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

/// What a probe checks, for sentences: `GET /healthz`, `TCP port 5432`,
/// `exec cat /tmp/ready`, `gRPC port 9090`.
pub fn probe_target(p: &crate::explain::tree::Value) -> String {
    let port = |k: &str| {
        p.pointer(&format!("/{k}/port"))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .unwrap_or_default()
    };
    if p.get("httpGet").is_some() {
        format!("GET {}", str_at(p, "httpGet.path").unwrap_or("/"))
    } else if p.get("tcpSocket").is_some() {
        format!("TCP port {}", port("tcpSocket"))
    } else if p.get("grpc").is_some() {
        format!("gRPC port {}", port("grpc"))
    } else if let Some(cmd) = p.pointer("/exec/command").and_then(|c| c.as_array()) {
        let words: Vec<&str> = cmd.iter().filter_map(|w| w.as_str()).collect();
        let text = words.join(" ");
        let text: String = text.chars().take(40).collect();
        format!("exec {text}")
    } else {
        String::new()
    }
}

/// How a probe failed, from the kubelet's `Unhealthy` message: `answers 404`,
/// `is refused (connection refused)`, `times out`, `fails`.
pub fn probe_outcome(message: &str) -> String {
    if let Some(c) = re!(r"statuscode: (\d+)").captures(message) {
        format!("answers {}", &c[1])
    } else if message.contains("connection refused") {
        "is refused (nothing listens on the port)".to_string()
    } else if re!(r"context deadline exceeded|Client\.Timeout|i/o timeout|timed out|timeout:")
        .is_match(message)
    {
        "times out".to_string()
    } else if message.contains("no route to host") {
        "cannot reach the pod (no route to host)".to_string()
    } else {
        "fails".to_string()
    }
}

#[cfg(test)]
mod tests;
