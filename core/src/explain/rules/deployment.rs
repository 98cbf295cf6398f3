//! Deployment and ReplicaSet rules: stalled rollouts, missing availability, and pods
//! that cannot even be created (ResourceQuota, admission). Unavailability is a
//! symptom: the engine drops it when a pod-level cause further down the chain explains
//! it. A rollout past its progress deadline is a terminal fact, kept and linked to it.

use super::workloads::{
    cond_evidence, cond_message, cond_reason, cond_status, describe, explain_cmd, int,
    newest_events,
};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Event, Index, Obj};
use crate::explain::value::str_at;

pub const RULES: &[Rule] = &[
    Rule {
        slug: "deployment.progress-deadline",
        kinds: &["Deployment"],
        symptom: false,
        check: progress_deadline,
    },
    Rule {
        slug: "deployment.unavailable",
        kinds: &["Deployment", "ReplicaSet"],
        symptom: true,
        check: unavailable,
    },
    Rule {
        slug: "deployment.replica-failure.quota",
        kinds: &["ReplicaSet", "Deployment"],
        symptom: false,
        check: quota,
    },
    Rule {
        slug: "deployment.replica-failure.admission",
        kinds: &[
            "ReplicaSet",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "Job",
        ],
        symptom: false,
        check: admission,
    },
];

/// The newest ReplicaSet of a Deployment present in the input (by revision annotation).
pub fn newest_replicaset<'a>(ix: &'a Index, dep: &Obj) -> Option<&'a Obj> {
    let rev = |o: &Obj| {
        o.get("metadata.annotations")
            .and_then(|a| a.get("deployment.kubernetes.io/revision"))
            .and_then(|r| r.as_str())
            .and_then(|r| r.parse::<i64>().ok())
    };
    ix.children(dep)
        .filter(|c| c.kind == "ReplicaSet")
        .max_by(|a, b| {
            rev(a)
                .cmp(&rev(b))
                .then_with(|| a.created().cmp(&b.created()))
        })
}

fn progress_deadline(dep: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    if cond_status(dep, "Progressing") != Some("False")
        || cond_reason(dep, "Progressing") != Some("ProgressDeadlineExceeded")
    {
        return vec![];
    }
    let deadline = int(dep, "spec.progressDeadlineSeconds", 600);
    let mut f = Finding::new(
        "deployment.progress-deadline",
        Severity::Error,
        dep.object_ref(),
        format!("Deployment {} stopped making progress: its rollout has not completed within {deadline}s.", dep.name),
    )
    .evidence_all(cond_evidence(dep, "Progressing"));
    if let Some(rs) = newest_replicaset(ix, dep) {
        f = f.fix(format!(
            "Find out why the new pods do not become available: {}",
            explain_cmd(rs)
        ));
    }
    vec![
        f.fix(format!("Watch the rollout: kubectl rollout status deployment/{}{}", dep.name, dep.ns_flag()))
            .fix(format!("Go back to the previous version if needed: kubectl rollout undo deployment/{}{}", dep.name, dep.ns_flag()))
            .learn("A rollout replaces old pods with new ones. If the new pods do not become available within progressDeadlineSeconds (10 minutes by default), Kubernetes marks the rollout as failed; it does not roll back on its own. The reason is almost always in the new pods."),
    ]
}

fn unavailable(o: &Obj, ix: &Index, ctx: &Ctx) -> Vec<Finding> {
    let desired = int(o, "spec.replicas", 1);
    let available = int(o, "status.availableReplicas", 0);
    if desired == 0 || available >= desired || o.get("status").is_none() {
        return vec![];
    }
    if o.kind == "ReplicaSet" {
        // A Deployment's ReplicaSet is reported through the Deployment; pods that were
        // never created are the replica-failure rules' business.
        let owned = ix.owners(o).any(|w| w.kind == "Deployment");
        let young = ctx.settling(o, chrono::Duration::minutes(10));
        if owned || young || cond_status(o, "ReplicaFailure") == Some("True") {
            return vec![];
        }
    } else {
        let available_cond = cond_status(o, "Available");
        if available_cond == Some("True") || (available_cond.is_none() && available > 0) {
            return vec![];
        }
        if cond_reason(o, "Progressing") == Some("ProgressDeadlineExceeded")
            || cond_status(o, "ReplicaFailure") == Some("True")
        {
            return vec![]; // a more specific Deployment finding covers it
        }
    }
    let mut f = Finding::new(
        "deployment.unavailable",
        Severity::Error,
        o.object_ref(),
        format!(
            "{} {} has {available} of {desired} pods available.",
            o.kind, o.name
        ),
    )
    .evidence(o.field("spec.replicas", desired))
    .evidence(o.field("status.availableReplicas", available))
    .evidence_all(cond_evidence(o, "Available"));
    let drill = if o.kind == "Deployment" {
        newest_replicaset(ix, o)
    } else {
        None
    };
    match drill {
        Some(rs) => {
            f = f.fix(format!(
                "Look at the newest ReplicaSet and its pods: {}",
                explain_cmd(rs)
            ))
        }
        None => {
            if o.kind == "Deployment" {
                f = f.evidence(Evidence::note("the input holds none of the Deployment's ReplicaSets or pods, so the cause cannot be shown"));
            }
            f = f.fix(describe(o));
        }
    }
    vec![
        f.learn("Available means a pod has been Ready for at least minReadySeconds. A Deployment owns ReplicaSets, which own the pods; when too few pods are available the cause is in the pods of the newest ReplicaSet (image, crash, scheduling, configuration)."),
    ]
}

/// The ReplicaFailure/FailedCreate messages of an object: the condition, then FailedCreate events.
fn create_failures<'a>(o: &'a Obj, ix: &'a Index) -> (Option<&'a str>, Vec<&'a Event>) {
    let cond = (cond_status(o, "ReplicaFailure") == Some("True"))
        .then(|| cond_message(o, "ReplicaFailure"))
        .flatten();
    let events: Vec<&Event> = ix.events_with(o, &["FailedCreate"]);
    (cond, events)
}

/// A Deployment defers to its ReplicaSets when they carry the failure themselves.
fn child_reports(o: &Obj, ix: &Index, matches: fn(&str) -> bool) -> bool {
    o.kind == "Deployment"
        && ix.children(o).filter(|c| c.kind == "ReplicaSet").any(|rs| {
            let (cond, events) = create_failures(rs, ix);
            cond.is_some_and(matches) || events.iter().any(|e| matches(&e.message))
        })
}

fn is_quota(msg: &str) -> bool {
    re!(r"exceeded quota|failed quota: .*must specify").is_match(msg)
}

/// Which entry check refused the pods, when the message tells.
fn admission_kind(msg: &str) -> Option<&'static str> {
    if re!(r#"error looking up service account|serviceaccount "[^"]+" not found"#).is_match(msg) {
        Some("its service account does not exist")
    } else if re!(r"maximum \w+ usage per (Container|Pod) is|minimum \w+ usage per").is_match(msg) {
        Some("a LimitRange forbids the requested resources")
    } else if re!(r"violates PodSecurity").is_match(msg) {
        Some("the namespace's Pod Security level forbids its settings")
    } else if re!(r#"admission webhook "[^"]+" denied the request|failed calling webhook"#)
        .is_match(msg)
    {
        Some("an admission webhook rejected it")
    } else {
        None
    }
}

fn failure_finding(
    slug: &str,
    o: &Obj,
    ix: &Index,
    matches: fn(&str) -> bool,
) -> Option<(Finding, String)> {
    // A Deployment defers to its ReplicaSet unless its own status carries the
    // condition too (then both report it: the failure is visible where it is stated).
    if child_reports(o, ix, matches) && cond_status(o, "ReplicaFailure") != Some("True") {
        return None;
    }
    let (cond, events) = create_failures(o, ix);
    let hits: Vec<&Event> = events.into_iter().filter(|e| matches(&e.message)).collect();
    let message = cond
        .filter(|m| matches(m))
        .map(str::to_string)
        .or_else(|| hits.last().map(|e| e.message.clone()))?;
    let mut f = Finding::new(slug, Severity::Error, o.object_ref(), String::new()).evidence_all(
        cond_evidence(o, "ReplicaFailure")
            .into_iter()
            .filter(|_| cond.is_some()),
    );
    f = f.evidence_all(newest_events(&hits));
    Some((f, message))
}

fn quota(o: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some((mut f, message)) =
        failure_finding("deployment.replica-failure.quota", o, ix, is_quota)
    else {
        return vec![];
    };
    let name = re!(r"exceeded quota: ([\w.-]+)")
        .captures(&message)
        .map(|c| c[1].to_string());
    f.summary = match &name {
        Some(q) => format!(
            "{} {} cannot create pods: ResourceQuota {q} would be exceeded.",
            o.kind, o.name
        ),
        None => format!(
            "{} {} cannot create pods: a ResourceQuota would be exceeded or requires requests/limits.",
            o.kind, o.name
        ),
    };
    for q in ix
        .of_kind_in("ResourceQuota", o.namespace.as_deref())
        .filter(|q| name.as_deref().is_none_or(|n| q.name == n))
    {
        if let (Some(hard), Some(used)) = (q.get("status.hard"), q.get("status.used")) {
            f = f
                .evidence(q.field("status.hard", hard))
                .evidence(q.field("status.used", used));
        }
    }
    let ns = o.ns_flag();
    vec![
        f.fix(format!("See what the quota allows and what is used: kubectl describe resourcequota{ns}"))
            .fix("Lower the pods' resource requests, remove unused workloads, or ask for a larger quota.")
            .fix(describe(o))
            .learn("A ResourceQuota caps the total CPU, memory or object count of a namespace. When creating one more pod would go over the cap, the API server refuses the pod, so the controller keeps retrying and no new pod appears at all. Quotas on cpu/memory also require every pod to state its requests or limits."),
    ]
}

fn admission(o: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let matches: fn(&str) -> bool = |m| admission_kind(m).is_some();
    let Some((mut f, message)) =
        failure_finding("deployment.replica-failure.admission", o, ix, matches)
    else {
        return vec![];
    };
    let why = admission_kind(&message).unwrap_or("admission rejected it");
    f.summary = format!("{} {} cannot create pods: {why}.", o.kind, o.name);
    if why.contains("service account") {
        let sa = str_at(&o.value, "spec.template.spec.serviceAccountName").unwrap_or("default");
        f = f.fix(format!("Create the service account or fix spec.template.spec.serviceAccountName: kubectl get serviceaccount {sa}{}", o.ns_flag()));
    }
    vec![
        f.fix(describe(o))
            .fix("Read the full refusal in the FailedCreate event and change the pod template (or the policy) accordingly.")
            .learn("Before an object is stored, the API server runs admission checks: service account lookup, LimitRanges, Pod Security and any admission webhooks. If a check refuses the pod, the controller cannot create it, so no pod exists to look at; the reason is only in the controller's FailedCreate event or ReplicaFailure condition."),
    ]
}

#[cfg(test)]
mod tests;
