//! Runs the rules over an index and turns raw rule output into a report: per-object
//! `supersedes`, chains from owner references, default teaching text, and the
//! root-cause collapse of symptom findings.

use std::collections::HashSet;

use super::Report;
use super::catalog;
use super::finding::{Finding, ObjectRef};
use super::index::{Index, Obj, selector_matches};
use super::rules::{self, Ctx};

/// Runs every rule over an already built index.
pub fn explain_index(index: &Index, ctx: &Ctx) -> Report {
    let rules = rules::all();
    let mut found: Vec<(Finding, bool)> = Vec::new();
    for obj in index.objects() {
        let start = found.len();
        // Healthy pods (most of a dump) skip the Pod rules; see `rules::pod::quiet`.
        let quiet_pod = obj.kind == "Pod" && rules::pod::quiet(obj);
        for rule in rules.iter().filter(|r| {
            r.kinds.contains(&obj.kind.as_str()) && !(quiet_pod && r.slug.starts_with("pod."))
        }) {
            found.extend(
                (rule.check)(obj, index, ctx)
                    .into_iter()
                    .map(|f| (f, rule.symptom)),
            );
        }
        if found.len() == start {
            continue;
        }
        let here: Vec<String> = found[start..].iter().map(|(f, _)| f.slug.clone()).collect();
        let mut i = start;
        while i < found.len() {
            if here
                .iter()
                .any(|s| catalog::supersedes(s, &found[i].0.slug))
            {
                found.remove(i);
            } else {
                i += 1;
            }
        }
        let chain = index.chain(obj);
        for (f, _) in &mut found[start..] {
            if f.chain.is_empty() {
                f.chain.clone_from(&chain);
            }
            if f.learn.is_none() {
                f.learn = catalog::mode(&f.slug).map(|m| m.explanation.to_string());
            }
        }
    }
    Report {
        findings: collapse(index, found),
        notes: index.notes(),
    }
}

/// Root cause first: drops a symptom finding on object X when a cause (non-symptom)
/// finding sits on an object whose chain passes through X, or on a Pod that X (a
/// Service) selects. Returns the rest, most severe first.
fn collapse(index: &Index, found: Vec<(Finding, bool)>) -> Vec<Finding> {
    let mut above_causes: HashSet<&ObjectRef> = HashSet::new();
    let mut pods_with_causes: HashSet<usize> = HashSet::new();
    for (f, symptom) in &found {
        if *symptom {
            continue;
        }
        above_causes.extend(f.chain.iter().filter(|r| **r != f.object));
        if f.object.kind == "Pod"
            && let Some(p) = index.get("Pod", f.object.namespace.as_deref(), &f.object.name)
        {
            pods_with_causes.insert(p.id);
        }
    }
    let cause_pods: Vec<&Obj> = pods_with_causes
        .iter()
        .map(|&id| &index.objects()[id])
        .collect();
    let explained = |x: &ObjectRef| {
        above_causes.contains(x)
            || (x.kind == "Service"
                && !cause_pods.is_empty()
                && index
                    .get("Service", x.namespace.as_deref(), &x.name)
                    .and_then(|svc| svc.get("spec.selector"))
                    .is_some_and(|sel| {
                        cause_pods.iter().any(|p| {
                            p.namespace == x.namespace && selector_matches(sel, p.labels())
                        })
                    }))
    };
    let keep: Vec<bool> = found
        .iter()
        .map(|(f, symptom)| !*symptom || !explained(&f.object))
        .collect();
    let mut out: Vec<Finding> = found
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|((f, _), _)| f)
        .collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.object.namespace.cmp(&b.object.namespace))
            .then_with(|| a.object.kind.cmp(&b.object.kind))
            .then_with(|| a.object.name.cmp(&b.object.name))
            .then_with(|| a.slug.cmp(&b.slug))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::finding::Severity;
    use crate::explain::{Options, explain};
    use serde_json::json;

    fn chain_objects() -> Vec<serde_json::Value> {
        vec![
            json!({"kind": "Deployment", "metadata": {"name": "api", "namespace": "ns", "uid": "d1"}}),
            json!({"kind": "ReplicaSet", "metadata": {"name": "api-7f", "namespace": "ns", "uid": "r1",
                "ownerReferences": [{"kind": "Deployment", "name": "api", "uid": "d1", "controller": true}]}}),
            json!({"kind": "Pod", "metadata": {"name": "api-7f-x", "namespace": "ns", "uid": "p1", "labels": {"app": "api"},
                "creationTimestamp": "2024-05-01T10:00:00Z",
                "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7f", "uid": "r1", "controller": true}]},
              "spec": {"containers": [{"name": "app"}]},
              "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 6, "ready": false,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}),
            json!({"kind": "Service", "metadata": {"name": "api", "namespace": "ns"}, "spec": {"selector": {"app": "api"}}}),
        ]
    }

    #[test]
    fn cause_carries_the_chain_and_teaching_text() {
        let report = explain(chain_objects(), &Options::default());
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.slug, "pod.crash-loop");
        let chain: Vec<&str> = f.chain.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(chain, ["Deployment", "ReplicaSet", "Pod"]);
        assert!(f.learn.as_deref().is_some_and(|l| !l.is_empty()));
    }

    fn symptom_on(kind: &str, name: &str) -> (Finding, bool) {
        let obj = ObjectRef {
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: name.into(),
        };
        (
            Finding::new(
                "deployment.unavailable",
                Severity::Error,
                obj,
                "unavailable",
            ),
            true,
        )
    }

    #[test]
    fn symptoms_collapse_into_causes_below_them() {
        let index = Index::build(chain_objects());
        let pod = index.get("Pod", Some("ns"), "api-7f-x").unwrap();
        let mut cause = Finding::new("pod.crash-loop", Severity::Error, pod.object_ref(), "crash");
        cause.chain = index.chain(pod);
        let found = vec![
            symptom_on("Deployment", "api"),
            symptom_on("ReplicaSet", "api-7f"),
            symptom_on("Service", "api"),
            symptom_on("Deployment", "other"),
            (cause, false),
        ];
        let kept: Vec<String> = collapse(&index, found)
            .iter()
            .map(|f| format!("{}/{}", f.object.kind, f.object.name))
            .collect();
        assert_eq!(kept, ["Deployment/other", "Pod/api-7f-x"]);
    }

    #[test]
    fn symptoms_stay_without_a_cause() {
        let index = Index::build(chain_objects());
        let kept = collapse(&index, vec![symptom_on("Deployment", "api")]);
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn pending_for_a_few_seconds_is_normal() {
        let pod = json!({"kind": "Pod", "metadata": {"name": "new", "namespace": "ns", "creationTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {"containers": [{"name": "app"}], "nodeName": "n1"},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "restartCount": 0, "ready": false,
                "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        let now = chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:08Z")
            .unwrap()
            .to_utc();
        let report = explain(vec![pod.clone()], &Options { now: Some(now) });
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        let later = chrono::DateTime::parse_from_rfc3339("2024-05-01T11:00:00Z")
            .unwrap()
            .to_utc();
        let report = explain(vec![pod], &Options { now: Some(later) });
        assert_eq!(report.findings[0].slug, "pod.stuck-creating");
    }

    #[test]
    fn empty_input_says_so() {
        let report = explain(vec![], &Options::default());
        assert!(report.findings.is_empty());
        assert_eq!(report.notes, ["the input holds no objects"]);
    }

    #[test]
    fn healthy_objects_produce_nothing() {
        let healthy = json!({"kind": "Pod", "metadata": {"name": "ok", "namespace": "ns"},
            "spec": {"containers": [{"name": "app"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 0, "ready": true,
                "state": {"running": {"startedAt": "2024-05-01T10:00:00Z"}}}]}});
        assert!(
            explain(vec![healthy], &Options::default())
                .findings
                .is_empty()
        );
    }
}
