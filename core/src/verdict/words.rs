//! A failed rollout's root cause in one sentence of at most 140 characters (GitHub's limit
//! for a commit status), e.g. "crash loop: container app exits with code 3 about 1 s after
//! start (restarted 3 times)" or "readiness probe GET /healthz answers 404 on every new pod".
//! Events only sharpen the words (the probe's last answer); the decision never rests on them.

use k8s_openapi::api::core::v1::{Container, Event, Pod, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Failure, FailureKind, Trouble};

/// GitHub's limit for a commit status description.
pub const MAX: usize = 140;

pub fn cause(f: &Failure, pods: &[Pod], events: &[Event]) -> String {
    let pod = f
        .pod
        .as_deref()
        .and_then(|n| pods.iter().find(|p| p.metadata.name.as_deref() == Some(n)));
    let text = match (&f.kind, &f.trouble) {
        (FailureKind::ProgressDeadline, t) => {
            // "600s: ReplicaSet "web-7d9f" has timed out progressing."
            let detail = f.detail.as_deref().unwrap_or_default();
            let (secs, message) = detail.split_once(": ").unwrap_or((detail, ""));
            let inner = t
                .as_ref()
                .map(|t| trouble_words(f, t, pod, pods, events))
                .unwrap_or_else(|| message.to_string());
            format!("rollout passed its progress deadline ({secs}): {inner}")
        }
        (FailureKind::Timeout, t) => {
            // "after 60s: 1 of 1 updated, …": with a cause, the counts give way to it.
            let what = f.detail.as_deref().unwrap_or_default();
            match t {
                Some(t) => format!(
                    "rollout not complete {}: {}",
                    what.split_once(": ").map_or(what, |(when, _)| when),
                    trouble_words(f, t, pod, pods, events)
                ),
                None => format!("rollout not complete {what}"),
            }
        }
        (FailureKind::ReplicaFailure, _) => format!(
            "new pods cannot be created: {}",
            f.detail
                .as_deref()
                .unwrap_or("the controller reports ReplicaFailure")
        ),
        (_, Some(t)) => trouble_words(f, t, pod, pods, events),
        (kind, None) => format!("rollout failed ({})", kind.reason()),
    };
    clip(&text)
}

fn trouble_words(
    f: &Failure,
    t: &Trouble,
    pod: Option<&Pod>,
    pods: &[Pod],
    events: &[Event],
) -> String {
    match t {
        Trouble::Crashed {
            container,
            exit_code,
            reason,
            restarts,
            ran_for,
        } => {
            let crash = Crash {
                container,
                exit_code: *exit_code,
                reason,
                restarts: *restarts,
                ran_for: *ran_for,
            };
            crashed_words(&crash, pod, events)
        }
        Trouble::Restarted {
            container,
            restarts,
        } => {
            let spec = pod.and_then(|p| container_spec(p, container));
            match liveness_words(pod, container, spec, events) {
                Some(live) => format!(
                    "{live}; container {container} restarted{}",
                    restarted(*restarts)
                ),
                None => format!(
                    "container {container} keeps restarting{}",
                    restarted(*restarts)
                ),
            }
        }
        Trouble::CannotStart {
            container,
            reason,
            message,
        } => {
            let image = pod
                .and_then(|p| container_spec(p, container))
                .and_then(|c| c.image.clone())
                .unwrap_or_else(|| "its image".into());
            if reason.contains("Image") {
                pull_words(&image, message)
            } else {
                format!("container {container} cannot start ({reason}): {message}")
            }
        }
        Trouble::PodFailed { reason, message } => {
            format!("a new pod failed ({reason}): {message}")
        }
        Trouble::Unschedulable { message } => {
            format!("new pods cannot be scheduled: {message}")
        }
        Trouble::NotReady => readiness_words(f, pods, events),
    }
}

/// The facts of `Trouble::Crashed`.
struct Crash<'a> {
    container: &'a str,
    exit_code: i32,
    reason: &'a str,
    restarts: i32,
    ran_for: Option<std::time::Duration>,
}

/// A container that exited: OOM-killed, killed by its liveness probe, or crashing by itself.
fn crashed_words(crash: &Crash<'_>, pod: Option<&Pod>, events: &[Event]) -> String {
    let &Crash {
        container,
        exit_code,
        reason,
        restarts,
        ran_for,
    } = crash;
    let spec = pod.and_then(|p| container_spec(p, container));
    if reason == "OOMKilled" {
        let limit = spec
            .and_then(|c| {
                c.resources
                    .as_ref()?
                    .limits
                    .as_ref()?
                    .get("memory")
                    .cloned()
            })
            .map(|q| format!(" at its memory limit {}", q.0))
            .unwrap_or_default();
        return format!(
            "container {container} was OOM-killed{limit}{}",
            restarted(restarts)
        );
    }
    if let Some(live) = liveness_words(pod, container, spec, events) {
        return format!(
            "{live}; container {container} restarted{}",
            restarted(restarts)
        );
    }
    let lead = if restarts > 0 {
        "crash loop: "
    } else {
        "crash: "
    };
    let after = ran_for
        .map(|d| format!(" about {} s after start", d.as_secs().max(1)))
        .unwrap_or_default();
    let probe_kill =
        (exit_code == 137 || exit_code == 143) && spec.is_some_and(|c| c.liveness_probe.is_some());
    let hint = if probe_kill {
        ", most likely killed by its liveness probe"
    } else {
        ""
    };
    format!(
        "{lead}container {container} exits with code {exit_code}{after}{hint}{}",
        restarted(restarts)
    )
}

/// ` (restarted N times)`, or nothing when it never restarted.
fn restarted(n: i32) -> String {
    match n {
        0 => String::new(),
        1 => " (restarted once)".to_string(),
        n => format!(" (restarted {n} times)"),
    }
}

/// An image pull failure in words, for every runtime's wording of the same facts
/// (containerd 2.x "failed to resolve image: …: not found", 1.x "failed to resolve reference",
/// a registry's "manifest unknown"; "no basic auth credentials", "unauthorized", …).
fn pull_words(image: &str, message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if m.contains("not found") || m.contains("manifest unknown") {
        format!("image {image} was not found in its registry")
    } else if [
        "unauthorized",
        "no basic auth credentials",
        "access denied",
        "authorization failed",
        "forbidden",
    ]
    .iter()
    .any(|w| m.contains(w))
    {
        format!("the node may not pull image {image}: the registry refused its credentials")
    } else if message.is_empty() {
        format!("image {image} cannot be pulled")
    } else {
        format!("image {image} cannot be pulled: {message}")
    }
}

fn container_spec<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
}

/// "GET /healthz", "TCP port 8080", "exec `cat /ready`", "gRPC port 9000".
fn probe_words(p: &Probe) -> String {
    let port = |p: &IntOrString| match p {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    };
    if let Some(h) = &p.http_get {
        format!("GET {}", h.path.as_deref().unwrap_or("/"))
    } else if let Some(t) = &p.tcp_socket {
        format!("TCP port {}", port(&t.port))
    } else if let Some(g) = &p.grpc {
        format!("gRPC port {}", g.port)
    } else if let Some(e) = &p.exec {
        format!(
            "exec `{}`",
            e.command
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        )
    } else {
        "probe".into()
    }
}

/// The newest `Unhealthy` message of `pod` that starts with `prefix` ("Readiness probe failed").
fn last_probe_message<'a>(pod: &str, prefix: &str, events: &'a [Event]) -> Option<&'a str> {
    events
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(pod))
        .filter(|e| e.reason.as_deref() == Some("Unhealthy"))
        .filter_map(|e| {
            let m = e.message.as_deref()?;
            let when = e
                .last_timestamp
                .as_ref()
                .map(|t| t.0)
                .or_else(|| e.event_time.as_ref().map(|t| t.0))
                .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0));
            m.starts_with(prefix).then_some((when, m))
        })
        .max_by_key(|(when, _)| *when)
        .map(|(_, m)| m)
}

/// The HTTP status in a kubelet probe message ("HTTP probe failed with statuscode: 404").
fn status_code(message: &str) -> Option<&str> {
    let rest = message.split("statuscode: ").nth(1)?;
    let code = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    (!code.is_empty()).then_some(code)
}

/// What the failing probe answered, in words: "answers 404" or the kubelet's message.
fn probe_answer(message: &str, prefix: &str) -> String {
    match status_code(message) {
        Some(code) => format!("answers {code}"),
        None => format!(
            "fails: {}",
            message
                .trim_start_matches(prefix)
                .trim_start_matches(':')
                .trim()
        ),
    }
}

fn liveness_words(
    pod: Option<&Pod>,
    _container: &str,
    spec: Option<&Container>,
    events: &[Event],
) -> Option<String> {
    let pod = pod?.metadata.name.as_deref()?;
    let probe = spec?.liveness_probe.as_ref()?;
    let prefix = "Liveness probe failed";
    let m = last_probe_message(pod, prefix, events)?;
    Some(format!(
        "liveness probe {} {}",
        probe_words(probe),
        probe_answer(m, prefix)
    ))
}

fn readiness_words(f: &Failure, pods: &[Pod], events: &[Event]) -> String {
    let grace = crate::duration::format(f.policy.grace);
    let probe = pods.iter().find_map(|p| {
        p.spec
            .as_ref()?
            .containers
            .iter()
            .find_map(|c| c.readiness_probe.as_ref())
    });
    let Some(probe) = probe else {
        return format!("new pods did not become ready within {grace}");
    };
    let prefix = "Readiness probe failed";
    let answers: Vec<String> = pods
        .iter()
        .filter_map(|p| last_probe_message(p.metadata.name.as_deref()?, prefix, events))
        .map(|m| probe_answer(m, prefix))
        .collect();
    let what = probe_words(probe);
    match answers.first() {
        Some(a) if answers.iter().all(|x| x == a) && answers.len() == pods.len() => {
            format!("readiness probe {what} {a} on every new pod")
        }
        Some(a) => format!("readiness probe {what} {a}; no new pod became ready within {grace}"),
        None => format!("readiness probe {what} has not passed on any new pod within {grace}"),
    }
}

/// At most `MAX` characters, cut at a character boundary with an ellipsis.
fn clip(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() <= MAX {
        return line.to_string();
    }
    let mut s: String = line.chars().take(MAX - 1).collect();
    s.push('…');
    s
}
