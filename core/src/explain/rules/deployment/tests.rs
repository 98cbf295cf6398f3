use crate::testing::{cs, event, pod, run, slugs};
use serde_json::{Value, json};

fn deployment(status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "ns", "uid": "d1", "creationTimestamp": "2024-05-01T09:00:00Z"},
        "spec": {"replicas": 2, "progressDeadlineSeconds": 600}, "status": status})
}

fn replicaset(name: &str, rev: &str, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "creationTimestamp": "2024-05-01T09:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": rev},
            "ownerReferences": [{"kind": "Deployment", "name": "api", "uid": "d1", "controller": true}]},
        "spec": {"replicas": 2}, "status": status})
}

fn unavailable_status() -> Value {
    json!({"replicas": 2, "availableReplicas": 0, "unavailableReplicas": 2, "conditions": [
        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."},
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]})
}

#[test]
fn progress_deadline_fires_and_points_at_the_newest_replicaset() {
    let status = json!({"replicas": 2, "conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
         "message": "ReplicaSet \"api-2\" has timed out progressing."}]});
    let objs = vec![
        deployment(status),
        replicaset("api-1", "1", json!({})),
        replicaset("api-2", "2", json!({})),
    ];
    let f = run("deployment.progress-deadline", objs);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].fix.iter().any(|s| s.contains("replicaset/api-2")),
        "{:?}",
        f[0].fix
    );
    assert!(f[0].evidence.iter().any(|e| {
        e.value
            .as_deref()
            .is_some_and(|v| v.starts_with("False (ProgressDeadlineExceeded): ReplicaSet"))
    }));
}

#[test]
fn progress_deadline_near_miss() {
    let status = json!({"conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
    assert!(run("deployment.progress-deadline", vec![deployment(status)]).is_empty());
}

#[test]
fn unavailable_deployment() {
    let f = run(
        "deployment.unavailable",
        vec![deployment(unavailable_status())],
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].summary.contains("0 of 2"), "{}", f[0].summary);
    assert!(
        f[0].evidence.iter().any(|e| e.note.is_some()),
        "says the cause is not in the input"
    );
}

#[test]
fn unavailable_near_misses() {
    let healthy =
        json!({"availableReplicas": 2, "conditions": [{"type": "Available", "status": "True"}]});
    assert!(run("deployment.unavailable", vec![deployment(healthy)]).is_empty());
    // Mid-rollout with maxUnavailable: fewer available but still Available=True.
    let rolling =
        json!({"availableReplicas": 1, "conditions": [{"type": "Available", "status": "True"}]});
    assert!(run("deployment.unavailable", vec![deployment(rolling)]).is_empty());
    // A Deployment's own ReplicaSet is never reported separately.
    let rs = replicaset("api-1", "1", json!({"replicas": 2, "availableReplicas": 0}));
    assert!(
        run(
            "deployment.unavailable",
            vec![deployment(unavailable_status()), rs]
        )
        .iter()
        .all(|f| f.object.kind == "Deployment")
    );
}

#[test]
fn root_cause_replaces_unavailable() {
    let mut crashing = pod(
        "api-2-x",
        json!({}),
        json!({"phase": "Running", "containerStatuses": [cs("app",
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}),
            json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-05-01T10:04:00Z"}}), 6, false)]}),
    );
    crashing["metadata"]["ownerReferences"] =
        json!([{"kind": "ReplicaSet", "name": "api-2", "uid": "uid-api-2", "controller": true}]);
    let objs = vec![
        deployment(unavailable_status()),
        replicaset("api-2", "2", json!({"replicas": 2})),
        crashing,
        event(
            "api-2-x",
            "BackOff",
            "Back-off restarting failed container",
            12,
            "2024-05-01T10:05:00Z",
        ),
    ];
    let s = slugs(objs);
    assert!(!s.iter().any(|s| s == "deployment.unavailable"), "{s:?}");
    assert!(s.iter().any(|s| s.starts_with("pod.")), "{s:?}");
}

fn quota_rs(cond: bool) -> Value {
    let mut rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "app1-6c745778b5", "namespace": "default", "uid": "r9", "creationTimestamp": "2021-07-27T11:27:40Z"},
        "spec": {"replicas": 1}, "status": {"replicas": 0}});
    if cond {
        rs["status"]["conditions"] = json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
            "lastTransitionTime": "2021-07-27T11:27:44Z",
            "message": "pods \"app1-6c745778b5-674xt\" is forbidden: exceeded quota: resource-quota, requested: cpu=800m, used: cpu=6350m, limited: cpu=7"}]);
    }
    rs
}

#[test]
fn quota_from_condition_names_the_quota() {
    let quota = json!({"kind": "ResourceQuota", "metadata": {"name": "resource-quota", "namespace": "default"},
        "status": {"hard": {"cpu": "7"}, "used": {"cpu": "6350m"}}});
    let f = run(
        "deployment.replica-failure.quota",
        vec![quota_rs(true), quota],
    );
    assert_eq!(f.len(), 1);
    assert!(
        f[0].summary.contains("ResourceQuota resource-quota"),
        "{}",
        f[0].summary
    );
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.field.as_deref() == Some("status.hard"))
    );
    assert!(run("deployment.replica-failure.admission", vec![quota_rs(true)]).is_empty());
}

#[test]
fn quota_from_event_only() {
    let ev = json!({"kind": "Event", "involvedObject": {"kind": "ReplicaSet", "name": "app1-6c745778b5", "namespace": "default", "uid": "r9"},
        "reason": "FailedCreate", "type": "Warning", "count": 5, "lastTimestamp": "2021-07-27T11:30:00Z",
        "message": "Error creating: pods \"x\" is forbidden: failed quota: q: must specify limits.cpu"});
    assert_eq!(
        run(
            "deployment.replica-failure.quota",
            vec![quota_rs(false), ev]
        )
        .len(),
        1
    );
}

#[test]
fn quota_near_miss() {
    let mut other = quota_rs(true);
    other["status"]["conditions"][0]["message"] = json!(
        "pods \"x\" is forbidden: error looking up service account ns/robot: serviceaccount \"robot\" not found"
    );
    assert!(run("deployment.replica-failure.quota", vec![other.clone()]).is_empty());
    let f = run("deployment.replica-failure.admission", vec![other]);
    assert_eq!(f.len(), 1);
    assert!(f[0].summary.contains("service account"), "{}", f[0].summary);
    assert!(run("deployment.replica-failure.quota", vec![quota_rs(false)]).is_empty());
}

#[test]
fn admission_on_statefulset_events() {
    let sts = json!({"kind": "StatefulSet", "metadata": {"name": "db", "namespace": "ns", "uid": "s1"}, "spec": {"replicas": 1}});
    let ev = json!({"kind": "Event", "involvedObject": {"kind": "StatefulSet", "name": "db", "namespace": "ns", "uid": "s1"},
        "reason": "FailedCreate", "message": "create Pod db-0 in StatefulSet db failed error: pods \"db-0\" is forbidden: violates PodSecurity \"restricted:latest\": privileged"});
    let f = run(
        "deployment.replica-failure.admission",
        vec![sts.clone(), ev],
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].summary.contains("Pod Security"), "{}", f[0].summary);
    let benign = json!({"kind": "Event", "involvedObject": {"kind": "StatefulSet", "name": "db", "namespace": "ns", "uid": "s1"},
        "reason": "SuccessfulCreate", "message": "create Pod db-0 in StatefulSet db successful"});
    assert!(run("deployment.replica-failure.admission", vec![sts, benign]).is_empty());
}

#[test]
fn deployment_reports_the_replica_failure_its_own_status_states() {
    let mut dep = deployment(
        json!({"conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
        "message": "pods \"api-2-x\" is forbidden: exceeded quota: q"}]}),
    );
    dep["metadata"]["namespace"] = json!("ns");
    let mut rs = replicaset(
        "api-2",
        "2",
        json!({"conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
        "message": "pods \"api-2-x\" is forbidden: exceeded quota: q"}]}),
    );
    rs["metadata"]["namespace"] = json!("ns");
    let f = run(
        "deployment.replica-failure.quota",
        vec![dep.clone(), rs.clone()],
    );
    let mut kinds: Vec<&str> = f.iter().map(|f| f.object.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["Deployment", "ReplicaSet"]);
    // Without the condition on the Deployment, only the ReplicaSet reports it.
    dep["status"]["conditions"] = json!([]);
    let f = run("deployment.replica-failure.quota", vec![dep, rs]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].object.kind, "ReplicaSet");
}
