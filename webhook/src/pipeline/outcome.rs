//! A run's result, in words, once: the Build's terminal status (`next_step`, an `Outcome`,
//! written by `Outcome::write`), the commit's last GitHub status (`final_status`) and the
//! Binding's status patch (`binding_patch`). Pure: the worker and the reporter do the writing.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use mosaic_core::BuildReason;
use mosaic_core::explain::Finding;
use mosaic_core::resources::{Build, BuildPhase, BuildStatus};

use super::{Deployed, Stop, plan};
use crate::cluster::claim::ClaimError;
use crate::cluster::retry::api_budget;
use crate::pipeline::ports::CommitState;

/// What a finished run writes on its Build.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub(crate) phase: BuildPhase,
    pub(crate) reason: BuildReason,
    pub(crate) message: String,
    pub(crate) findings: Vec<Finding>,
    pub(crate) rolled_back: bool,
}

impl Outcome {
    /// Write this outcome on a Build's status, finished at `now`.
    pub fn write(&self, s: &mut BuildStatus, now: Time) {
        s.phase = self.phase;
        s.reason = Some(self.reason.to_string());
        s.message = Some(self.message.clone());
        s.findings = self.findings.clone();
        s.rolled_back = self.rolled_back;
        s.phase_times.finished = Some(now);
    }
}

/// What the worker does with a run's result.
#[derive(Debug)]
pub enum Next {
    /// Write this terminal status.
    Record(Outcome),
    /// Another worker owns the Build: touch nothing.
    Leave(ClaimError),
    /// Shutting down: give the Build back.
    Release,
}

/// The terminal status a run's result calls for; failed status reports are noted in the
/// message. A run stopped by an unreachable API server ends Failed, and is not run again.
pub fn next_step(result: Result<Deployed, Stop>, report_errors: &[String], commit: &str) -> Next {
    let note = if report_errors.is_empty() {
        String::new()
    } else {
        format!(
            " (GitHub status report failed: {})",
            report_errors.join("; ")
        )
    };
    let outcome = |phase, reason: BuildReason, message: String| Outcome {
        phase,
        reason,
        message: format!("{message}{note}"),
        findings: vec![],
        rolled_back: false,
    };
    Next::Record(match result {
        Ok(d) => {
            let mut text = format!("deployed {}", d.image);
            if let Some(t) = &d.took_over {
                text = format!("{text}; {t}");
            }
            if !d.retried.is_empty() {
                text = format!("{text} (retried after: {})", d.retried.join("; "));
            }
            outcome(BuildPhase::Succeeded, BuildReason::Deployed, text)
        }
        Err(Stop::Superseded { build: newer, .. }) => outcome(
            BuildPhase::Superseded,
            BuildReason::Superseded,
            format!("a newer push ({newer}) wins"),
        ),
        Err(Stop::Decided {
            phase,
            reason,
            message,
        }) => outcome(phase, reason, message),
        Err(Stop::Failed {
            reason,
            message,
            findings,
            rolled_back,
        }) => Outcome {
            findings,
            rolled_back,
            ..outcome(BuildPhase::Failed, reason, message)
        },
        Err(Stop::ApiUnavailable(e)) => outcome(
            BuildPhase::Failed,
            BuildReason::ClusterUnreachable,
            format!(
                "stopped: the Kubernetes API server was unreachable for more than {}s while \
                 recording progress ({e}); not rebuilt, so that no build runs twice: push again \
                 or run `kubectl mosaic deploy --ref {commit}`",
                api_budget().as_secs()
            ),
        ),
        Err(Stop::Lost(e)) => return Next::Leave(e),
        Err(Stop::Cancelled) => return Next::Release,
    })
}

/// The last status of a commit, if the run's outcome calls for one. A superseded commit is
/// not deployed, so it is an `error` (not a `failure` of the commit, and not a `success`).
pub fn final_status(result: &Result<Deployed, Stop>) -> Option<(CommitState, String)> {
    match result {
        Ok(d) => Some((CommitState::Success, format!("deployed {}", d.image))),
        Err(Stop::Failed { message, .. }) => Some((CommitState::Failure, message.clone())),
        Err(Stop::Superseded { commit, .. }) => Some((
            CommitState::Error,
            format!("not deployed: superseded by {}", plan::short_sha(commit)),
        )),
        Err(Stop::Decided { message, .. }) => {
            Some((CommitState::Error, format!("not deployed: {message}")))
        }
        Err(Stop::ApiUnavailable(_)) => Some((
            CommitState::Error,
            "not deployed: the Kubernetes API was unreachable".into(),
        )),
        Err(Stop::Cancelled | Stop::Lost(_)) => None,
    }
}

fn ready_condition(
    ok: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    Condition {
        type_: "Ready".into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.chars().take(1000).collect(),
        last_transition_time: now.clone(),
        observed_generation: generation,
    }
}

/// The status patch for `build`'s Binding after `outcome`: `lastBuild`, for a deployment
/// `lastCommit` and `lastImage`, and the Ready condition.
pub fn binding_patch(
    build: &Build,
    outcome: &Outcome,
    generation: Option<i64>,
    now: &Time,
) -> serde_json::Value {
    let name = build.name_any();
    let mut status = serde_json::json!({ "lastBuild": name });
    if outcome.phase == BuildPhase::Succeeded {
        status["lastCommit"] = build.spec.commit.clone().into();
        status["lastImage"] = build.status.as_ref().and_then(|s| s.image.clone()).into();
        status["conditions"] = serde_json::json!([ready_condition(
            true,
            "Deployed",
            &outcome.message,
            generation,
            now
        )]);
    } else {
        let why = if outcome.rolled_back {
            format!("{}; rolled back", outcome.message)
        } else {
            outcome.message.clone()
        };
        status["conditions"] = serde_json::json!([ready_condition(
            false,
            outcome.reason.as_str(),
            &why,
            generation,
            now
        )]);
    }
    serde_json::json!({ "status": status })
}

#[cfg(test)]
mod tests;
