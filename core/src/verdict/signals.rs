//! What the new pods of a rollout say about it, read from pod status alone (never from Events,
//! which expire and may be missing). The facts are those a current kubelet writes
//! (`shared/notes/real-cluster.md`): since kubelet 1.35 a crash-looping container spends most
//! of each back-off in `state.terminated`, not in `waiting: CrashLoopBackOff`, so a crash is
//! read from exit codes and restart counts, whatever the current state.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// Why one container or pod of the new revision is in trouble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// A container exited with a non-zero code or was OOM-killed. With restarts, a crash loop.
    Crashed {
        container: String,
        exit_code: i32,
        /// `Error`, `OOMKilled`, …
        reason: String,
        restarts: i32,
        /// How long the container ran before it exited, when the kubelet recorded both times.
        ran_for: Option<Duration>,
    },
    /// A container was restarted without a non-zero exit on record (an app that exits 0 under
    /// `restartPolicy: Always`, or a restart whose termination the kubelet no longer shows).
    Restarted { container: String, restarts: i32 },
    /// A container cannot start: its image cannot be pulled, or its configuration is invalid.
    CannotStart {
        container: String,
        reason: String,
        message: String,
    },
    /// The pod failed as a whole (kubelet admission refused it, it was evicted, …).
    PodFailed { reason: String, message: String },
    /// Every container runs, but the pod is not Ready.
    NotReady,
    /// The scheduler cannot place the pod.
    Unschedulable { message: String },
}

impl Trouble {
    /// Does this end a rollout at once, without waiting for a grace period? Crashes, restarts,
    /// image and configuration errors and failed pods do not heal by waiting; readiness and
    /// scheduling can (a slow start, an autoscaler adding a node).
    pub fn is_immediate(&self) -> bool {
        !matches!(self, Trouble::NotReady | Trouble::Unschedulable { .. })
    }
}

/// Waiting reasons that mean a container cannot start (the kubelet's own, stable names).
const CANNOT_START: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "PreStartHookError",
    "PostStartHookError",
];

/// The worst trouble of one pod, if any: an immediate one before readiness or scheduling.
pub fn pod_trouble(pod: &Pod) -> Option<Trouble> {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref()?;
    let restarts_matter = spec
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
        == "Always";
    if status.phase.as_deref() == Some("Failed") {
        return Some(Trouble::PodFailed {
            reason: status.reason.clone().unwrap_or_else(|| "Failed".into()),
            message: status.message.clone().unwrap_or_default(),
        });
    }
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for c in containers {
        if let Some(t) = container_trouble(c, restarts_matter) {
            return Some(t);
        }
    }
    let condition = |kind: &str| status.conditions.iter().flatten().find(|c| c.type_ == kind);
    if let Some(c) = condition("PodScheduled")
        && c.status == "False"
        && c.reason.as_deref() == Some("Unschedulable")
    {
        return Some(Trouble::Unschedulable {
            message: c.message.clone().unwrap_or_default(),
        });
    }
    let running = status.phase.as_deref() == Some("Running")
        && status
            .container_statuses
            .iter()
            .flatten()
            .all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
    let ready = condition("Ready").is_some_and(|c| c.status == "True");
    (running && !ready).then_some(Trouble::NotReady)
}

fn container_trouble(c: &ContainerStatus, restarts_matter: bool) -> Option<Trouble> {
    let state = c.state.as_ref();
    if let Some(w) = state.and_then(|s| s.waiting.as_ref())
        && let Some(reason) = w.reason.as_deref()
        && CANNOT_START.contains(&reason)
    {
        return Some(Trouble::CannotStart {
            container: c.name.clone(),
            reason: reason.to_string(),
            message: w.message.clone().unwrap_or_default(),
        });
    }
    // The current termination first, then the last one: either shows the crash.
    let terminated = state
        .and_then(|s| s.terminated.as_ref())
        .filter(|t| t.exit_code != 0 || t.reason.as_deref() == Some("OOMKilled"))
        .or_else(|| {
            c.last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .filter(|t| t.exit_code != 0 || t.reason.as_deref() == Some("OOMKilled"))
        });
    if let Some(t) = terminated
        && (restarts_matter || c.restart_count > 0 || state.is_some_and(|s| s.terminated.is_some()))
    {
        let ran_for = match (&t.started_at, &t.finished_at) {
            (Some(s), Some(f)) => {
                let secs = f.0.as_millisecond() - s.0.as_millisecond();
                u64::try_from(secs).ok().map(Duration::from_millis)
            }
            _ => None,
        };
        return Some(Trouble::Crashed {
            container: c.name.clone(),
            exit_code: t.exit_code,
            reason: t.reason.clone().unwrap_or_else(|| "Error".into()),
            restarts: c.restart_count,
            ran_for,
        });
    }
    if restarts_matter && c.restart_count > 0 {
        return Some(Trouble::Restarted {
            container: c.name.clone(),
            restarts: c.restart_count,
        });
    }
    None
}
