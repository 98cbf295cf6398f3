//! Commit statuses: reporting never holds up or fails a Build. Reports go through a task of
//! their own per commit, in order, each bounded by a short timeout and tried once; when several
//! wait, only the latest is sent (a status replaces the one before it). The run waits for that
//! task only at its end, so the final status is posted before the Build's terminal write and
//! failed reports are collected for its message. The final status says what happened. Each
//! send, taken or failed, is recorded in the Build's `status.commitStatuses` (through the
//! claim's guarded status write) before the next is sent.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use mosaic_core::commit_status::{self, CommitReport, ReportState};

use crate::cluster::claim::{Claimed, now_time};
use crate::metrics::Metrics;
use crate::pipeline::ports::CommitState;

use super::Work;
use super::ports::SourceHost;

/// The longest one report may take (GitHub's own timeout may be shorter).
pub const REPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts the statuses of one commit from a background task.
pub struct Reporter {
    tx: mpsc::UnboundedSender<(CommitState, String)>,
    task: JoinHandle<Vec<String>>,
}

impl Reporter {
    /// Start the reporting task of `job`'s commit; without `details`, failures are posted
    /// without internal hosts and addresses (`report_text`). Each send is recorded in the
    /// status of the Build `record` holds.
    pub fn start(
        source: Arc<dyn SourceHost>,
        metrics: Arc<Metrics>,
        job: &Work,
        details: bool,
        record: Claimed,
    ) -> Self {
        let public = super::report_text::Public::new(details, &job.plan.registry_host);
        let (tx, mut rx) = mpsc::unbounded_channel::<(CommitState, String)>();
        let (token, repo, commit) = (job.token.clone(), job.repo.clone(), job.commit.clone());
        let context = job.context.clone();
        let task = tokio::spawn(tracing::Instrument::in_current_span(async move {
            let mut errors = Vec::new();
            while let Some(mut next) = rx.recv().await {
                // Last one wins: a newer status replaces any still waiting.
                while let Ok(newer) = rx.try_recv() {
                    next = newer;
                }
                let (state, text) = next;
                let text = public.text(state, text);
                let send = source.status(token.as_ref(), &repo, &commit, &context, state, &text);
                let r = match tokio::time::timeout(REPORT_TIMEOUT, send).await {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(_) => Err(format!(
                        "GitHub did not answer the commit status report within {REPORT_TIMEOUT:?}"
                    )),
                };
                metrics.report(r.is_ok());
                let description = super::plan::status_description(&text);
                let report = match &r {
                    Ok(()) => {
                        CommitReport::sent(&context, state_of(state), &description, now_time())
                    }
                    Err(e) => {
                        CommitReport::failed(&context, state_of(state), &description, now_time(), e)
                    }
                };
                if let Err(e) = r {
                    tracing::warn!(%commit, error = %e, "GitHub status report failed");
                    errors.push(e);
                }
                remember(&record, report).await;
            }
            errors
        }));
        Self { tx, task }
    }

    /// Queue a status; returns at once.
    pub fn report(&self, state: CommitState, text: &str) {
        // The task ends only after every sender is gone, so this cannot fail.
        let _ = self.tx.send((state, text.to_string()));
    }

    /// Queue the final status (if any), wait until it is sent, and return the failed reports.
    pub async fn finish(self, last: Option<(CommitState, String)>) -> Vec<String> {
        let Self { tx, task } = self;
        if let Some((state, text)) = last {
            let _ = tx.send((state, text));
        }
        drop(tx);
        task.await
            .unwrap_or_else(|e| vec![format!("status reporting task: {e}")])
    }
}

/// The commit state in the Build status's words.
fn state_of(s: CommitState) -> ReportState {
    match s {
        CommitState::Pending => ReportState::Pending,
        CommitState::Success => ReportState::Success,
        CommitState::Failure => ReportState::Failure,
        CommitState::Error => ReportState::Error,
    }
}

/// Record one send in the Build's status. A Build whose status cannot be written (the claim
/// lost, the API server away past its budget) still ran and reported: only a warning.
async fn remember(record: &Claimed, report: CommitReport) {
    let write = record.update(|s| commit_status::record(&mut s.commit_statuses, report.clone()));
    if let Err(e) = write.await {
        tracing::warn!(error = %e, "could not record the commit status in the Build's status");
    }
}
