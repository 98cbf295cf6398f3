//! Commit statuses: reporting never fails a Build (errors are collected for its final
//! message), and the final status says what happened to the commit.

use crate::github::StatusState;
use crate::metrics::Metrics;
use crate::plan;

use super::ports::SourceHost;
use super::{Deployed, Job, Stop};

/// Posts the statuses of one commit.
pub struct Reporter<'a> {
    source: &'a dyn SourceHost,
    metrics: &'a Metrics,
    job: &'a Job,
    /// Reports that failed, for the Build's message.
    pub errors: Vec<String>,
}

impl<'a> Reporter<'a> {
    pub fn new(source: &'a dyn SourceHost, metrics: &'a Metrics, job: &'a Job) -> Self {
        Self {
            source,
            metrics,
            job,
            errors: Vec::new(),
        }
    }

    pub async fn report(&mut self, state: StatusState, text: &str) {
        let j = self.job;
        let r = self
            .source
            .status(j.token.as_ref(), &j.repo, &j.commit, state, text)
            .await;
        self.metrics.report(r.is_ok());
        if let Err(e) = r {
            tracing::warn!(commit = %j.commit, error = %e, "GitHub status report failed");
            self.errors.push(e.to_string());
        }
    }
}

/// The last status of a commit, if the run's outcome calls for one. A superseded commit is
/// not deployed, so it is an `error` (not a `failure` of the commit, and not a `success`).
pub fn final_status(result: &Result<Deployed, Stop>) -> Option<(StatusState, String)> {
    match result {
        Ok(d) => Some((StatusState::Success, format!("deployed {}", d.image))),
        Err(Stop::Failed { message, .. }) => Some((StatusState::Failure, message.clone())),
        Err(Stop::Superseded { commit, .. }) => Some((
            StatusState::Error,
            format!("not deployed: superseded by {}", plan::short_sha(commit)),
        )),
        Err(Stop::ApiUnavailable(_)) => Some((
            StatusState::Error,
            "not deployed: the Kubernetes API was unreachable".into(),
        )),
        Err(Stop::Cancelled | Stop::Lost(_)) => None,
    }
}
