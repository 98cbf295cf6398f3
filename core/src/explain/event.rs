//! Events, normalised from core/v1 (`involvedObject`, `count`, `lastTimestamp`) and
//! events.k8s.io/v1 (`regarding`, `note`, `series`) into one shape.

use crate::explain::tree::Value;
use chrono::{DateTime, Utc};

use super::finding::Evidence;
use super::value::{self, get, str_at};

/// A core/v1 (or events.k8s.io/v1) Event, normalised.
#[derive(Debug, Clone)]
pub struct Event {
    pub reason: String,
    pub message: String,
    /// `Normal` or `Warning`.
    pub type_: String,
    pub count: i32,
    /// Last-seen time as written in the input.
    pub last_seen: Option<String>,
    pub last_seen_time: Option<DateTime<Utc>>,
    pub involved_kind: String,
    pub involved_namespace: Option<String>,
    pub involved_name: String,
    pub involved_uid: Option<String>,
    /// `fieldPath` of the involved object, e.g. `spec.containers{app}`.
    pub field_path: Option<String>,
    /// The Event's own `metadata.namespace`.
    pub namespace: Option<String>,
}

impl Event {
    pub(crate) fn from_value(v: &Value) -> Option<Event> {
        // core/v1 uses involvedObject/message/count/lastTimestamp; events.k8s.io/v1
        // uses regarding/note/series.count/deprecated*.
        let involved = get(v, "involvedObject").or_else(|| get(v, "regarding"))?;
        let pick = |paths: &[&str]| {
            paths
                .iter()
                .find_map(|p| value::nonempty_at(v, p))
                .map(str::to_string)
        };
        let last_seen = pick(&[
            "series.lastObservedTime",
            "lastTimestamp",
            "deprecatedLastTimestamp",
            "eventTime",
            "firstTimestamp",
            "metadata.creationTimestamp",
        ]);
        let count = ["series.count", "count", "deprecatedCount"]
            .iter()
            .find_map(|p| value::i64_at(v, p))
            .unwrap_or(1);
        Some(Event {
            reason: pick(&["reason"]).unwrap_or_default(),
            message: pick(&["message", "note"]).unwrap_or_default(),
            type_: pick(&["type"]).unwrap_or_default(),
            count: i32::try_from(count).unwrap_or(i32::MAX),
            last_seen_time: last_seen.as_deref().and_then(value::parse_time),
            last_seen,
            involved_kind: str_at(involved, "kind").unwrap_or_default().to_string(),
            involved_namespace: value::nonempty_at(involved, "namespace")
                .or_else(|| value::nonempty_at(v, "metadata.namespace"))
                .map(str::to_string),
            involved_name: str_at(involved, "name").unwrap_or_default().to_string(),
            involved_uid: value::nonempty_at(involved, "uid").map(str::to_string),
            field_path: value::nonempty_at(involved, "fieldPath").map(str::to_string),
            namespace: value::nonempty_at(v, "metadata.namespace").map(str::to_string),
        })
    }

    /// This event as evidence (reason, message, count, last seen).
    pub fn evidence(&self) -> Evidence {
        Evidence {
            object: Some(format!("{}/{}", self.involved_kind, self.involved_name)),
            reason: Some(self.reason.clone()),
            message: Some(self.message.clone()),
            count: Some(self.count),
            last_seen: self.last_seen.clone(),
            ..Evidence::default()
        }
    }
}
