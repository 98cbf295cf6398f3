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
pub mod pod_config;
pub mod pod_containers;
pub mod pod_image;
pub mod pod_lifecycle;
pub mod pod_probes;
pub mod pod_scheduling;
// Non-Pod rules.
pub mod deployment;
pub mod hpa_pdb;
pub mod ingress;
pub mod job;
pub mod node;
pub mod pvc;
pub mod service;
#[cfg(test)]
mod testkit;
pub mod workloads;

/// Context shared by all rules.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// Reference time ("now"); `None` when the input carries no timestamp at all, in
    /// which case time-dependent rules stay silent.
    pub now: Option<DateTime<Utc>>,
}

impl Ctx {
    /// How long ago `t` was, relative to the reference time.
    pub fn age(&self, t: Option<DateTime<Utc>>) -> Option<Duration> {
        Some(self.now? - t?)
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
            pod_probes::RULES,
            pod_lifecycle::RULES,
            deployment::RULES,
            workloads::RULES,
            job::RULES,
            hpa_pdb::RULES,
            service::RULES,
            ingress::RULES,
            pvc::RULES,
            node::RULES,
        ]
        .concat()
    })
}
