//! The walk from a target along what it reaches: a workload's newest revision and
//! its pods, a pod's node, claims, quotas and the Services selecting it, a Service's
//! endpoints and pods, an Ingress's backends, and the context objects (older
//! revisions, nodes, sibling pods) the engine needs to judge them.

use std::collections::BTreeSet;

use mosaic_core::explain::rules::node_facts::pod_unschedulable;
use mosaic_core::explain::tree::Value;
use mosaic_core::explain::{Index, Obj, selector_matches};

pub(super) struct Walk<'a> {
    pub(super) ix: &'a Index,
    /// Objects the target involves: findings on them are reported.
    pub(super) seen: BTreeSet<usize>,
    /// Objects the engine needs to judge the involved ones, but whose own findings are not reported.
    pub(super) context: BTreeSet<usize>,
}

impl<'a> Walk<'a> {
    /// Add `obj` and what it leads to. `services`: whether a Pod may lead on to the
    /// Services selecting it (not when the Pod was reached from a Service).
    pub(super) fn visit(&mut self, obj: &'a Obj, services: bool) {
        if !self.seen.insert(obj.id) {
            return;
        }
        match obj.kind.as_str() {
            "Deployment" => self.visit_deployment(obj, services),
            "CronJob" => {
                let jobs = self.ix.children(obj).filter(|c| c.kind == "Job");
                if let Some(job) = newest(jobs, |_| None) {
                    self.visit(job, services);
                }
            }
            "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
                self.visit_workload(obj, services)
            }
            "Pod" => self.visit_pod(obj, services),
            "Service" => self.visit_service(obj, services),
            "Ingress" => self.visit_ingress(obj),
            "PersistentVolumeClaim" => self.visit_claim(obj),
            "HorizontalPodAutoscaler" => {
                let kind = obj.str("spec.scaleTargetRef.kind").unwrap_or_default();
                let ns = obj.namespace.as_deref();
                if let Some(t) = obj
                    .str("spec.scaleTargetRef.name")
                    .and_then(|n| self.ix.get(kind, ns, n))
                {
                    self.visit(t, services);
                }
            }
            "PodDisruptionBudget" => {
                if let Some(sel) = obj.get("spec.selector") {
                    for p in self.ix.pods_selected(obj.namespace.as_deref(), sel) {
                        self.visit(p, false);
                    }
                }
            }
            "Node" => {
                // The pods left Pending with unschedulable nodes are the evidence of a cordon.
                let ix = self.ix;
                self.context.extend(
                    ix.of_kind("Pod")
                        .filter(|p| pod_unschedulable(&p.value))
                        .map(|p| p.id),
                );
            }
            _ => {}
        }
    }

    /// Its newest ReplicaSet, its older ones as context, and its autoscalers.
    fn visit_deployment(&mut self, obj: &'a Obj, services: bool) {
        let ix = self.ix;
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

    /// A ReplicaSet's, StatefulSet's, DaemonSet's or Job's pods, its revisions as
    /// context, and its autoscalers.
    fn visit_workload(&mut self, obj: &'a Obj, services: bool) {
        let ix = self.ix;
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

    /// A Service's Endpoints and EndpointSlices, and the pods it selects.
    fn visit_service(&mut self, obj: &'a Obj, services: bool) {
        let ix = self.ix;
        let ns = obj.namespace.as_deref();
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

    /// An Ingress's backend Services, its class and its TLS Secrets.
    fn visit_ingress(&mut self, obj: &'a Obj) {
        let ix = self.ix;
        let ns = obj.namespace.as_deref();
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

    /// A claim's volume, its storage class and the pods that mount it.
    fn visit_claim(&mut self, obj: &'a Obj) {
        let ix = self.ix;
        if let Some(pv) = obj
            .str("spec.volumeName")
            .and_then(|n| ix.get("PersistentVolume", None, n))
        {
            self.visit(pv, false);
        }
        self.visit_storage_class(obj.str("spec.storageClassName"));
        let users: Vec<&Obj> = ix
            .of_kind_in("Pod", obj.namespace.as_deref())
            .filter(|p| pod_claims(p).any(|c| c == obj.name))
            .collect();
        for p in users {
            self.visit(p, false);
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
