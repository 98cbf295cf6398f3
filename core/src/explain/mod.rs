//! The explain engine: raw Kubernetes objects in, root-cause findings out. Pure: no IO.
//!
//! Pipeline: [`Index::build`] cross-references the objects and Events; every rule of
//! [`rules::all`] whose kinds include an object's kind runs on it; per object, a slug
//! that another finding's slug supersedes is dropped; chains are filled from owner
//! references; symptom findings explained by a cause further down their chain are
//! dropped (root cause first); findings are sorted, most severe first.

pub mod catalog;
pub mod finding;
pub mod index;
pub mod rules;
pub mod value;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use catalog::{ModeInfo, catalog};
pub use finding::{Evidence, Finding, ObjectRef, Severity};
pub use index::{Event, Index, Obj, selector_matches};
pub use rules::{Ctx, Rule};

/// How to run the engine.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Reference time for time-dependent modes; `None` = the newest timestamp in the input.
    pub now: Option<DateTime<Utc>>,
}

/// What the engine found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Root causes, most severe first.
    pub findings: Vec<Finding>,
    /// Remarks about the input (ignored kinds, unmatched events, empty input).
    pub notes: Vec<String>,
}

/// Explains a set of objects of any kind (Pods, ReplicaSets, Deployments, Services,
/// Endpoints, PVCs, Nodes, core/v1 Events, ...).
pub fn explain(objects: Vec<Value>, opts: &Options) -> Report {
    let empty = objects.is_empty();
    let index = Index::build(objects);
    let ctx = Ctx {
        now: opts.now.or_else(|| index.newest_timestamp()),
    };
    let mut report = explain_index(&index, &ctx);
    if empty {
        report
            .notes
            .insert(0, "the input holds no objects".to_string());
    }
    report
}

/// Runs every rule over an already built index.
pub fn explain_index(index: &Index, ctx: &Ctx) -> Report {
    let rules = rules::all();
    let mut found: Vec<(Finding, bool)> = Vec::new();
    for obj in index.objects() {
        let start = found.len();
        for rule in rules
            .iter()
            .filter(|r| r.kinds.contains(&obj.kind.as_str()))
        {
            found.extend(
                (rule.check)(obj, index, ctx)
                    .into_iter()
                    .map(|f| (f, rule.symptom)),
            );
        }
        if found.len() == start {
            continue;
        }
        let here: Vec<String> = found[start..].iter().map(|(f, _)| f.slug.clone()).collect();
        let mut i = start;
        while i < found.len() {
            if here
                .iter()
                .any(|s| catalog::supersedes(s, &found[i].0.slug))
            {
                found.remove(i);
            } else {
                i += 1;
            }
        }
        let chain = index.chain(obj);
        for (f, _) in &mut found[start..] {
            if f.chain.is_empty() {
                f.chain.clone_from(&chain);
            }
        }
    }
    let findings = collapse(index, found);
    Report {
        findings,
        notes: index.notes(),
    }
}

/// Root cause first: drops a symptom finding on object X when a cause (non-symptom)
/// finding sits on an object whose chain passes through X, or on a Pod that X (a
/// Service) selects.
fn collapse(index: &Index, found: Vec<(Finding, bool)>) -> Vec<Finding> {
    let causes: Vec<&Finding> = found.iter().filter(|(_, s)| !*s).map(|(f, _)| f).collect();
    let explained = |symptom: &Finding| {
        let x = &symptom.object;
        causes.iter().any(|c| {
            (c.object != *x && c.chain.contains(x))
                || (x.kind == "Service"
                    && c.object.kind == "Pod"
                    && service_selects(index, x, &c.object))
        })
    };
    let mut out: Vec<Finding> = found
        .iter()
        .filter(|(f, s)| !*s || !explained(f))
        .map(|(f, _)| f.clone())
        .collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.object.namespace.cmp(&b.object.namespace))
            .then_with(|| a.object.kind.cmp(&b.object.kind))
            .then_with(|| a.object.name.cmp(&b.object.name))
            .then_with(|| a.slug.cmp(&b.slug))
    });
    out
}

fn service_selects(index: &Index, svc: &ObjectRef, pod: &ObjectRef) -> bool {
    let (Some(s), Some(p)) = (
        index.get("Service", svc.namespace.as_deref(), &svc.name),
        index.get("Pod", pod.namespace.as_deref(), &pod.name),
    ) else {
        return false;
    };
    s.namespace == p.namespace
        && s.get("spec.selector")
            .is_some_and(|sel| selector_matches(sel, p.labels()))
}
