//! The container-status view shared by the Pod rules, and helpers for building
//! Pod findings (evidence paths, events per container, kubectl commands).

use crate::explain::tree::Value;

use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Event, Index, Obj};
use crate::explain::value::{arr_at, bool_at, get, i64_at, str_at};

/// One entry of `status.containerStatuses` or `status.initContainerStatuses`.
#[derive(Debug, Clone, Copy)]
pub struct Cs<'a> {
    pub name: &'a str,
    pub init: bool,
    pub v: &'a Value,
}

impl<'a> Cs<'a> {
    /// `status.containerStatuses[name=app]` (or the init variant) + `.rest`.
    pub fn path(&self, rest: &str) -> String {
        let list = if self.init {
            "initContainerStatuses"
        } else {
            "containerStatuses"
        };
        format!("status.{list}[name={}].{rest}", self.name)
    }
    fn s(&self, p: &str) -> Option<&'a str> {
        str_at(self.v, p)
    }
    pub fn waiting_reason(&self) -> Option<&'a str> {
        self.s("state.waiting.reason")
    }
    pub fn waiting_message(&self) -> Option<&'a str> {
        self.s("state.waiting.message")
    }
    pub fn running(&self) -> bool {
        get(self.v, "state.running").is_some()
    }
    pub fn ready(&self) -> bool {
        bool_at(self.v, "ready").unwrap_or(false)
    }
    pub fn restarts(&self) -> i64 {
        i64_at(self.v, "restartCount").unwrap_or(0)
    }
    pub fn last_reason(&self) -> Option<&'a str> {
        self.s("lastState.terminated.reason")
    }
    pub fn last_exit(&self) -> Option<i64> {
        i64_at(self.v, "lastState.terminated.exitCode")
    }
    pub fn last_message(&self) -> Option<&'a str> {
        self.s("lastState.terminated.message")
    }
    pub fn term_reason(&self) -> Option<&'a str> {
        self.s("state.terminated.reason")
    }
    pub fn term_exit(&self) -> Option<i64> {
        i64_at(self.v, "state.terminated.exitCode")
    }
    pub fn term_message(&self) -> Option<&'a str> {
        self.s("state.terminated.message")
    }
    /// `init container "x"` or `container "x"`, for sentences.
    pub fn label(&self) -> String {
        if self.init {
            format!("init container {:?}", self.name)
        } else {
            format!("container {:?}", self.name)
        }
    }
    /// Evidence for a field of this status.
    pub fn ev(&self, pod: &Obj, rest: &str, value: impl ToString) -> Evidence {
        pod.field(self.path(rest), value)
    }
    /// Evidence for `state.waiting.reason` (+ message when present).
    pub fn waiting_evidence(&self, pod: &Obj) -> Vec<Evidence> {
        let mut out = Vec::new();
        if let Some(r) = self.waiting_reason() {
            out.push(self.ev(pod, "state.waiting.reason", r));
        }
        if let Some(m) = self.waiting_message().filter(|m| !m.is_empty()) {
            out.push(self.ev(pod, "state.waiting.message", m));
        }
        out
    }
    /// Evidence for the last termination (reason, exit code, message).
    pub fn last_evidence(&self, pod: &Obj) -> Vec<Evidence> {
        let mut out = Vec::new();
        if let Some(r) = self.last_reason() {
            out.push(self.ev(pod, "lastState.terminated.reason", r));
        }
        if let Some(c) = self.last_exit() {
            out.push(self.ev(pod, "lastState.terminated.exitCode", c));
        }
        if let Some(m) = self.last_message().filter(|m| !m.is_empty()) {
            out.push(self.ev(pod, "lastState.terminated.message", m.trim()));
        }
        out
    }
    /// The spec entry of this container.
    pub fn spec<'p>(&self, pod: &'p Obj) -> Option<&'p Value> {
        let list = if self.init {
            "spec.initContainers"
        } else {
            "spec.containers"
        };
        pod.arr(list)
            .iter()
            .find(|c| str_at(c, "name") == Some(self.name))
    }
}

/// Init container statuses first, then app containers.
pub fn statuses(pod: &Obj) -> Vec<Cs<'_>> {
    let mk = |list: &'static str, init: bool| {
        pod.arr(list).iter().map(move |v| Cs {
            name: str_at(v, "name").unwrap_or("?"),
            init,
            v,
        })
    };
    mk("status.initContainerStatuses", true)
        .chain(mk("status.containerStatuses", false))
        .collect()
}

/// Events about the pod with one of `reasons` that concern container `name` (events
/// with no container fieldPath count for every container), newest first.
pub fn container_events<'a>(
    ix: &'a Index,
    pod: &Obj,
    cs: &Cs<'_>,
    reasons: &[&str],
) -> Vec<&'a Event> {
    let mut ev: Vec<&Event> = ix
        .events_with(pod, reasons)
        .into_iter()
        .filter(|e| {
            e.field_path.as_deref().is_none_or(|fp| {
                let open = fp.find('{');
                open.is_none_or(|i| fp[i + 1..].trim_end_matches('}') == cs.name)
            })
        })
        .collect();
    ev.reverse();
    ev
}

/// The pod's restart policy (default `Always`).
pub fn restart_policy(pod: &Obj) -> &str {
    pod.str("spec.restartPolicy").unwrap_or("Always")
}

/// `status.phase`.
pub fn phase(pod: &Obj) -> &str {
    pod.str("status.phase").unwrap_or("")
}

/// A pod finding with the summary, severity and the `describe` step every pod fix starts with.
pub fn finding(slug: &str, severity: Severity, pod: &Obj, summary: String) -> Finding {
    Finding::new(slug, severity, pod.object_ref(), summary)
}

/// `kubectl describe pod NAME -n NS`.
pub fn describe(pod: &Obj) -> String {
    format!(
        "Inspect the pod and its events: kubectl describe pod {}{}",
        pod.name,
        pod.ns_flag()
    )
}

/// `kubectl logs NAME -c C --previous -n NS`.
pub fn logs_previous(pod: &Obj, cs: &Cs<'_>) -> String {
    format!(
        "Read the output of the crashed run: kubectl logs {} -c {} --previous{}",
        pod.name,
        cs.name,
        pod.ns_flag()
    )
}

/// Evidence for each event (newest first, at most three).
pub fn events_evidence(events: &[&Event]) -> Vec<Evidence> {
    events.iter().take(3).map(|e| e.evidence()).collect()
}

/// Whether any item of `list` at `path` is present.
pub fn has(v: &Value, path: &str) -> bool {
    !arr_at(v, path).is_empty()
}

/// The meaning of a container exit code, for summaries.
pub fn exit_meaning(code: i64) -> &'static str {
    match code {
        0 => "success",
        1 => "application error",
        2 => "misuse of a shell builtin or bad arguments",
        126 => "command not executable",
        127 => "command not found",
        128 => "invalid exit argument",
        134 => "aborted (SIGABRT)",
        137 => "killed (SIGKILL)",
        139 => "segmentation fault (SIGSEGV)",
        143 => "terminated (SIGTERM)",
        _ => "error",
    }
}

/// `1 restart`, `6 restarts`.
pub fn restarts(n: i64) -> String {
    if n == 1 {
        "1 restart".to_string()
    } else {
        format!("{n} restarts")
    }
}

/// Teaching text shared by the Pod rules (shown with `--learn`); rules without an
/// entry here get the catalogue's explanation.
pub mod learn {
    pub const CRASH_LOOP: &str = "A container's exit code says how it ended: 0 = it finished, 1 (or another small number) = the program reported an error, 126/127 = the command could not be run or found, 137 = it was killed with SIGKILL (memory limit, failed liveness probe or an outside kill), 139 = it crashed (segmentation fault), 143 = it was asked to stop (SIGTERM). After each crash the kubelet waits longer before restarting it (10s, 20s, 40s ... up to 5 minutes): that wait is CrashLoopBackOff. `kubectl logs --previous` shows the output of the run that crashed.";
    pub const OOM: &str = "resources.limits.memory is a hard ceiling enforced by the Linux kernel: when the container's processes together use more, the kernel kills one (OOMKilled, exit 137). resources.requests.memory is only what the scheduler reserves on the node. Without a limit, the container can still be killed when the whole node runs out of memory.";
    pub const IMAGE_PULL: &str = "Before a container starts, the node's runtime downloads its image from a registry: it resolves the registry host, connects over TLS, authenticates (with the pod's imagePullSecrets or the ServiceAccount's), then fetches the manifest for the tag. A failure at any of those steps shows as ErrImagePull; retries then wait with ImagePullBackOff, and only the first error message says which step failed.";
    pub const UNSCHEDULABLE: &str = "The scheduler checks every node against the pod and reports why each was rejected: \"0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint\" means 3 nodes lacked CPU and 2 were tainted; the counts add up to the number of nodes. The pod stays Pending and is retried whenever the cluster changes.";
    pub const PROBES: &str = "Kubernetes runs three kinds of health checks: a startupProbe gives a slow app time to boot, a livenessProbe restarts the container when it fails repeatedly, and a readinessProbe only takes the pod out of Service traffic while it fails. A liveness probe that checks something the app cannot answer yet (or a dependency) restarts healthy containers.";
    pub const INIT: &str = "Init containers run one after another before the app containers, and each must exit 0. If one fails, the kubelet retries it (with back-off) and the app containers stay in PodInitializing. They are usually used to wait for a dependency or prepare files.";
}

/// A pod no Pod rule can fire on: Running (or Succeeded), not being deleted, Ready,
/// every container running and ready (or finished with 0) with no restart and no
/// recorded termination, every init container finished with 0. The engine skips the
/// Pod rules for such pods, which are the vast majority of a dump.
pub fn quiet(pod: &Obj) -> bool {
    let phase = phase(pod);
    if !(phase == "Running" || phase == "Succeeded")
        || pod.get("metadata.deletionTimestamp").is_some()
    {
        return false;
    }
    if phase == "Running"
        && pod.condition("Ready").and_then(|c| str_at(c, "status")) != Some("True")
    {
        return false;
    }
    let all = statuses(pod);
    !all.is_empty()
        && all.iter().all(|c| {
            let done = c.term_exit() == Some(0);
            let up = !c.init && c.running() && c.ready();
            (done || up) && c.restarts() == 0 && get(c.v, "lastState.terminated").is_none()
        })
}
