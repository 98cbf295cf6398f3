//! The explain engine: raw Kubernetes objects in, root-cause findings out. Pure: no IO.
//!
//! Pipeline: [`Index::build`] cross-references the objects and Events; every rule of
//! [`rules::all`] whose kinds include an object's kind runs on it; per object, a slug
//! that another finding's slug supersedes is dropped; chains are filled from owner
//! references; symptom findings explained by a cause further down their chain are
//! dropped (root cause first); findings are sorted, most severe first.

pub mod catalog;
pub mod changes;
pub mod cron;
mod engine;
pub mod event;
pub mod finding;
pub mod index;
pub mod input;
pub mod probe;
pub mod rules;
pub mod shape;
pub mod tree;
pub mod value;
pub mod what_changed;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use catalog::{ModeInfo, catalog};
pub use changes::{Aspect, Change, changes, rank};
pub use engine::explain_index;
pub use finding::{Confidence, Evidence, Finding, ObjectRef, Severity};
pub use index::{Event, Index, Obj, selector_matches};
pub use input::Input;
pub use rules::{Age, Ctx, Rule};
pub use what_changed::{Since, since_for};

/// How to run the engine.
#[derive(Debug, Clone)]
pub struct Options {
    /// Reference time for time-dependent modes; `None` = the newest timestamp in the input.
    pub now: Option<DateTime<Utc>>,
    /// `true` (the default): workloads shown to be younger than a couple of minutes
    /// (StatefulSets, DaemonSets, ReplicaSets, Pending claims) get time to converge
    /// before they are reported. `false`: report them whatever their age, e.g. while
    /// watching a rollout's first minute. An object whose age cannot be established
    /// is never treated as young.
    pub settle: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            now: None,
            settle: true,
        }
    }
}

/// What the engine found: `{"findings": [...], "notes": [...]}` when serialised.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Root causes, most severe first.
    pub findings: Vec<Finding>,
    /// Remarks about the input (ignored kinds, unmatched events, empty input).
    pub notes: Vec<String>,
}

/// Explains a set of objects of any kind (Pods, ReplicaSets, Deployments, Services,
/// Endpoints, PVCs, Nodes, core/v1 Events, ...).
pub fn explain(objects: Vec<Value>, opts: &Options) -> Report {
    explain_input(Input::from(objects), opts)
}

/// [`explain`] of an [`Input`] gathered one object at a time.
pub fn explain_input(input: Input, opts: &Options) -> Report {
    explain_keeping_index(input, opts).0
}

/// [`explain_input`] for a process that exits once it has the report (`kubectl mosaic
/// explain`): the index is never freed. Freeing a large dump's objects one allocation
/// at a time is a fifth of the run on 100,000 objects, and the exit returns the memory
/// at once. Not for a long-lived process (the UI, the webhook): each call leaks the index.
pub fn explain_input_then_exit(input: Input, opts: &Options) -> Report {
    let (report, index) = explain_keeping_index(input, opts);
    std::mem::forget(index);
    report
}

fn explain_keeping_index(input: Input, opts: &Options) -> (Report, Index) {
    let empty = input.is_empty();
    let index = Index::from_input(input);
    let ctx = Ctx::new(&index, opts);
    let mut report = explain_index(&index, &ctx);
    if empty {
        report
            .notes
            .insert(0, "the input holds no objects".to_string());
    }
    (report, index)
}
