//! "What changed since the last healthy revision", attached to findings as evidence.
//! A Deployment's revisions are its ReplicaSets (`deployment.kubernetes.io/revision`);
//! a StatefulSet's and a DaemonSet's are its ControllerRevisions (`revision`, the
//! pod template in `data.spec.template`). The newest revision's template is compared
//! with the older one whose pods are ready (else the previous revision); the
//! differences ([`changes`]) are ranked by the findings' slugs.

use std::collections::HashMap;

use serde_json::Value;

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

/// Adds the evidence to every finding on a workload, or on the objects of its newest
/// revision (its ReplicaSet, its pods).
pub fn add(index: &Index, findings: &mut [Finding]) {
    let mut by_owner: HashMap<&ObjectRef, Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if let Some(o) = f
            .chain
            .iter()
            .chain(std::iter::once(&f.object))
            .find(|r| OWNERS.contains(&r.kind.as_str()))
        {
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
        let older = revs
            .iter()
            .filter(|r| r.obj.id != new.obj.id && r.number < new.number)
            .max_by_key(|r| (r.healthy, r.number));
        let (Some(old), false) = (older, hits.is_empty()) else {
            continue;
        };
        let slugs: Vec<&str> = hits.iter().map(|&i| findings[i].slug.as_str()).collect();
        let ranked = changes::rank(changes::changes(old.template, new.template), &slugs);
        let number = old.number.map(|n| n.to_string());
        let text = changes::render(&ranked, number.as_deref(), 4);
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
                note: Some(text),
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
