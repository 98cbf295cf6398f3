//! HorizontalPodAutoscaler and PodDisruptionBudget rules: autoscaling that cannot
//! compute (no requests, no metrics) or is capped, and budgets that block evictions.

use super::workloads::{
    cond_evidence, cond_message, cond_reason, cond_status, describe, int, newest_events,
};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Event, Index, Obj};
use crate::explain::value::str_at;

pub const RULES: &[Rule] = &[
    Rule {
        slug: "hpa.missing-requests",
        kinds: &["HorizontalPodAutoscaler"],
        symptom: false,
        check: missing_requests,
    },
    Rule {
        slug: "hpa.metrics-unavailable",
        kinds: &["HorizontalPodAutoscaler"],
        symptom: false,
        check: metrics_unavailable,
    },
    Rule {
        slug: "hpa.target-missing",
        kinds: &["HorizontalPodAutoscaler"],
        symptom: false,
        check: target_missing,
    },
    Rule {
        slug: "hpa.at-max-replicas",
        kinds: &["HorizontalPodAutoscaler"],
        symptom: false,
        check: at_max,
    },
    Rule {
        slug: "pdb.no-disruptions-allowed",
        kinds: &["PodDisruptionBudget"],
        symptom: false,
        check: no_disruptions,
    },
];

const METRIC_EVENTS: &[&str] = &[
    "FailedGetResourceMetric",
    "FailedComputeMetricsReplicas",
    "FailedGetPodsMetric",
    "FailedGetExternalMetric",
    "FailedGetObjectMetric",
    "FailedGetContainerResourceMetric",
];

fn missing_request_re(m: &str) -> bool {
    re!(r"missing request for (cpu|memory)").is_match(m)
}

/// The HPA's metric failure: condition message when ScalingActive=False, else the newest metric event.
fn metric_failure<'a>(hpa: &'a Obj, ix: &'a Index) -> Option<(String, Vec<&'a Event>)> {
    let events = ix.events_with(hpa, METRIC_EVENTS);
    let inactive = cond_status(hpa, "ScalingActive") == Some("False");
    let msg = inactive
        .then(|| cond_message(hpa, "ScalingActive"))
        .flatten()
        .map(str::to_string);
    let msg = msg.or_else(|| events.last().map(|e| e.message.clone()))?;
    (inactive || !events.is_empty()).then_some((msg, events))
}

fn target(hpa: &Obj) -> String {
    format!(
        "{}/{}",
        str_at(&hpa.value, "spec.scaleTargetRef.kind").unwrap_or("?"),
        str_at(&hpa.value, "spec.scaleTargetRef.name").unwrap_or("?")
    )
}

fn missing_requests(hpa: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some((msg, events)) = metric_failure(hpa, ix) else {
        return vec![];
    };
    if !missing_request_re(&msg) && !events.iter().any(|e| missing_request_re(&e.message)) {
        return vec![];
    }
    let resource = re!(r"missing request for (cpu|memory)")
        .captures(&msg)
        .map_or("cpu".to_string(), |c| c[1].to_string());
    let mut f = Finding::new(
        "hpa.missing-requests",
        Severity::Warning,
        hpa.object_ref(),
        format!(
            "HorizontalPodAutoscaler {} cannot scale: the pods of {} have no {resource} request.",
            hpa.name,
            target(hpa)
        ),
    )
    .evidence_all(cond_evidence(hpa, "ScalingActive"))
    .evidence_all(newest_events(&events));
    let kind = str_at(&hpa.value, "spec.scaleTargetRef.kind").unwrap_or_default();
    if let Some(t) = str_at(&hpa.value, "spec.scaleTargetRef.name")
        .and_then(|n| ix.get(kind, hpa.namespace.as_deref(), n))
    {
        for c in t.arr("spec.template.spec.containers") {
            if c.pointer(&format!("/resources/requests/{resource}"))
                .is_none()
            {
                let name = str_at(c, "name").unwrap_or("?");
                f = f.evidence(t.field(
                    format!(
                        "spec.template.spec.containers[name={name}].resources.requests.{resource}"
                    ),
                    "<unset>",
                ));
            }
        }
    }
    vec![
        f.fix(format!("Set resources.requests.{resource} on every container of {}, e.g. kubectl set resources {} --requests={resource}={}{}",
            target(hpa), target(hpa).to_lowercase(), if resource == "cpu" { "100m" } else { "128Mi" }, hpa.ns_flag()))
            .learn("Utilization targets are percentages of what each pod requested. A container without a request has no 100%, so the autoscaler cannot compute utilization and keeps the current replica count."),
    ]
}

fn metrics_unavailable(hpa: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some((msg, events)) = metric_failure(hpa, ix) else {
        return vec![];
    };
    if missing_request_re(&msg) || events.iter().any(|e| missing_request_re(&e.message)) {
        return vec![];
    }
    let reason = cond_reason(hpa, "ScalingActive").unwrap_or_default();
    let metric_reason = reason.starts_with("FailedGet") || !events.is_empty();
    let metric_msg = re!(r"unable to get metrics|unable to fetch metrics|could not find the requested resource|no metrics returned").is_match(&msg);
    if !metric_reason && !metric_msg {
        return vec![];
    }
    vec![
        Finding::new(
            "hpa.metrics-unavailable",
            Severity::Warning,
            hpa.object_ref(),
            format!("HorizontalPodAutoscaler {} cannot read the metrics it scales on.", hpa.name),
        )
        .evidence_all(cond_evidence(hpa, "ScalingActive"))
        .evidence_all(newest_events(&events))
        .fix("Check that the metrics API answers: kubectl get apiservice v1beta1.metrics.k8s.io && kubectl top pods".to_string() + &hpa.ns_flag())
        .fix("Install or repair metrics-server (or the adapter serving custom/external metrics).")
        .fix(describe(hpa))
        .learn("The autoscaler does not measure load itself: it asks the metrics API (served by metrics-server, or an adapter for custom metrics). If that API is missing or failing, the autoscaler cannot decide and leaves the replica count alone."),
    ]
}

fn target_missing(hpa: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let cond = (cond_status(hpa, "AbleToScale") == Some("False")
        && cond_reason(hpa, "AbleToScale") == Some("FailedGetScale"))
    .then(|| cond_message(hpa, "AbleToScale").unwrap_or_default());
    let events = ix.events_with(hpa, &["FailedGetScale"]);
    let message = cond
        .map(str::to_string)
        .or_else(|| events.last().map(|e| e.message.clone()));
    // "deployments.apps \"api\" not found": the target is missing, not just unreadable.
    if !message.as_deref().is_some_and(|m| m.contains("not found")) {
        return vec![];
    }
    vec![
        Finding::new(
            "hpa.target-missing",
            Severity::Error,
            hpa.object_ref(),
            format!(
                "HorizontalPodAutoscaler {} scales {}, which does not exist.",
                hpa.name,
                target(hpa)
            ),
        )
        .evidence_all(cond_evidence(hpa, "AbleToScale"))
        .evidence_all(newest_events(&events))
        .fix(format!(
            "Check the name in spec.scaleTargetRef against: kubectl get {}{}",
            str_at(&hpa.value, "spec.scaleTargetRef.kind")
                .unwrap_or("deployment")
                .to_lowercase(),
            hpa.ns_flag()
        ))
        .fix("Fix spec.scaleTargetRef, or delete the autoscaler if the workload is gone.")
        .fix(describe(hpa)),
    ]
}

fn at_max(hpa: &Obj, _: &Index, _: &Ctx) -> Vec<Finding> {
    if cond_status(hpa, "ScalingLimited") != Some("True")
        || cond_reason(hpa, "ScalingLimited") != Some("TooManyReplicas")
    {
        return vec![];
    }
    let max = int(hpa, "spec.maxReplicas", 0);
    let desired = int(hpa, "status.desiredReplicas", max);
    vec![
        Finding::new(
            "hpa.at-max-replicas",
            Severity::Warning,
            hpa.object_ref(),
            format!("HorizontalPodAutoscaler {} wants more replicas but is capped at maxReplicas {max}.", hpa.name),
        )
        .evidence_all(cond_evidence(hpa, "ScalingLimited"))
        .evidence(hpa.field("spec.maxReplicas", max))
        .evidence(hpa.field("status.desiredReplicas", desired))
        .fix(format!("If the load is expected, raise the cap: kubectl patch hpa {} --type=merge -p '{{\"spec\":{{\"maxReplicas\":{}}}}}'{}", hpa.name, max * 2, hpa.ns_flag()))
        .fix("Otherwise find out why the load (or per-pod usage) is so high.")
        .learn("maxReplicas is a safety cap on how far the autoscaler may scale out. At the cap, extra load is shared by the existing pods, which may slow down or fail their probes."),
    ]
}

fn no_disruptions(pdb: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(allowed) = pdb
        .get("status.disruptionsAllowed")
        .and_then(|v| v.as_i64())
    else {
        return vec![];
    };
    let expected = int(pdb, "status.expectedPods", 0);
    if allowed > 0 || expected == 0 {
        return vec![];
    }
    let healthy = int(pdb, "status.currentHealthy", 0);
    let desired = int(pdb, "status.desiredHealthy", 0);
    let why = if healthy < desired {
        format!("only {healthy} of the {desired} pods it requires are healthy")
    } else {
        format!("it requires all {desired} healthy pods to stay up")
    };
    let mut f = Finding::new(
        "pdb.no-disruptions-allowed",
        Severity::Warning,
        pdb.object_ref(),
        format!(
            "PodDisruptionBudget {} allows no evictions: {why}; node drains will block.",
            pdb.name
        ),
    )
    .evidence(pdb.field("status.disruptionsAllowed", allowed))
    .evidence(pdb.field("status.currentHealthy", healthy))
    .evidence(pdb.field("status.desiredHealthy", desired))
    .evidence(pdb.field("status.expectedPods", expected));
    for key in ["spec.minAvailable", "spec.maxUnavailable"] {
        if let Some(v) = pdb.get(key) {
            f = f.evidence(pdb.field(
                key,
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            ));
        }
    }
    if healthy < desired {
        if let Some(sel) = pdb.get("spec.selector")
            && let Some(p) = ix
                .pods_selected(pdb.namespace.as_deref(), sel)
                .find(|p| cond_status(p, "Ready") != Some("True"))
        {
            f = f.fix(format!(
                "Fix the unhealthy pod first: kubectl mosaic explain pod/{}{}",
                p.name,
                p.ns_flag()
            ));
        }
    } else {
        f = f.fix("Run more replicas than minAvailable (or allow maxUnavailable ≥ 1) so one pod can be evicted at a time.");
    }
    f = f.evidence_all(
        ix.events(pdb)
            .iter()
            .rev()
            .take(2)
            .map(|e| e.evidence())
            .collect::<Vec<Evidence>>(),
    );
    vec![
        f.fix(describe(pdb))
            .learn("A PodDisruptionBudget limits voluntary evictions (drains, upgrades, autoscaler scale-down). When disruptionsAllowed is 0, every eviction is refused with \"Cannot evict pod as it would violate the pod's disruption budget\", so node maintenance waits."),
    ]
}

#[cfg(test)]
mod tests;
