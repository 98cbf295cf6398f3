//! Rollout verdicts: whether a Build's rollout failed, is still progressing, is being
//! verified, or held long enough to count as Succeeded. This module is the one place that
//! decides it; the webhook only feeds it what it reads and acts on the answer.
//!
//! The guarantee: **a Build is Succeeded only when the Deployment completed its rollout and
//! every new pod then stayed healthy for the verification window**. A real Deployment
//! controller counts a pod without a readiness probe as available the moment it runs, so
//! "rollout complete" alone would call a commit that crashes a second later a success.
//!
//! And the converse, **a failing rollout ends with its cause, not at a deadline**:
//! - at once, when a new pod crashes, restarts, cannot pull its image, cannot start its
//!   container, or fails as a whole (none of these heals by waiting);
//! - after the readiness grace, when every new pod stays unready or unschedulable, or the
//!   controller cannot create them (`ReplicaFailure`: quota, admission);
//! - at the Deployment's own `progressDeadlineSeconds`, naming the deadline and the cause.
//!
//! Decisions read pod status only; Events (which expire) only give the words (`words`).

pub mod policy;
pub mod progress;
pub mod signals;
mod words;

use std::time::{Duration, Instant};

use crate::BuildReason;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

pub use policy::{Defaults, Policy};
pub use progress::{Rollout, rollout_state};
pub use signals::{Trouble, pod_trouble};

/// What one look at a rollout concluded.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The controller is still rolling; the text says what is awaited.
    Progressing(String),
    /// The rollout completed; the new pods must stay healthy for `left` more.
    Verifying {
        left: Duration,
    },
    /// The new pods stayed healthy for the whole window.
    Succeeded,
    Failed(Failure),
}

/// What kind of failure ended a rollout (its name is the Build's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A new pod's container exited non-zero, was OOM-killed or restarted.
    Crashed,
    /// A new pod's container cannot start (image pull, configuration).
    CannotStart,
    /// A new pod failed as a whole (kubelet admission, eviction).
    PodFailed,
    /// Every new pod stayed unready past the grace period.
    NotReady,
    /// Every new pod stayed unschedulable past the grace period.
    Unschedulable,
    /// The controller could not create the new pods past the grace period.
    ReplicaFailure,
    /// The Deployment's progress deadline passed.
    ProgressDeadline,
    /// The webhook's own rollout timeout (`--rollout-timeout`) passed first.
    Timeout,
}

impl FailureKind {
    /// The Build's `reason` for this failure.
    pub fn reason(self) -> BuildReason {
        match self {
            Self::Crashed => BuildReason::RolloutCrashed,
            Self::CannotStart => BuildReason::RolloutCannotStart,
            Self::PodFailed => BuildReason::RolloutPodFailed,
            Self::NotReady => BuildReason::RolloutNotReady,
            Self::Unschedulable => BuildReason::RolloutUnschedulable,
            Self::ReplicaFailure => BuildReason::RolloutReplicaFailure,
            Self::ProgressDeadline => BuildReason::ProgressDeadlineExceeded,
            Self::Timeout => BuildReason::RolloutTimeout,
        }
    }
}

/// A failed rollout: what failed, on which pod, and the facts to word it from.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    /// The new pod the failure was read from, if a pod shows it.
    pub pod: Option<String>,
    /// That pod's trouble.
    pub trouble: Option<Trouble>,
    /// The controller's own message (progress deadline, replica failure).
    pub detail: Option<String>,
    /// Whether the verification window had begun (the rollout had completed once).
    pub after_complete: bool,
    /// The policy the rollout was judged by.
    pub policy: Policy,
}

impl Failure {
    /// The root cause in words, for the commit status and the Build's message: at most 140
    /// characters. `pods` are the new pods (for probe and image details), `events` their
    /// Events (for the probe's last answer), both optional.
    pub fn cause(&self, pods: &[Pod], events: &[k8s_openapi::api::core::v1::Event]) -> String {
        words::cause(self, pods, events)
    }

    /// The crash as a finding on its pod, with the status fields it rests on: the verdict
    /// fails at a new pod's first non-zero exit, before the kubelet's restart that makes the
    /// explain engine call it a crash loop. `None` for other failures (explain names those).
    pub fn crash_finding(&self, pods: &[Pod]) -> Option<crate::explain::Finding> {
        use crate::explain::{Evidence, Finding, ObjectRef, Severity};
        let Some(Trouble::Crashed {
            container,
            exit_code,
            reason,
            restarts,
            ..
        }) = &self.trouble
        else {
            return None;
        };
        let name = self.pod.clone()?;
        let pod = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(&name))?;
        let object = ObjectRef {
            kind: "Pod".into(),
            namespace: pod.metadata.namespace.clone(),
            name: name.clone(),
        };
        let at = format!("status.containerStatuses[name={container}]");
        let mut f = Finding::new(
            "pod.crash-loop",
            Severity::Error,
            object,
            self.cause(pods, &[]),
        );
        let who = format!("Pod/{name}");
        f.evidence = vec![
            Evidence::field(&who, format!("{at}.restartCount"), restarts),
            Evidence::field(&who, format!("{at}.state.terminated.exitCode"), exit_code),
            Evidence::field(&who, format!("{at}.state.terminated.reason"), reason),
            Evidence::note(
                "the rollout failed at this exit: under restartPolicy Always the kubelet restarts the container with a growing back-off",
            ),
        ];
        f.fix = vec![format!(
            "Read why it exits: kubectl logs {name} -c {container} --previous (or without --previous if it has not restarted yet)"
        )];
        Some(f)
    }
}

/// Judges one rollout over successive looks. It remembers only when states began (the
/// rollout completing, every new pod being unready), measured on the caller's clock, so the
/// kubelet's clock never matters.
#[derive(Debug, Clone)]
pub struct Judge {
    policy: Policy,
    complete_since: Option<Instant>,
    stuck_since: Option<Instant>,
    replica_failure_since: Option<Instant>,
    was_complete: bool,
}

impl Judge {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            complete_since: None,
            stuck_since: None,
            replica_failure_since: None,
            was_complete: false,
        }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Look at the rollout once, at `now`: `dep` as read now and its new pods (those of the
    /// rolled pod template).
    pub fn step(&mut self, now: Instant, dep: &Deployment, new_pods: &[Pod]) -> Step {
        let troubles: Vec<(String, Trouble)> = new_pods
            .iter()
            .filter_map(|p| {
                let name = p.name_any();
                pod_trouble(p).map(|t| (name, t))
            })
            .collect();
        if let Some((pod, t)) = troubles.iter().find(|(_, t)| t.is_immediate()) {
            let kind = match t {
                Trouble::Crashed { .. } | Trouble::Restarted { .. } => FailureKind::Crashed,
                Trouble::CannotStart { .. } => FailureKind::CannotStart,
                _ => FailureKind::PodFailed,
            };
            return Step::Failed(self.failure(kind, Some((pod, t)), None));
        }
        match rollout_state(dep) {
            Rollout::Failed { reason: _, message } => {
                let secs = progress::progress_deadline_secs(dep);
                let detail = format!("{secs}s: {message}");
                let first = troubles.first().map(|(p, t)| (p, t));
                Step::Failed(self.failure(FailureKind::ProgressDeadline, first, Some(detail)))
            }
            Rollout::Complete => {
                self.stuck_since = None;
                self.replica_failure_since = None;
                self.was_complete = true;
                let since = *self.complete_since.get_or_insert(now);
                let held = now.saturating_duration_since(since);
                if held >= self.policy.window {
                    Step::Succeeded
                } else {
                    Step::Verifying {
                        left: self.policy.window - held,
                    }
                }
            }
            Rollout::Waiting(what) => {
                // Not complete (any more): the window starts again once it is.
                self.complete_since = None;
                let stuck = !new_pods.is_empty() && troubles.len() == new_pods.len();
                if stuck {
                    let since = *self.stuck_since.get_or_insert(now);
                    if now.saturating_duration_since(since) >= self.policy.grace {
                        let (pod, t) = &troubles[0];
                        let kind = match t {
                            Trouble::Unschedulable { .. } => FailureKind::Unschedulable,
                            _ => FailureKind::NotReady,
                        };
                        return Step::Failed(self.failure(kind, Some((pod, t)), None));
                    }
                } else {
                    self.stuck_since = None;
                }
                match progress::replica_failure(dep) {
                    Some(message) => {
                        let since = *self.replica_failure_since.get_or_insert(now);
                        if now.saturating_duration_since(since) >= self.policy.grace {
                            return Step::Failed(self.failure(
                                FailureKind::ReplicaFailure,
                                None,
                                Some(message),
                            ));
                        }
                    }
                    None => self.replica_failure_since = None,
                }
                Step::Progressing(what)
            }
        }
    }

    /// The webhook's own timeout passed while the rollout was still `what`: the failure, with
    /// the worst trouble the new pods show, if any.
    pub fn timed_out(&self, timeout: Duration, what: &str, new_pods: &[Pod]) -> Failure {
        let trouble = new_pods
            .iter()
            .find_map(|p| pod_trouble(p).map(|t| (p.name_any(), t)));
        self.failure(
            FailureKind::Timeout,
            trouble.as_ref().map(|(p, t)| (p, t)),
            Some(format!(
                "after {}: {what}",
                crate::duration::format(timeout)
            )),
        )
    }

    fn failure(
        &self,
        kind: FailureKind,
        on: Option<(&String, &Trouble)>,
        detail: Option<String>,
    ) -> Failure {
        Failure {
            kind,
            pod: on.map(|(p, _)| p.clone()),
            trouble: on.map(|(_, t)| t.clone()),
            detail,
            after_complete: self.was_complete,
            policy: self.policy,
        }
    }
}

#[cfg(test)]
mod tests;
