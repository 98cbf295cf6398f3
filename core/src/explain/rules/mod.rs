//! The rule interface and the list of every rule.
//!
//! A rule is named by its slug (a key of `failure-modes.yaml`), runs on objects of the
//! kinds it lists, and returns findings on that object (usually zero or one). Rules
//! read raw JSON through [`Obj`] and [`Index`] helpers and never do IO.
//!
//! # Adding a rule file
//!
//! ```ignore
//! // core/src/explain/rules/pvc.rs
//! //! PersistentVolumeClaim rules.
//! use super::{Ctx, Rule};
//! use crate::explain::{Finding, Index, Obj, Severity};
//!
//! pub const RULES: &[Rule] = &[Rule { slug: "pvc.lost", kinds: &["PersistentVolumeClaim"], symptom: false, check: lost }];
//!
//! fn lost(pvc: &Obj, _ix: &Index, _ctx: &Ctx) -> Vec<Finding> {
//!     if pvc.str("status.phase") != Some("Lost") { return vec![]; }
//!     vec![Finding::new("pvc.lost", Severity::Error, pvc.object_ref(),
//!             format!("PersistentVolumeClaim {} is Lost: its volume is gone.", pvc.name))
//!         .evidence(pvc.field("status.phase", "Lost"))
//!         .fix(format!("kubectl describe pvc {}{}", pvc.name, pvc.ns_flag()))]
//! }
//! ```
//! then add `mod pvc;` below and `pvc::RULES` to the list in [`all`]. The engine fills
//! `chain` from owner references when a rule leaves it empty, applies `supersedes`
//! from the catalogue, and drops findings of rules marked `symptom: true` when a cause
//! is found further down the chain (e.g. `deployment.unavailable` when the
//! Deployment's pods crash-loop).

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};

use super::finding::Finding;
use super::index::{Index, Obj};

/// A lazily compiled, constant regular expression.
macro_rules! re {
    ($s:expr) => {{
        static R: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new($s).expect("constant regex is valid"));
        &*R
    }};
}

pub mod pod;
pub mod pod_admission;
pub mod pod_config;
pub mod pod_containers;
pub mod pod_crash;
pub mod pod_image;
pub mod pod_lifecycle;
pub mod pod_probes;
pub mod pod_scheduling;
pub mod pod_terminating;
// Non-Pod rules.
pub mod cronjob;
pub mod deployment;
pub mod hpa_pdb;
pub mod ingress;
pub mod job;
pub mod node;
pub mod node_facts;
pub mod pvc;
pub mod service;
pub mod workloads;

/// Context shared by all rules.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// Reference time ("now"); `None` when the input carries no timestamp at all, in
    /// which case time-dependent rules stay silent.
    pub now: Option<DateTime<Utc>>,
    /// Whether objects shown to be young get time to converge (see [`Ctx::settling`]).
    pub settle: bool,
}

/// How old an object is, as far as the input shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    /// At least this old (the input's clock lags real time, never leads it).
    Known(Duration),
    /// Nothing in the input was observed after the object's creation: its age could
    /// not be established. Not "just created".
    Unknown,
}

impl Ctx {
    /// The context for one run of the engine over `index`.
    pub fn new(index: &Index, opts: &super::Options) -> Ctx {
        Ctx {
            now: opts.now.or_else(|| index.newest_timestamp()),
            settle: opts.settle,
        }
    }

    /// How long ago `t` was, relative to the reference time.
    pub fn age(&self, t: Option<DateTime<Utc>>) -> Option<Duration> {
        Some(self.now? - t?)
    }

    /// Time since `since` (a creation or transition time), from the best evidence:
    /// the caller's clock, else the newest time anywhere in the input (a condition's
    /// `lastTransitionTime`, a container's `startedAt`/`finishedAt`, `status.startTime`,
    /// managedFields, Events, other objects' creation). Unknown when nothing in the
    /// input is later than `since`: a lone object whose only time is its creation is
    /// of unknown age, not zero seconds old.
    pub fn age_of(&self, since: Option<DateTime<Utc>>) -> Age {
        match (self.now, since) {
            (Some(now), Some(t)) if now > t => Age::Known(now - t),
            _ => Age::Unknown,
        }
    }

    /// Whether `o` is shown to be younger than `window` and so may still converge.
    /// Never when settling is off, and never when its age is unknown.
    pub fn settling(&self, o: &Obj, window: Duration) -> bool {
        self.settle && matches!(self.age_of(o.created()), Age::Known(d) if d < window)
    }

    /// Evidence saying that the age of `o` could not be established.
    pub fn unknown_age_note(&self, o: &Obj) -> Option<super::Evidence> {
        (self.age_of(o.created()) == Age::Unknown).then(|| {
            super::Evidence::note(format!(
                "the age of {} could not be established (nothing in the input was observed after its creation), so it is not treated as just created",
                o.display()
            ))
        })
    }
}

/// One rule: the slug it reports, the kinds it inspects and its check.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub slug: &'static str,
    pub kinds: &'static [&'static str],
    /// `true` when the finding describes an effect whose cause usually sits further
    /// down the ownership chain (a Deployment without available pods); the engine then
    /// drops it when such a cause is found.
    pub symptom: bool,
    pub check: fn(&Obj, &Index, &Ctx) -> Vec<Finding>,
}

/// Every rule, in catalogue order per file.
pub fn all() -> &'static [Rule] {
    static ALL: OnceLock<Vec<Rule>> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            pod_scheduling::RULES,
            pod_image::RULES,
            pod_config::RULES,
            pod_containers::RULES,
            pod_crash::RULES,
            pod_probes::RULES,
            pod_lifecycle::RULES,
            pod_terminating::RULES,
            pod_admission::RULES,
            deployment::RULES,
            workloads::RULES,
            job::RULES,
            cronjob::RULES,
            hpa_pdb::RULES,
            service::RULES,
            ingress::RULES,
            pvc::RULES,
            node::RULES,
        ]
        .concat()
    })
}
