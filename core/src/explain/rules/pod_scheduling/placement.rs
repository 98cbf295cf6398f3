//! Pod rules for constraints the pod itself sets on where it may run and that no
//! node satisfies: node selector and required node affinity, pod (anti-)affinity,
//! topology spread, and claims that are missing or not bound.

use crate::explain::tree::Value;

use super::when;
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::rules::Ctx;
use crate::explain::rules::pod::finding;
use crate::explain::value::str_at;

pub(super) fn node_selector(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let re = re!(r"didn't match (Pod's )?node (affinity/)?selector");
    when(pod, ix, re, |_| {
        let mut f = finding(
            "pod.unschedulable.node-selector",
            Severity::Error,
            pod,
            format!(
                "Pod {} cannot be scheduled: no node has the labels its nodeSelector or required node affinity asks for.",
                pod.name
            ),
        );
        if let Some(sel) = pod.get("spec.nodeSelector").filter(|v| !v.is_null()) {
            f = f.evidence(pod.field("spec.nodeSelector", sel));
        }
        let aff = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution";
        if let Some(a) = pod.get(aff) {
            f = f.evidence(pod.field(aff, terms(a)));
        }
        f.fix("Compare with the node labels: kubectl get nodes --show-labels")
            .fix("Fix the selector/affinity in the pod template, or label a node: kubectl label node NODE KEY=VALUE")
    })
}

/// Required node affinity as `key Op [values]` terms.
fn terms(a: &Value) -> String {
    let mut out = Vec::new();
    for t in a
        .get("nodeSelectorTerms")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for e in t
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let vals: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.push(format!(
                "{} {} [{}]",
                str_at(e, "key").unwrap_or("?"),
                str_at(e, "operator").unwrap_or("?"),
                vals.join(", ")
            ));
        }
    }
    if out.is_empty() {
        a.to_string()
    } else {
        out.join(" and ")
    }
}

pub(super) fn pod_affinity(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let re =
        re!(r"didn't (satisfy existing pods anti-affinity rules|match pod (anti-)?affinity rules)");
    when(pod, ix, re, |_| {
        finding(
            "pod.unschedulable.pod-affinity",
            Severity::Error,
            pod,
            format!("Pod {} cannot be scheduled: no node satisfies its required pod affinity or anti-affinity rules.", pod.name),
        )
        .fix(format!("Read the rules: kubectl get pod {}{} -o jsonpath='{{.spec.affinity}}'", pod.name, pod.ns_flag()))
        .fix("Use preferredDuringScheduling instead of required, lower the replica count, or add nodes (anti-affinity needs one node per replica).")
    })
}

pub(super) fn topology_spread(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let re = re!(r"didn't match pod topology spread constraints");
    when(pod, ix, re, |_| {
        finding(
            "pod.unschedulable.topology-spread",
            Severity::Error,
            pod,
            format!("Pod {} cannot be scheduled: every placement would break a DoNotSchedule topology spread constraint.", pod.name),
        )
        .fix("Check how existing pods are spread over zones/nodes: kubectl get pods -o wide --show-labels")
        .fix("Raise maxSkew, switch whenUnsatisfiable to ScheduleAnyway, or add nodes in the missing topology domain.")
    })
}

pub(super) fn unbound_pvc(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let re = re!(
        r#"pod has unbound immediate PersistentVolumeClaims|persistentvolumeclaim "[^"]+" (not found|is being deleted)|bound to non-existent persistentvolume|didn't find available persistent volumes to bind|volume node affinity conflict|didn't match PersistentVolume's node affinity|had no available volume zone"#
    );
    when(pod, ix, re, |_| {
        let mut f = finding(
            "pod.unschedulable.unbound-pvc",
            Severity::Error,
            pod,
            String::new(),
        );
        let mut names = Vec::new();
        for v in pod.arr("spec.volumes") {
            if let Some(claim) = str_at(v, "persistentVolumeClaim.claimName") {
                let state = match ix.get("PersistentVolumeClaim", pod.namespace.as_deref(), claim) {
                    Some(pvc) => pvc.str("status.phase").unwrap_or("unknown").to_string(),
                    None => "not in the input".to_string(),
                };
                f = f.evidence(Evidence::field(
                    format!("PersistentVolumeClaim/{claim}"),
                    "status.phase",
                    &state,
                ));
                names.push(claim.to_string());
            }
        }
        let claims = if names.is_empty() {
            "a PersistentVolumeClaim".to_string()
        } else {
            format!("claim {}", names.join(", "))
        };
        f.summary = format!(
            "Pod {} cannot be scheduled: {claims} it uses is missing or not bound to a volume.",
            pod.name
        );
        f.fix(format!(
            "Inspect the claims: kubectl get pvc{} and kubectl describe pvc NAME{}",
            pod.ns_flag(),
            pod.ns_flag()
        ))
        .fix(
            "Create the missing claim, or fix its storageClassName so a volume can be provisioned.",
        )
    })
}
