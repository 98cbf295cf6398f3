//! StatefulSet and DaemonSet rules, and the small helpers the non-Pod rule files
//! share (conditions as evidence, replica counts, `kubectl` hints).

use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Event, Index, Obj};
use crate::explain::value::{i64_at, str_at};

pub const RULES: &[Rule] = &[
    Rule {
        slug: "statefulset.not-ready",
        kinds: &["StatefulSet"],
        symptom: true,
        check: statefulset_not_ready,
    },
    Rule {
        slug: "daemonset.not-ready",
        kinds: &["DaemonSet"],
        symptom: true,
        check: daemonset_not_ready,
    },
];

/// `status` of condition `ty` ("True"/"False"/"Unknown").
pub fn cond_status<'a>(o: &'a Obj, ty: &str) -> Option<&'a str> {
    o.condition(ty).and_then(|c| str_at(c, "status"))
}

/// `reason` of condition `ty`.
pub fn cond_reason<'a>(o: &'a Obj, ty: &str) -> Option<&'a str> {
    o.condition(ty).and_then(|c| str_at(c, "reason"))
}

/// `message` of condition `ty` (empty = absent).
pub fn cond_message<'a>(o: &'a Obj, ty: &str) -> Option<&'a str> {
    o.condition(ty)
        .and_then(|c| str_at(c, "message"))
        .filter(|m| !m.is_empty())
}

/// One evidence line for condition `ty`: `status (reason): message`.
pub fn cond_evidence(o: &Obj, ty: &str) -> Vec<Evidence> {
    let Some(c) = o.condition(ty) else {
        return Vec::new();
    };
    let part = |k: &str| str_at(c, k).filter(|v| !v.is_empty());
    let mut value = part("status").unwrap_or("?").to_string();
    if let Some(r) = part("reason") {
        value.push_str(&format!(" ({r})"));
    }
    if let Some(m) = part("message") {
        value.push_str(&format!(": {m}"));
    }
    vec![o.field(format!("status.conditions[type={ty}]"), value)]
}

/// An integer field, absent = `default`.
pub fn int(o: &Obj, path: &str, default: i64) -> i64 {
    i64_at(&o.value, path).unwrap_or(default)
}

/// Evidence for up to three events, newest first.
pub fn newest_events(events: &[&Event]) -> Vec<Evidence> {
    events.iter().rev().take(3).map(|e| e.evidence()).collect()
}

/// `kubectl describe <kind> NAME -n NS` as a fix line.
pub fn describe(o: &Obj) -> String {
    format!(
        "Inspect it and its events: kubectl describe {} {}{}",
        o.kind.to_lowercase(),
        o.name,
        o.ns_flag()
    )
}

/// `kubectl mosaic explain <kind>/NAME -n NS` for drilling down.
pub fn explain_cmd(o: &Obj) -> String {
    format!(
        "kubectl mosaic explain {}/{}{}",
        o.kind.to_lowercase(),
        o.name,
        o.ns_flag()
    )
}

/// Whether a pod's Ready condition is True.
pub fn pod_ready(p: &Obj) -> bool {
    cond_status(p, "Ready") == Some("True")
}

/// Pods owned by `o`, by name.
fn owned_pods<'a>(ix: &'a Index, o: &Obj) -> Vec<&'a Obj> {
    let mut pods: Vec<&Obj> = ix.children(o).filter(|c| c.kind == "Pod").collect();
    pods.sort_by_key(|p| ordinal(&p.name));
    pods
}

fn ordinal(name: &str) -> (i64, String) {
    let n = name
        .rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(i64::MAX);
    (n, name.to_string())
}

/// Workloads shown to be recently created get a moment to converge.
fn settling(o: &Obj, ctx: &Ctx) -> bool {
    ctx.settling(o, chrono::Duration::minutes(2))
}

fn statefulset_not_ready(sts: &Obj, ix: &Index, ctx: &Ctx) -> Vec<Finding> {
    let desired = int(sts, "spec.replicas", 1);
    let ready = int(sts, "status.readyReplicas", 0);
    if desired == 0 || ready >= desired || sts.get("status").is_none() || settling(sts, ctx) {
        return vec![];
    }
    let severity = if ready == 0 {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut f = Finding::new(
        "statefulset.not-ready",
        severity,
        sts.object_ref(),
        format!(
            "StatefulSet {} has {ready} of {desired} replicas ready.",
            sts.name
        ),
    )
    .evidence(sts.field("spec.replicas", desired))
    .evidence(sts.field("status.readyReplicas", ready))
    .evidence_all(ctx.unknown_age_note(sts));
    let ordered =
        str_at(&sts.value, "spec.podManagementPolicy").unwrap_or("OrderedReady") == "OrderedReady";
    if let Some(stuck) = owned_pods(ix, sts).into_iter().find(|p| !pod_ready(p)) {
        let why = if ordered {
            " (OrderedReady: later ordinals wait for it)"
        } else {
            ""
        };
        f = f
            .evidence(Evidence::note(format!(
                "first pod not ready: {}{why}",
                stuck.name
            )))
            .fix(format!("Explain the stuck pod: {}", explain_cmd(stuck)));
    }
    vec![
        f.fix(describe(sts))
            .learn("A StatefulSet runs numbered pods (name-0, name-1, …) that keep their identity and storage. With the default OrderedReady policy each pod must be Ready before the next one starts, so one broken pod holds back all later ones."),
    ]
}

fn daemonset_not_ready(ds: &Obj, ix: &Index, ctx: &Ctx) -> Vec<Finding> {
    let desired = int(ds, "status.desiredNumberScheduled", 0);
    let ready = int(ds, "status.numberReady", 0);
    let misscheduled = int(ds, "status.numberMisscheduled", 0);
    let unavailable = int(ds, "status.numberUnavailable", 0);
    if (ready >= desired && misscheduled == 0 && unavailable == 0) || settling(ds, ctx) {
        return vec![];
    }
    let severity = if ready == 0 && desired > 0 {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut summary = format!("DaemonSet {} has {ready} of {desired} pods ready", ds.name);
    if misscheduled > 0 {
        summary.push_str(&format!(
            ", and {misscheduled} running on nodes where they should not"
        ));
    }
    summary.push('.');
    let mut f = Finding::new("daemonset.not-ready", severity, ds.object_ref(), summary)
        .evidence(ds.field("status.desiredNumberScheduled", desired))
        .evidence(ds.field("status.numberReady", ready))
        .evidence_all(ctx.unknown_age_note(ds));
    if unavailable > 0 {
        f = f.evidence(ds.field("status.numberUnavailable", unavailable));
    }
    if misscheduled > 0 {
        f = f.evidence(ds.field("status.numberMisscheduled", misscheduled));
    }
    f = f.evidence_all(newest_events(
        &ix.events_with(ds, &["FailedDaemonPod", "FailedCreate"]),
    ));
    if let Some(p) = owned_pods(ix, ds).into_iter().find(|p| !pod_ready(p)) {
        f = f.fix(format!(
            "Explain a pod that is not ready: {}",
            explain_cmd(p)
        ));
    }
    vec![
        f.fix(describe(ds))
            .learn("A DaemonSet runs one copy of a pod on every node (or every node its selector allows). Not-ready counts mean some nodes lack a healthy copy: look at those pods, or at node taints the DaemonSet does not tolerate."),
    ]
}

#[cfg(test)]
mod tests {
    use crate::testing::run;
    use serde_json::json;

    fn sts(replicas: i64, ready: Option<i64>) -> serde_json::Value {
        let mut status = json!({"replicas": replicas});
        if let Some(r) = ready {
            status["readyReplicas"] = json!(r);
        }
        json!({"kind": "StatefulSet", "metadata": {"name": "db", "namespace": "ns", "uid": "s1",
            "creationTimestamp": "2024-05-01T09:00:00Z"}, "spec": {"replicas": replicas}, "status": status})
    }

    fn pod(name: &str, ready: &str) -> serde_json::Value {
        json!({"kind": "Pod", "metadata": {"name": name, "namespace": "ns", "creationTimestamp": "2024-05-01T10:00:00Z",
            "ownerReferences": [{"kind": "StatefulSet", "name": "db", "uid": "s1", "controller": true}]},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}})
    }

    #[test]
    fn statefulset_names_first_stuck_ordinal() {
        let f = run(
            "statefulset.not-ready",
            vec![
                sts(3, Some(1)),
                pod("db-0", "True"),
                pod("db-2", "False"),
                pod("db-1", "False"),
            ],
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].summary.contains("1 of 3"), "{}", f[0].summary);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.note.as_deref().is_some_and(|n| n.contains("db-1"))),
            "{:?}",
            f[0].evidence
        );
    }

    #[test]
    fn statefulset_near_misses() {
        assert!(run("statefulset.not-ready", vec![sts(3, Some(3))]).is_empty());
        assert!(run("statefulset.not-ready", vec![sts(0, None)]).is_empty());
        // Created a minute before the newest timestamp: still settling.
        let mut young = sts(2, None);
        young["metadata"]["creationTimestamp"] = json!("2024-05-01T09:59:30Z");
        assert!(run("statefulset.not-ready", vec![young, pod("db-0", "False")]).is_empty());
    }

    fn ds(desired: i64, ready: i64, miss: i64) -> serde_json::Value {
        json!({"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "ns", "creationTimestamp": "2024-05-01T09:00:00Z"},
            "status": {"desiredNumberScheduled": desired, "numberReady": ready, "numberMisscheduled": miss,
                       "numberUnavailable": desired - ready, "observedGeneration": 1},
            "x": "2024-05-01T10:00:00Z"})
    }

    #[test]
    fn daemonset_missing_pods() {
        let f = run("daemonset.not-ready", vec![ds(3, 2, 0)]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, crate::explain::Severity::Warning);
        let f = run("daemonset.not-ready", vec![ds(3, 0, 0)]);
        assert_eq!(f[0].severity, crate::explain::Severity::Error);
        assert!(
            !run("daemonset.not-ready", vec![ds(3, 3, 1)]).is_empty(),
            "misscheduled pods count"
        );
    }

    #[test]
    fn daemonset_near_miss() {
        assert!(run("daemonset.not-ready", vec![ds(3, 3, 0)]).is_empty());
        assert!(run("daemonset.not-ready", vec![ds(0, 0, 0)]).is_empty());
    }
}
