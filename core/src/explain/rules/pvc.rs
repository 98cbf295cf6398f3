//! PersistentVolumeClaim rules: claims that stay Pending (not the normal wait for a
//! first consumer) and claims whose volume is gone.

use super::workloads::{describe, newest_events};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Event, Index, Obj};
use crate::explain::value::str_at;

pub const RULES: &[Rule] = &[
    Rule {
        slug: "pvc.pending",
        kinds: &["PersistentVolumeClaim"],
        symptom: false,
        check: pending,
    },
    Rule {
        slug: "pvc.lost",
        kinds: &["PersistentVolumeClaim"],
        symptom: false,
        check: lost,
    },
];

const PVC_EVENTS: &[&str] = &[
    "ProvisioningFailed",
    "FailedBinding",
    "ExternalProvisioning",
    "WaitForFirstConsumer",
    "WaitForPodScheduled",
];

fn is_default_class(c: &Obj) -> bool {
    let ann = |k: &str| {
        c.get("metadata.annotations")
            .and_then(|a| a.get(k))
            .and_then(|v| v.as_str())
            == Some("true")
    };
    ann("storageclass.kubernetes.io/is-default-class")
        || ann("storageclass.beta.kubernetes.io/is-default-class")
}

/// Pods in the claim's namespace that mount it.
fn consumers<'a>(ix: &'a Index, pvc: &'a Obj) -> Vec<&'a Obj> {
    ix.of_kind_in("Pod", pvc.namespace.as_deref())
        .filter(|p| {
            p.arr("spec.volumes").iter().any(|v| {
                v.pointer("/persistentVolumeClaim/claimName")
                    .and_then(|n| n.as_str())
                    == Some(pvc.name.as_str())
            })
        })
        .collect()
}

fn pending(pvc: &Obj, ix: &Index, ctx: &Ctx) -> Vec<Finding> {
    if pvc.str("status.phase") != Some("Pending") {
        return vec![];
    }
    let events = ix.events_with(pvc, PVC_EVENTS);
    let class_name = str_at(&pvc.value, "spec.storageClassName");
    let classes: Vec<&Obj> = ix.of_kind("StorageClass").collect();
    let class = match class_name {
        Some(n) => classes.iter().copied().find(|c| c.name == n),
        None => classes.iter().copied().find(|c| is_default_class(c)),
    };
    let wffc = class.is_some_and(|c| c.str("volumeBindingMode") == Some("WaitForFirstConsumer"))
        || events.iter().any(|e| e.reason == "WaitForFirstConsumer");
    let users = consumers(ix, pvc);
    if wffc && !users.iter().any(|p| p.str("spec.nodeName").is_some()) {
        return vec![]; // normal: binding waits until a pod using the claim is scheduled
    }
    let failing: Vec<_> = events
        .iter()
        .copied()
        .filter(|e| e.reason != "WaitForFirstConsumer")
        .collect();
    // Pending for a minute is normal; an age the input cannot establish is not young.
    let old = !ctx.settling(pvc, chrono::Duration::minutes(1));
    if failing.is_empty() && !old {
        return vec![];
    }
    let (why, fix) = why_pending(pvc, class_name, &classes, class, &failing);
    let mut f = Finding::new(
        "pvc.pending",
        Severity::Error,
        pvc.object_ref(),
        format!("PersistentVolumeClaim {} is Pending: {why}.", pvc.name),
    )
    .evidence(pvc.field("status.phase", "Pending"))
    .evidence_all(ctx.unknown_age_note(pvc));
    if let Some(n) = class_name {
        f = f.evidence(pvc.field("spec.storageClassName", n));
    }
    if let Some(c) = class {
        f = f.evidence(c.field(
            "volumeBindingMode",
            c.str("volumeBindingMode").unwrap_or("Immediate"),
        ));
    }
    f = f.evidence_all(newest_events(&failing));
    if failing.is_empty() {
        f = f.evidence(Evidence::note(
            "no provisioning events are in the input; they may have expired",
        ));
    }
    if let Some(p) = users.first() {
        f = f.evidence(Evidence::note(format!("used by pod {}", p.name)));
    }
    vec![
        f.fix(fix)
            .fix(describe(pvc))
            .learn("A PersistentVolumeClaim asks for storage; a PersistentVolume is the disk that fulfils it, made by hand or created on demand by the StorageClass's provisioner. Pending means no disk has been bound yet. With volumeBindingMode WaitForFirstConsumer that is normal until a pod using the claim is scheduled."),
    ]
}

/// Why a claim is Pending, and what to do: a missing class, a provisioner's failure,
/// no default class, no matching volume, an external provisioner, or unknown.
fn why_pending(
    pvc: &Obj,
    class_name: Option<&str>,
    classes: &[&Obj],
    class: Option<&Obj>,
    failing: &[&Event],
) -> (String, String) {
    let ns = pvc.ns_flag();
    if let Some(n) = class_name.filter(|n| !n.is_empty() && !classes.is_empty() && class.is_none())
    {
        (
            format!("StorageClass {n:?} does not exist"),
            "Use an existing class (kubectl get storageclass) in spec.storageClassName; the field cannot be changed, so recreate the claim".to_string(),
        )
    } else if let Some(e) = failing
        .iter()
        .rev()
        .find(|e| e.reason == "ProvisioningFailed")
    {
        let m = re!(r#"storageclass\.storage\.k8s\.io "([^"]+)" not found"#)
            .captures(&e.message)
            .map(|c| c[1].to_string());
        match m {
            Some(n) => (
                format!("StorageClass {n:?} does not exist"),
                "Use an existing class (kubectl get storageclass) and recreate the claim"
                    .to_string(),
            ),
            None => (
                "the provisioner failed to create a volume".to_string(),
                "Read the ProvisioningFailed event and check the provisioner's logs".to_string(),
            ),
        }
    } else if class_name.is_none() && !classes.is_empty() && class.is_none() {
        (
            "no storage class is named and the cluster has no default StorageClass".to_string(),
            "Name a class in spec.storageClassName, or mark one as default".to_string(),
        )
    } else if failing.iter().any(|e| e.reason == "FailedBinding") {
        (
            "no PersistentVolume matches the claim and nothing can create one".to_string(),
            "Create a matching PersistentVolume, or use a StorageClass with a provisioner"
                .to_string(),
        )
    } else if failing.iter().any(|e| e.reason == "ExternalProvisioning") {
        (
            "it is waiting for an external provisioner to create the volume".to_string(),
            "Check that the CSI driver / provisioner for the class is installed and running"
                .to_string(),
        )
    } else {
        (
            "no volume has been bound to it".to_string(),
            format!(
                "Check the claim's events: kubectl describe pvc {}{ns}",
                pvc.name
            ),
        )
    }
}

fn lost(pvc: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    if pvc.str("status.phase") != Some("Lost") {
        return vec![];
    }
    let mut f = Finding::new(
        "pvc.lost",
        Severity::Error,
        pvc.object_ref(),
        format!(
            "PersistentVolumeClaim {} is Lost: the volume it was bound to no longer exists.",
            pvc.name
        ),
    )
    .evidence(pvc.field("status.phase", "Lost"));
    if let Some(v) = str_at(&pvc.value, "spec.volumeName") {
        f = f.evidence(pvc.field("spec.volumeName", v));
        if ix.of_kind("PersistentVolume").next().is_some()
            && ix.get("PersistentVolume", None, v).is_none()
        {
            f = f.evidence(Evidence::note(format!(
                "PersistentVolume {v} is not in the input"
            )));
        }
    }
    vec![
        f.fix("Restore the PersistentVolume from a backup (same name), or delete the claim and let the workload create a new one (data will be empty).")
            .fix(describe(pvc))
            .learn("A claim is bound to exactly one PersistentVolume. If that volume object is deleted while the claim still points at it, the claim turns Lost, and pods using it cannot start."),
    ]
}

#[cfg(test)]
mod tests {
    use crate::testing::run;
    use serde_json::{Value, json};

    fn pvc(class: Option<&str>, phase: &str) -> Value {
        let mut p = json!({"kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "metadata": {"name": "data", "namespace": "ns", "uid": "c1", "creationTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": phase}});
        if let Some(c) = class {
            p["spec"]["storageClassName"] = json!(c);
        }
        p
    }

    fn class(name: &str, mode: &str) -> Value {
        json!({"kind": "StorageClass", "apiVersion": "storage.k8s.io/v1", "metadata": {"name": name}, "provisioner": "x", "volumeBindingMode": mode})
    }

    fn clock(t: &str) -> Value {
        json!({"kind": "ConfigMap", "metadata": {"name": "clock", "namespace": "ns", "creationTimestamp": t}})
    }

    fn user(node: Option<&str>) -> Value {
        let mut p = json!({"kind": "Pod", "metadata": {"name": "db-0", "namespace": "ns"},
            "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}});
        if let Some(n) = node {
            p["spec"]["nodeName"] = json!(n);
        }
        p
    }

    #[test]
    fn missing_storage_class() {
        let f = run(
            "pvc.pending",
            vec![
                pvc(Some("fast"), "Pending"),
                class("standard", "Immediate"),
                clock("2024-05-01T10:10:00Z"),
            ],
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].summary
                .contains("StorageClass \"fast\" does not exist"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn provisioning_failed_event() {
        let ev = json!({"kind": "Event", "involvedObject": {"kind": "PersistentVolumeClaim", "name": "data", "namespace": "ns", "uid": "c1"},
            "reason": "ProvisioningFailed", "message": "storageclass.storage.k8s.io \"fast\" not found", "count": 4,
            "lastTimestamp": "2024-05-01T10:00:30Z"});
        let f = run("pvc.pending", vec![pvc(Some("fast"), "Pending"), ev]);
        assert_eq!(f.len(), 1, "an event is enough, even when young");
        assert!(f[0].summary.contains("\"fast\""), "{}", f[0].summary);
    }

    #[test]
    fn wait_for_first_consumer_is_normal() {
        let objs = vec![
            pvc(Some("local"), "Pending"),
            class("local", "WaitForFirstConsumer"),
            clock("2024-05-01T12:00:00Z"),
        ];
        assert!(
            run("pvc.pending", objs.clone()).is_empty(),
            "no consumer yet"
        );
        let mut with_unscheduled = objs.clone();
        with_unscheduled.push(user(None));
        assert!(
            run("pvc.pending", with_unscheduled).is_empty(),
            "consumer not scheduled yet"
        );
        let mut scheduled = objs;
        scheduled.push(user(Some("n1")));
        assert_eq!(
            run("pvc.pending", scheduled).len(),
            1,
            "scheduled consumer and still Pending"
        );
    }

    #[test]
    fn near_misses() {
        assert!(
            run(
                "pvc.pending",
                vec![
                    pvc(Some("standard"), "Bound"),
                    class("standard", "Immediate")
                ]
            )
            .is_empty()
        );
        // Pending for a few seconds with no events: normal provisioning time.
        assert!(
            run(
                "pvc.pending",
                vec![
                    pvc(Some("standard"), "Pending"),
                    class("standard", "Immediate"),
                    clock("2024-05-01T10:00:20Z")
                ]
            )
            .is_empty()
        );
        assert!(run("pvc.lost", vec![pvc(None, "Bound")]).is_empty());
    }

    #[test]
    fn lost_claim() {
        let mut p = pvc(None, "Lost");
        p["spec"]["volumeName"] = json!("pv-1");
        let f = run("pvc.lost", vec![p]);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.value.as_deref() == Some("pv-1"))
        );
    }
}
