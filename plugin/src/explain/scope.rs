//! What to explain: parsing `TYPE[/NAME]`, and selecting from a set of objects the
//! ones a target's chain reaches (Deployment → newest ReplicaSet → Pods → their
//! PVCs, nodes, the Services selecting them and their Endpoints; plus the Events
//! about all of these). Pure: the same selection runs on live and offline input.

use std::collections::{BTreeSet, HashSet};

use mosaic_core::explain::rules::node_facts::pod_unschedulable;
use mosaic_core::explain::tree::Value;
use mosaic_core::explain::{Event, Index, Input, Obj, ObjectRef, selector_matches};

use super::kinds::{self, KindInfo};

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

struct Walk<'a> {
    ix: &'a Index,
    /// Objects the target involves: findings on them are reported.
    seen: BTreeSet<usize>,
    /// Objects the engine needs to judge the involved ones, but whose own findings are not reported.
    context: BTreeSet<usize>,
}

impl<'a> Walk<'a> {
    /// Add `obj` and what it leads to. `services`: whether a Pod may lead on to the
    /// Services selecting it (not when the Pod was reached from a Service).
    fn visit(&mut self, obj: &'a Obj, services: bool) {
        if !self.seen.insert(obj.id) {
            return;
        }
        let ix = self.ix;
        let ns = obj.namespace.as_deref();
        match obj.kind.as_str() {
            "Deployment" => {
                // Its older ReplicaSets are its revisions: "what changed" compares their
                // pod templates with the newest one's.
                self.context.extend(
                    ix.children(obj)
                        .filter(|c| c.kind == "ReplicaSet")
                        .map(|c| c.id),
                );
                if let Some(rs) = newest(
                    ix.children(obj).filter(|c| c.kind == "ReplicaSet"),
                    revision,
                ) {
                    self.visit(rs, services);
                }
                self.visit_scalers(obj);
            }
            "CronJob" => {
                if let Some(job) = newest(ix.children(obj).filter(|c| c.kind == "Job"), |_| None) {
                    self.visit(job, services);
                }
            }
            "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
                for c in ix.children(obj).filter(|c| c.kind == "Pod") {
                    self.visit(c, services);
                }
                // Its revisions: "what changed" compares their pod templates.
                self.context.extend(
                    ix.children(obj)
                        .filter(|c| c.kind == "ControllerRevision")
                        .map(|c| c.id),
                );
                self.visit_scalers(obj);
            }
            "Pod" => self.visit_pod(obj, services),
            "Service" => {
                for ep in ix
                    .of_kind_in("Endpoints", ns)
                    .filter(|e| e.name == obj.name)
                {
                    self.visit(ep, false);
                }
                for sl in ix.of_kind_in("EndpointSlice", ns) {
                    let owner = sl
                        .labels()
                        .get("kubernetes.io/service-name")
                        .and_then(Value::as_str);
                    if owner == Some(obj.name.as_str()) {
                        self.visit(sl, false);
                    }
                }
                if let Some(sel) = obj.get("spec.selector") {
                    for p in ix.pods_selected(ns, sel) {
                        if services {
                            self.visit(p, false);
                        } else {
                            // Reached from one pod: the others are context for the Service rules.
                            self.context.insert(p.id);
                        }
                    }
                }
            }
            "Ingress" => {
                for name in ingress_backends(obj) {
                    if let Some(s) = ix.get("Service", ns, &name) {
                        self.visit(s, false);
                    }
                }
                if let Some(class) = obj.str("spec.ingressClassName")
                    && let Some(c) = ix.get("IngressClass", None, class)
                {
                    self.visit(c, false);
                }
                for tls in obj.arr("spec.tls") {
                    if let Some(s) = tls
                        .get("secretName")
                        .and_then(Value::as_str)
                        .and_then(|n| ix.get("Secret", ns, n))
                    {
                        self.visit(s, false);
                    }
                }
            }
            "PersistentVolumeClaim" => {
                if let Some(pv) = obj
                    .str("spec.volumeName")
                    .and_then(|n| ix.get("PersistentVolume", None, n))
                {
                    self.visit(pv, false);
                }
                self.visit_storage_class(obj.str("spec.storageClassName"));
                let users: Vec<&Obj> = ix
                    .of_kind_in("Pod", ns)
                    .filter(|p| pod_claims(p).any(|c| c == obj.name))
                    .collect();
                for p in users {
                    self.visit(p, false);
                }
            }
            "HorizontalPodAutoscaler" => {
                let kind = obj.str("spec.scaleTargetRef.kind").unwrap_or_default();
                if let Some(t) = obj
                    .str("spec.scaleTargetRef.name")
                    .and_then(|n| ix.get(kind, ns, n))
                {
                    self.visit(t, services);
                }
            }
            "PodDisruptionBudget" => {
                if let Some(sel) = obj.get("spec.selector") {
                    for p in ix.pods_selected(ns, sel) {
                        self.visit(p, false);
                    }
                }
            }
            "Node" => {
                // The pods left Pending with unschedulable nodes are the evidence of a cordon.
                self.context.extend(
                    ix.of_kind("Pod")
                        .filter(|p| pod_unschedulable(&p.value))
                        .map(|p| p.id),
                );
            }
            _ => {}
        }
    }

    fn visit_pod(&mut self, pod: &'a Obj, services: bool) {
        let ix = self.ix;
        let ns = pod.namespace.as_deref();
        if let Some(node) = pod
            .str("spec.nodeName")
            .and_then(|n| ix.get("Node", None, n))
        {
            self.visit(node, false);
        }
        if pod_unschedulable(&pod.value) {
            // The scheduler names no node; every node's taints and cordon may be the cause.
            self.context.extend(ix.of_kind("Node").map(|n| n.id));
        }
        let claims: Vec<&str> = pod_claims(pod).collect();
        for c in claims {
            if let Some(pvc) = ix.get("PersistentVolumeClaim", ns, c) {
                self.seen.insert(pvc.id);
                if let Some(pv) = pvc
                    .str("spec.volumeName")
                    .and_then(|n| ix.get("PersistentVolume", None, n))
                {
                    self.visit(pv, false);
                }
                self.visit_storage_class(pvc.str("spec.storageClassName"));
            }
        }
        for q in ix.of_kind_in("ResourceQuota", ns) {
            self.seen.insert(q.id);
        }
        if services {
            let selecting: Vec<&Obj> = ix
                .of_kind_in("Service", ns)
                .chain(ix.of_kind_in("PodDisruptionBudget", ns))
                .filter(|s| {
                    s.get("spec.selector")
                        .is_some_and(|sel| selector_matches(sel, pod.labels()))
                })
                .collect();
            for s in selecting {
                self.visit(s, false);
            }
        }
    }

    fn visit_storage_class(&mut self, name: Option<&str>) {
        // The named class, or every class when none is named (the default one applies).
        let ix = self.ix;
        let classes: Vec<&Obj> = ix
            .of_kind("StorageClass")
            .filter(|c| name.is_none_or(|n| c.name == n))
            .collect();
        for c in classes {
            self.seen.insert(c.id);
        }
    }

    fn visit_scalers(&mut self, obj: &Obj) {
        let ix = self.ix;
        let hpas: Vec<&Obj> = ix
            .of_kind_in("HorizontalPodAutoscaler", obj.namespace.as_deref())
            .filter(|h| {
                h.str("spec.scaleTargetRef.kind") == Some(&obj.kind)
                    && h.str("spec.scaleTargetRef.name") == Some(&obj.name)
            })
            .collect();
        for h in hpas {
            self.seen.insert(h.id);
        }
    }
}

fn revision(o: &Obj) -> Option<i64> {
    o.get("metadata.annotations")
        .and_then(|a| a.get("deployment.kubernetes.io/revision"))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
}

/// The newest of `objs`: highest `key`, then newest creationTimestamp, then name.
fn newest<'a>(
    objs: impl Iterator<Item = &'a Obj>,
    key: impl Fn(&Obj) -> Option<i64>,
) -> Option<&'a Obj> {
    objs.max_by(|a, b| {
        key(a)
            .cmp(&key(b))
            .then_with(|| a.created().cmp(&b.created()))
            .then_with(|| a.name.cmp(&b.name))
    })
}

/// Names of the PersistentVolumeClaims a pod mounts.
fn pod_claims<'a>(pod: &'a Obj) -> impl Iterator<Item = &'a str> + 'a {
    pod.arr("spec.volumes").iter().filter_map(|v| {
        v.pointer("/persistentVolumeClaim/claimName")
            .and_then(Value::as_str)
    })
}

/// Service names an Ingress routes to (default backend and every path).
fn ingress_backends(ing: &Obj) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |b: &Value| {
        if let Some(n) = b
            .pointer("/service/name")
            .or_else(|| b.get("serviceName"))
            .and_then(Value::as_str)
        {
            out.push(n.to_string());
        }
    };
    if let Some(b) = ing
        .get("spec.defaultBackend")
        .or_else(|| ing.get("spec.backend"))
    {
        add(b);
    }
    for rule in ing.arr("spec.rules") {
        for p in rule
            .pointer("/http/paths")
            .and_then(Value::as_array)
            .unwrap_or(&[])
        {
            if let Some(b) = p.get("backend") {
                add(b);
            }
        }
    }
    out
}

/// Whether a finding concerns the selection: its object, or any link of its chain.
pub fn involves(f: &mosaic_core::explain::Finding, selected: &HashSet<ObjectRef>) -> bool {
    selected.contains(&f.object) || f.chain.iter().any(|c| selected.contains(c))
}

#[cfg(test)]
mod tests;
