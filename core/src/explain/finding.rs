//! The finding model: what explain reports, in the stable schema documented in
//! `docs/explain.md`. Also embedded in `Build.status.findings`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// The object a finding is about, or one link of a chain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

/// One fact a finding rests on: a field value, or an event.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Object the fact was read from, `Kind/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Field path, e.g. `status.containerStatuses[name=app].lastState.terminated.exitCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Field value, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Event reason, for event evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Event message, for event evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Event count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// Event last-seen time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// A note about missing or degraded data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One root cause, reported on one object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable finding code from `failure-modes.yaml`.
    pub slug: String,
    pub severity: Severity,
    /// `true` when the signals are ambiguous and the cause is only possible.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub possible: bool,
    pub object: ObjectRef,
    /// One plain sentence.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// Concrete next steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fix: Vec<String>,
    /// From the object asked about down to the object at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ObjectRef>,
    /// Short teaching text, shown with `--learn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learn: Option<String>,
}
