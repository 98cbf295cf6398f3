//! The commit statuses a Build sent to GitHub, as its status records them (`commitStatuses`):
//! each report's context, state and description, when it was sent, and whether GitHub took
//! it (or, shortly and without secrets, why not). Bounded to the newest [`MAX_REPORTS`]. The
//! webhook records them; `kubectl mosaic status` and the UI's Build page word them with
//! [`CommitReport::words`].

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many reports a Build keeps (the oldest go first).
pub const MAX_REPORTS: usize = 10;

/// The longest reason a failed send keeps, in characters.
pub const MAX_REASON: usize = 160;

/// A commit status's state, as GitHub names it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportState {
    Pending,
    Success,
    Failure,
    Error,
}

impl ReportState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Error => "error",
        }
    }
}

/// Whether GitHub took a report.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Delivery {
    /// GitHub answered with the status created.
    Sent,
    /// The send failed (`reason` says why); the Build went on regardless.
    Failed,
}

/// One commit status the webhook sent (or tried to send) for a Build.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitReport {
    /// The status context (`mosaic/NAMESPACE/BINDING`).
    pub context: String,
    pub state: ReportState,
    /// The description as sent (one line, at most GitHub's 140 characters).
    pub description: String,
    /// When the send ended.
    pub sent_at: Time,
    pub delivery: Delivery,
    /// Why a send failed: one short line, never a token or a response body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CommitReport {
    /// A report GitHub took.
    pub fn sent(context: &str, state: ReportState, description: &str, at: Time) -> Self {
        Self {
            context: context.to_string(),
            state,
            description: description.to_string(),
            sent_at: at,
            delivery: Delivery::Sent,
            reason: None,
        }
    }

    /// A report whose send failed, with the failure shortened by [`short_reason`].
    pub fn failed(
        context: &str,
        state: ReportState,
        description: &str,
        at: Time,
        why: &str,
    ) -> Self {
        Self {
            delivery: Delivery::Failed,
            reason: Some(short_reason(why)),
            ..Self::sent(context, state, description, at)
        }
    }

    /// The report in words, as `status` and the Build page show it:
    /// `success "deployed …" (sent)` or `pending "building" (not sent: …)`.
    pub fn words(&self) -> String {
        format!(
            "{} {:?} ({})",
            self.state.as_str(),
            self.description,
            self.delivery_words()
        )
    }

    /// Whether GitHub took it: `sent`, or `not sent: REASON`.
    pub fn delivery_words(&self) -> String {
        match self.delivery {
            Delivery::Sent => "sent".to_string(),
            Delivery::Failed => format!(
                "not sent: {}",
                self.reason.as_deref().unwrap_or("no reason recorded")
            ),
        }
    }
}

/// Add `report` to `list`, keeping the newest [`MAX_REPORTS`] in the order they were sent.
pub fn record(list: &mut Vec<CommitReport>, report: CommitReport) {
    list.push(report);
    let extra = list.len().saturating_sub(MAX_REPORTS);
    list.drain(..extra);
}

/// The reports newest first (as both readers list them).
pub fn newest_first(list: &[CommitReport]) -> impl Iterator<Item = &CommitReport> {
    list.iter().rev()
}

/// A failure's first line, at most [`MAX_REASON`] characters, with every word that looks like
/// a credential (GitHub token prefixes, a long value after `Bearer` or `token`, `user:pass@` in
/// URLs) masked.
pub fn short_reason(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    let mut words: Vec<String> = Vec::new();
    let mut mask_next = false;
    for w in line.unwrap_or("unknown failure").split_whitespace() {
        if looks_secret(w) || (mask_next && w.len() >= 16) {
            words.push("<redacted>".into());
        } else {
            words.push(w.to_string());
        }
        mask_next = matches!(w.to_ascii_lowercase().as_str(), "bearer" | "token");
    }
    let joined = words.join(" ");
    if joined.chars().count() <= MAX_REASON {
        return joined;
    }
    let mut s: String = joined.chars().take(MAX_REASON - 1).collect();
    s.push('…');
    s
}

/// A GitHub token (classic or fine-grained), or a URL with credentials in it.
fn looks_secret(word: &str) -> bool {
    const PREFIXES: [&str; 6] = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"];
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
    PREFIXES.iter().any(|p| w.starts_with(p))
        || word
            .split_once("://")
            .is_some_and(|(_, rest)| rest.split('/').next().is_some_and(|h| h.contains('@')))
}

#[cfg(test)]
mod tests;
