//! The finding model: what explain reports, in the stable schema documented in
//! `docs/explain.md`. Also embedded in `Build.status.findings`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// How sure a finding is of its cause.
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A field or an Event states the cause.
    #[default]
    Certain,
    /// The cause is inferred from several facts, which the evidence lists.
    Likely,
}

/// The object a finding is about, or one link of a chain.
#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
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
    /// `certain` when a field or Event states the cause, `likely` when it is inferred
    /// from the facts listed in the evidence.
    #[serde(default)]
    pub confidence: Confidence,
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

impl Evidence {
    /// A field of an object and its value.
    pub fn field(
        object: impl Into<String>,
        field: impl Into<String>,
        value: impl ToString,
    ) -> Self {
        Evidence {
            object: Some(object.into()),
            field: Some(field.into()),
            value: Some(value.to_string()),
            ..Evidence::default()
        }
    }

    /// A note about missing or degraded data.
    pub fn note(note: impl Into<String>) -> Self {
        Evidence {
            note: Some(note.into()),
            ..Evidence::default()
        }
    }
}

impl Finding {
    /// A finding with no evidence, fix, chain or teaching text yet.
    pub fn new(
        slug: &str,
        severity: Severity,
        object: ObjectRef,
        summary: impl Into<String>,
    ) -> Self {
        Finding {
            slug: slug.to_string(),
            severity,
            possible: false,
            confidence: Confidence::Certain,
            object,
            summary: summary.into(),
            evidence: Vec::new(),
            fix: Vec::new(),
            chain: Vec::new(),
            learn: None,
        }
    }

    /// Marks the cause as only possible (ambiguous signals): its confidence is then
    /// `likely` at best.
    pub fn possible(mut self, possible: bool) -> Self {
        self.possible = possible;
        if possible {
            self.confidence = Confidence::Likely;
        }
        self
    }

    /// Marks the cause as inferred (`likely`) and lists the facts it rests on.
    pub fn likely(mut self, facts: &[String]) -> Self {
        self.confidence = Confidence::Likely;
        if !facts.is_empty() {
            self.evidence.push(Evidence::note(format!(
                "inferred from: {}",
                facts.join("; ")
            )));
        }
        self
    }

    /// Adds one piece of evidence.
    pub fn evidence(mut self, e: Evidence) -> Self {
        self.evidence.push(e);
        self
    }

    /// Adds several pieces of evidence.
    pub fn evidence_all(mut self, e: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(e);
        self
    }

    /// Adds one next step.
    pub fn fix(mut self, step: impl Into<String>) -> Self {
        self.fix.push(step.into());
        self
    }

    /// Sets the teaching text.
    pub fn learn(mut self, text: impl Into<String>) -> Self {
        self.learn = Some(text.into());
        self
    }
}
