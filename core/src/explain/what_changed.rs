//! "What changed since the last healthy revision", attached to findings as evidence.
//! A Deployment's revisions are its ReplicaSets (`deployment.kubernetes.io/revision`);
//! a StatefulSet's and a DaemonSet's are its ControllerRevisions (`revision`, the
//! pod template in `data.spec.template`). The newest revision's template is compared
//! with the older one whose pods are ready (else the previous revision); the
//! differences ([`changes`]) are ranked by the findings' slugs.

use std::collections::HashMap;

use crate::explain::tree::Value;

use super::changes;
use super::finding::{Evidence, Finding, ObjectRef};
use super::index::{Index, Obj};
use super::rules;

/// One revision of a workload: its number, its pod template, and whether pods of it
/// are ready (or available) now.
struct Revision<'a> {
    obj: &'a Obj,
    number: Option<i64>,
    template: &'a Value,
    healthy: bool,
}

const OWNERS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet"];

/// What changed in a workload's newest revision against the older one it is
/// compared with: that revision's number and the differences, ranked by the
/// findings they were asked for (related ones first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    /// The older revision's number, when it has one.
    pub revision: Option<i64>,
    pub changes: Vec<changes::Change>,
}

impl Since {
    /// `changed since revision 7: memory limit of app 512Mi → 128Mi; …` (evidence).
    pub fn render(&self, max: usize) -> String {
        let number = self.revision.map(|n| n.to_string());
        changes::render(&self.changes, number.as_deref(), max)
    }

    /// For the failure report of a rollout (the webhook's): `failed since this rollout
    /// changed the readiness probe of app GET /healthz:8080 → GET /ready:8080 (against
    /// revision 2)` when a change relates to the failure; else `this rollout changed the
    /// image of app … (against revision 2)`, claiming no cause; `None` when nothing in the
    /// pod template changed.
    pub fn rollout_clause(&self) -> Option<String> {
        let related: Vec<&str> = self
            .changes
            .iter()
            .filter(|c| c.related)
            .map(|c| c.text.as_str())
            .collect();
        let (lead, shown): (&str, Vec<&str>) = if related.is_empty() {
            (
                "this rollout changed the",
                self.changes.iter().map(|c| c.text.as_str()).collect(),
            )
        } else {
            ("failed since this rollout changed the", related)
        };
        let first = shown.first()?;
        let more = match shown.len() - 1 {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        let against = self
            .revision
            .map(|r| format!(" (against revision {r})"))
            .unwrap_or_default();
        Some(format!("{lead} {first}{more}{against}"))
    }
}

/// For the findings of a rollout: what changed in the newest revision of the first
/// workload a finding belongs to, ranked by the findings on that revision.
pub fn since_for(index: &Index, findings: &[Finding]) -> Option<Since> {
    findings.iter().find_map(|f| {
        let o = owner_of(f)?;
        let owner = index.get(&o.kind, o.namespace.as_deref(), &o.name)?;
        let revs = revisions(index, owner);
        let new = newest(owner, &revs)?;
        let slugs: Vec<&str> = findings
            .iter()
            .filter(|g| {
                owner_of(g) == Some(o) && (g.object == *o || in_revision(index, owner, new, g))
            })
            .map(|g| g.slug.as_str())
            .collect();
        compare(&revs, new, &slugs)
    })
}

/// The workload a finding belongs to (on it, or in its chain).
fn owner_of(f: &Finding) -> Option<&ObjectRef> {
    f.chain
        .iter()
        .chain(std::iter::once(&f.object))
        .find(|r| OWNERS.contains(&r.kind.as_str()))
}

/// The newest revision against the older healthy one (else the previous one).
fn compare(revs: &[Revision], new: &Revision, slugs: &[&str]) -> Option<Since> {
    let old = revs
        .iter()
        .filter(|r| r.obj.id != new.obj.id && r.number < new.number)
        .max_by_key(|r| (r.healthy, r.number))?;
    Some(Since {
        revision: old.number,
        changes: changes::rank(changes::changes(old.template, new.template), slugs),
    })
}

/// Adds the evidence to every finding on a workload, or on the objects of its newest
/// revision (its ReplicaSet, its pods).
pub fn add(index: &Index, findings: &mut [Finding]) {
    let mut by_owner: HashMap<&ObjectRef, Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if let Some(o) = owner_of(f) {
            by_owner.entry(o).or_default().push(i);
        }
    }
    let mut added: Vec<(Vec<usize>, Evidence)> = Vec::new();
    for (o, hits) in by_owner {
        let Some(owner) = index.get(&o.kind, o.namespace.as_deref(), &o.name) else {
            continue;
        };
        let revs = revisions(index, owner);
        let Some(new) = newest(owner, &revs) else {
            continue;
        };
        let hits: Vec<usize> = hits
            .into_iter()
            .filter(|&i| {
                let f = &findings[i];
                f.object == *o || in_revision(index, owner, new, f)
            })
            .collect();
        if hits.is_empty() {
            continue;
        }
        let slugs: Vec<&str> = hits.iter().map(|&i| findings[i].slug.as_str()).collect();
        let Some(since) = compare(&revs, new, &slugs) else {
            continue;
        };
        let field = if new.obj.kind == "ControllerRevision" {
            "data.spec.template"
        } else {
            "spec.template"
        };
        added.push((
            hits,
            Evidence {
                object: Some(new.obj.display()),
                field: Some(field.to_string()),
                note: Some(since.render(4)),
                ..Evidence::default()
            },
        ));
    }
    for (hits, ev) in added {
        for i in hits {
            findings[i].evidence.push(ev.clone());
        }
    }
}

fn revisions<'a>(index: &'a Index, owner: &'a Obj) -> Vec<Revision<'a>> {
    let deployment = owner.kind == "Deployment";
    let kind = if deployment {
        "ReplicaSet"
    } else {
        "ControllerRevision"
    };
    index
        .children(owner)
        .filter(|c| c.kind == kind)
        .filter_map(|c| {
            let (number, template) = if deployment {
                (rs_revision(c), c.get("spec.template")?)
            } else {
                (
                    c.get("revision").and_then(Value::as_i64),
                    c.get("data.spec.template")?,
                )
            };
            let healthy = if deployment {
                c.get("status.availableReplicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    > 0
            } else {
                pods_of(index, owner, c).any(rules::workloads::pod_ready)
            };
            Some(Revision {
                obj: c,
                number,
                template,
                healthy,
            })
        })
        .collect()
}

fn rs_revision(rs: &Obj) -> Option<i64> {
    rs.get("metadata.annotations")
        .and_then(|a| a.get("deployment.kubernetes.io/revision"))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
}

/// The newest revision: a Deployment's newest ReplicaSet; a StatefulSet's
/// `status.updateRevision`; else the highest `revision`.
fn newest<'a, 'b>(owner: &Obj, revs: &'b [Revision<'a>]) -> Option<&'b Revision<'a>> {
    if owner.kind == "StatefulSet"
        && let Some(name) = owner.str("status.updateRevision")
        && let Some(r) = revs.iter().find(|r| r.obj.name == name)
    {
        return Some(r);
    }
    revs.iter().max_by_key(|r| (r.number, r.obj.created()))
}

/// The label a pod of revision `rev` carries: a StatefulSet's pods name the whole
/// ControllerRevision, a DaemonSet's only its hash.
fn pods_of<'a>(index: &'a Index, owner: &'a Obj, rev: &'a Obj) -> impl Iterator<Item = &'a Obj> {
    let want = if owner.kind == "StatefulSet" {
        Some(rev.name.as_str())
    } else {
        rev.labels()
            .get("controller-revision-hash")
            .and_then(Value::as_str)
    };
    index.children(owner).filter(move |p| {
        p.kind == "Pod"
            && p.labels()
                .get("controller-revision-hash")
                .and_then(Value::as_str)
                .is_some_and(|h| Some(h) == want)
    })
}

/// Whether a finding concerns the newest revision: its ReplicaSet (or objects below
/// it), or one of its pods (a pod without a revision label counts).
fn in_revision(index: &Index, owner: &Obj, new: &Revision, f: &Finding) -> bool {
    if owner.kind == "Deployment" {
        return f.chain.contains(&new.obj.object_ref());
    }
    if f.object.kind != "Pod" {
        return false;
    }
    let Some(pod) = index.get("Pod", f.object.namespace.as_deref(), &f.object.name) else {
        return false;
    };
    match pod
        .labels()
        .get("controller-revision-hash")
        .and_then(Value::as_str)
    {
        None => true,
        Some(_) => pods_of(index, owner, new.obj).any(|p| p.id == pod.id),
    }
}

#[cfg(test)]
mod tests;
