//! What to explain: parsing `TYPE[/NAME]`, and selecting from a set of objects the
//! ones a target's chain reaches (Deployment → newest ReplicaSet → Pods → their
//! PVCs, nodes, the Services selecting them and their Endpoints; plus the Events
//! about all of these). Pure: the same selection runs on live and offline input.

use std::collections::{BTreeSet, HashSet};

use mosaic_core::explain::{Event, Index, Input, Obj, ObjectRef};

use super::kinds::{self, KindInfo};

mod walk;

use walk::Walk;

/// A parsed `TYPE` or `TYPE/NAME` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static KindInfo,
    pub name: Option<String>,
}

impl Target {
    /// `deployments.apps "api"`-style label, as kubectl prints in NotFound errors.
    pub fn label(&self) -> String {
        let res = if self.kind.group.is_empty() {
            self.kind.plural.to_string()
        } else {
            format!("{}.{}", self.kind.plural, self.kind.group)
        };
        match &self.name {
            Some(n) => format!("{res} {n:?}"),
            None => res,
        }
    }
}

/// Parse `deploy/api`, `deployment api`-less forms: `TYPE/NAME` or just `TYPE`.
pub fn parse_target(s: &str) -> Result<Target, String> {
    let (ty, name) = match s.split_once('/') {
        Some((t, n)) if !n.is_empty() && !n.contains('/') => (t, Some(n.to_string())),
        Some(_) => {
            return Err(format!(
                "invalid target {s:?}: write TYPE/NAME, e.g. deploy/api"
            ));
        }
        None => (s, None),
    };
    let kind = kinds::resolve(ty).ok_or_else(|| {
        format!(
            "unknown resource type {ty:?}: explain understands {}",
            "deploy, rs, sts, ds, job, cronjob, pod, svc, ingress, pvc, hpa, pdb, node"
        )
    })?;
    Ok(Target { kind, name })
}

/// The objects of `objects` that `target` reaches, plus the Events about them.
/// `namespace` restricts namespaced roots (`None` = any namespace).
/// Returns `None` when the named target is not among the objects.
pub fn select(
    objects: impl Into<Input>,
    target: &Target,
    namespace: Option<&str>,
) -> Option<Selection> {
    let mut input: Input = objects.into();
    let ix = Index::from_input(Input::new().with_objects(input.take_objects()));
    let roots: Vec<&Obj> = ix
        .of_kind(target.kind.kind)
        .filter(|o| {
            !target.kind.namespaced || namespace.is_none() || o.namespace.as_deref() == namespace
        })
        .filter(|o| target.name.as_deref().is_none_or(|n| o.name == n))
        .collect();
    if roots.is_empty() && target.name.is_some() {
        return None;
    }
    let mut walk = Walk {
        ix: &ix,
        seen: BTreeSet::new(),
        context: BTreeSet::new(),
    };
    for r in roots {
        walk.visit(r, true);
    }
    let involved: HashSet<ObjectRef> = walk
        .seen
        .iter()
        .map(|&id| ix.objects()[id].object_ref())
        .collect();
    let selected: Vec<&Obj> = walk
        .seen
        .union(&walk.context)
        .map(|&id| &ix.objects()[id])
        .collect();
    let uids: HashSet<&str> = selected.iter().filter_map(|o| o.uid.as_deref()).collect();
    let keys: HashSet<ObjectRef> = selected.iter().map(|o| o.object_ref()).collect();
    input.retain(|_| false, |e| event_concerns(e, &uids, &keys), |_| false);
    let objects = input.with_objects(selected.iter().map(|o| o.value.clone()).collect());
    Some(Selection { objects, involved })
}

/// What a target reaches: the objects to analyse, and those whose findings count.
#[derive(Debug)]
pub struct Selection {
    pub objects: Input,
    pub involved: HashSet<ObjectRef>,
}

fn event_concerns(e: &Event, uids: &HashSet<&str>, keys: &HashSet<ObjectRef>) -> bool {
    if let Some(u) = e.involved_uid.as_deref()
        && uids.contains(u)
    {
        return true;
    }
    let key = ObjectRef {
        kind: e.involved_kind.clone(),
        namespace: e.involved_namespace.clone(),
        name: e.involved_name.clone(),
    };
    keys.contains(&key)
        || keys.contains(&ObjectRef {
            namespace: None,
            ..key
        })
}

/// Whether a finding concerns the selection: its object, or any link of its chain.
pub fn involves(f: &mosaic_core::explain::Finding, selected: &HashSet<ObjectRef>) -> bool {
    selected.contains(&f.object) || f.chain.iter().any(|c| selected.contains(c))
}

#[cfg(test)]
mod tests;
