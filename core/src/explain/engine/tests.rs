//! Unit tests of the engine: chains, collapse, terminal facts, ages, "what changed".
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
    let report = explain(
        vec![pod.clone()],
        &Options {
            now: Some(now),
            ..Options::default()
        },
    );
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let later = chrono::DateTime::parse_from_rfc3339("2024-05-01T11:00:00Z")
        .unwrap()
        .to_utc();
    let report = explain(
        vec![pod],
        &Options {
            now: Some(later),
            ..Options::default()
        },
    );
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

fn at(t: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    Some(chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc())
}

/// A StatefulSet stuck at its first replica, captured alone: its only timestamp is
/// its creation time.
fn lone_statefulset() -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "ns", "uid": "s1", "generation": 1,
            "creationTimestamp": "2026-12-06T18:00:00Z"},
        "spec": {"replicas": 3, "serviceName": "db", "podManagementPolicy": "OrderedReady",
            "selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}},
        "status": {"replicas": 1, "readyReplicas": 0, "currentReplicas": 1, "updatedReplicas": 1,
            "availableReplicas": 0, "observedGeneration": 1, "collisionCount": 0,
            "currentRevision": "db-5d8f6c7b9", "updateRevision": "db-5d8f6c7b9"}})
}

#[test]
fn unknown_age_is_not_just_created() {
    let r = explain(vec![lone_statefulset()], &Options::default());
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!(r.findings[0].slug, "statefulset.not-ready");
    assert!(r.findings[0].evidence.iter().any(|e| {
        e.note
            .as_deref()
            .is_some_and(|n| n.contains("could not be established"))
    }));
    // Shown to be 30 s old by a clock: it may still converge...
    let clock = Options {
        now: at("2026-12-06T18:00:30Z"),
        ..Options::default()
    };
    assert!(
        explain(vec![lone_statefulset()], &clock)
            .findings
            .is_empty()
    );
    // ...unless the caller wants young objects reported (a rollout's first minute).
    let eager = Options {
        settle: false,
        ..clock
    };
    assert_eq!(explain(vec![lone_statefulset()], &eager).findings.len(), 1);
}

#[test]
fn a_condition_time_establishes_age() {
    let mut sts = lone_statefulset();
    // A pod of the set observed 20 s after the set's creation: the set is young.
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "db-0", "namespace": "ns", "uid": "p0", "creationTimestamp": "2026-12-06T18:00:01Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "s1", "controller": true}]},
        "spec": {"containers": [{"name": "db", "image": "postgres:17"}], "nodeName": "n1"},
        "status": {"phase": "Running", "startTime": "2026-12-06T18:00:01Z",
            "conditions": [{"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": "2026-12-06T18:00:20Z"}],
            "containerStatuses": [{"name": "db", "ready": false, "restartCount": 0, "started": true,
                "state": {"running": {"startedAt": "2026-12-06T18:00:05Z"}}, "lastState": {}, "image": "postgres:17"}]}});
    assert!(
        explain(vec![sts.clone(), pod.clone()], &Options::default())
            .findings
            .is_empty()
    );
    // The same set created ten minutes before that observation is reported.
    sts["metadata"]["creationTimestamp"] = json!("2026-12-06T17:50:00Z");
    let r = explain(vec![sts, pod], &Options::default());
    assert_eq!(r.findings[0].slug, "statefulset.not-ready");
}

#[test]
fn a_lone_pending_claim_is_reported() {
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "ns", "uid": "c1", "creationTimestamp": "2026-12-06T18:00:00Z",
            "finalizers": ["kubernetes.io/pvc-protection"]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "fast", "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"}});
    let r = explain(vec![pvc], &Options::default());
    assert_eq!(r.findings[0].slug, "pvc.pending");
}

/// A Deployment on revision 2 whose new pod is OOMKilled while revision 1 is still
/// available; the rollout has passed its progress deadline.
fn oom_rollout() -> Vec<serde_json::Value> {
    let template = |image: &str, memory: &str| {
        json!({"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "app", "image": image,
            "resources": {"limits": {"memory": memory}}}], "restartPolicy": "Always"}})
    };
    let owner = |kind: &str, name: &str, uid: &str| json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}]);
    vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "ns", "uid": "d1", "generation": 2, "creationTimestamp": "2026-12-06T17:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 1, "progressDeadlineSeconds": 600, "selector": {"matchLabels": {"app": "api"}},
                "template": template("shop/api:c3d4", "128Mi")},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1,
                "availableReplicas": 1, "unavailableReplicas": 1, "terminatingReplicas": 0,
                "conditions": [
                    {"type": "Available", "status": "True", "lastUpdateTime": "2026-12-06T17:01:00Z", "lastTransitionTime": "2026-12-06T17:01:00Z",
                     "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "False", "lastUpdateTime": "2026-12-06T18:10:00Z", "lastTransitionTime": "2026-12-06T18:10:00Z",
                     "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"api-new\" has timed out progressing."}]}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "api-old", "namespace": "ns", "uid": "r1", "creationTimestamp": "2026-12-06T17:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "1"}, "ownerReferences": owner("Deployment", "api", "d1")},
            "spec": {"replicas": 1, "template": template("shop/api:a1b2", "512Mi")},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "fullyLabeledReplicas": 1, "observedGeneration": 1}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "api-new", "namespace": "ns", "uid": "r2", "creationTimestamp": "2026-12-06T18:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "2"}, "ownerReferences": owner("Deployment", "api", "d1")},
            "spec": {"replicas": 1, "template": template("shop/api:c3d4", "128Mi")},
            "status": {"replicas": 1, "fullyLabeledReplicas": 1, "observedGeneration": 1}}),
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api-new-x", "namespace": "ns", "uid": "p1", "creationTimestamp": "2026-12-06T18:00:00Z",
                "labels": {"app": "api"}, "ownerReferences": owner("ReplicaSet", "api-new", "r2")},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "containers": [{"name": "app", "image": "shop/api:c3d4",
                "resources": {"limits": {"memory": "128Mi"}, "requests": {"memory": "128Mi"}}}]},
            "status": {"phase": "Running", "startTime": "2026-12-06T18:00:00Z",
                "conditions": [{"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": "2026-12-06T18:00:00Z",
                    "reason": "ContainersNotReady", "message": "containers with unready status: [app]"}],
                "containerStatuses": [{"name": "app", "ready": false, "started": false, "restartCount": 6, "image": "shop/api:c3d4",
                    "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-12-06T18:09:00Z", "finishedAt": "2026-12-06T18:09:04Z"}},
                    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-12-06T18:06:00Z", "finishedAt": "2026-12-06T18:06:04Z"}}}]}}),
    ]
}

#[test]
fn terminal_rollout_failure_stays_linked_to_its_root_cause() {
    let r = explain(oom_rollout(), &Options::default());
    let slugs: Vec<(&str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.slug.as_str(), f.object.kind.as_str()))
        .collect();
    assert!(slugs.contains(&("pod.oom-killed", "Pod")), "{slugs:?}");
    assert!(
        slugs.contains(&("deployment.progress-deadline", "Deployment")),
        "{slugs:?}"
    );
    let dep = r
        .findings
        .iter()
        .find(|f| f.slug == "deployment.progress-deadline")
        .unwrap();
    assert!(dep.evidence.iter().any(|e| {
        e.object.as_deref() == Some("Pod/api-new-x")
            && e.note
                .as_deref()
                .is_some_and(|n| n.starts_with("root cause: "))
    }));
}

#[test]
fn what_changed_ranks_the_memory_limit_first_for_an_oom_kill() {
    let r = explain(oom_rollout(), &Options::default());
    let pod = r
        .findings
        .iter()
        .find(|f| f.slug == "pod.oom-killed")
        .unwrap();
    let changed = pod
        .evidence
        .iter()
        .find_map(|e| e.note.as_deref().filter(|n| n.starts_with("changed since")))
        .expect("a what-changed line");
    assert_eq!(
        changed,
        "changed since revision 1: memory limit of app 512Mi → 128Mi; image of app shop/api:a1b2 → shop/api:c3d4"
    );
}

#[test]
fn no_what_changed_without_an_older_revision() {
    let objs: Vec<_> = oom_rollout()
        .into_iter()
        .filter(|o| o["metadata"]["name"] != "api-old")
        .collect();
    let r = explain(objs, &Options::default());
    assert!(r.findings.iter().all(|f| {
        f.evidence
            .iter()
            .all(|e| !e.note.as_deref().unwrap_or("").starts_with("changed since"))
    }));
}

#[test]
fn unreadable_fields_are_noted_and_the_rest_is_analysed() {
    let bad = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "ns", "creationTimestamp": "not-a-time"},
        "spec": {"containers": [{"name": "app"}]},
        "status": {"phase": "Running", "containerStatuses": {"name": "app"}}});
    let mut objs = oom_rollout();
    objs.push(bad);
    let r = explain(objs, &Options::default());
    assert!(r.findings.iter().any(|f| f.slug == "pod.oom-killed"));
    let note = r
        .notes
        .iter()
        .find(|n| n.starts_with("unreadable"))
        .expect("a note");
    assert!(
        note.contains(
            "Pod ns/bad: metadata.creationTimestamp: \"not-a-time\" is not an RFC 3339 time"
        ),
        "{note}"
    );
    assert!(
        note.contains("Pod ns/bad: status.containerStatuses: an object, expected a list"),
        "{note}"
    );
}
