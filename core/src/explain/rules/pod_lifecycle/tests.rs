//! Unit tests of the rules in `pod_lifecycle.rs`, each with a near miss that must not fire.
use crate::testing::{cs, pod, run, slugs};
use serde_json::json;

#[test]
fn init_crash_loop_is_init_failing_not_crash_loop() {
    let p = pod(
        "p",
        json!({"initContainers": [{"name": "wait"}]}),
        json!({"phase": "Pending",
        "conditions": [{"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized"}],
        "initContainerStatuses": [cs("wait", json!({"waiting": {"reason": "CrashLoopBackOff"}}), json!({"terminated": {"exitCode": 1, "reason": "Error"}}), 6, false)],
        "containerStatuses": [cs("app", json!({"waiting": {"reason": "PodInitializing"}}), json!({}), 0, false)]}),
    );
    assert_eq!(slugs(vec![p]), ["pod.init.failing"]);
}

fn initializing(created: &str) -> serde_json::Value {
    let mut p = pod(
        "p",
        json!({"initContainers": [{"name": "wait"}], "nodeName": "n1"}),
        json!({"phase": "Pending",
        "conditions": [{"type": "Initialized", "status": "False"}],
        "initContainerStatuses": [cs("wait", json!({"waiting": {"reason": "PodInitializing"}}), json!({}), 0, false)],
        "containerStatuses": [cs("app", json!({"waiting": {"reason": "PodInitializing"}}), json!({}), 0, false)]}),
    );
    p["metadata"]["creationTimestamp"] = json!(created);
    p
}

#[test]
fn init_stuck_is_time_dependent() {
    let now = json!({"kind": "Node", "metadata": {"name": "n1", "creationTimestamp": "2024-05-01T15:00:00Z"}});
    assert_eq!(
        run(
            "pod.init.stuck",
            vec![initializing("2024-05-01T10:00:00Z"), now.clone()]
        )
        .len(),
        1
    );
    assert!(
        run(
            "pod.init.stuck",
            vec![initializing("2024-05-01T14:58:00Z"), now]
        )
        .is_empty()
    );
}

#[test]
fn stuck_creating_is_time_dependent() {
    let mk = |created: &str| {
        let mut p = pod(
            "p",
            json!({"nodeName": "n1"}),
            json!({"phase": "Pending", "containerStatuses": [
            cs("app", json!({"waiting": {"reason": "ContainerCreating"}}), json!({}), 0, false)]}),
        );
        p["metadata"]["creationTimestamp"] = json!(created);
        p
    };
    let now = json!({"kind": "Node", "metadata": {"name": "n1", "creationTimestamp": "2024-05-01T11:00:00Z"}});
    assert_eq!(
        run(
            "pod.stuck-creating",
            vec![mk("2024-05-01T10:00:00Z"), now.clone()]
        )
        .len(),
        1
    );
    assert!(run("pod.stuck-creating", vec![mk("2024-05-01T10:59:30Z"), now]).is_empty());
}

#[test]
fn evicted_names_the_resource() {
    let p = pod(
        "p",
        json!({"nodeName": "n1"}),
        json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory. "}),
    );
    let f = run("pod.evicted", vec![p]);
    assert!(f[0].summary.contains("short of memory"), "{}", f[0].summary);
    let failed = pod(
        "q",
        json!({}),
        json!({"phase": "Failed", "reason": "DeadlineExceeded"}),
    );
    assert!(run("pod.evicted", vec![failed]).is_empty());
}

#[test]
fn evicted_for_disk_pressure_reads_plainly() {
    let p = pod(
        "p",
        json!({}),
        json!({"phase": "Failed", "reason": "Evicted", "message": "The node had condition: [DiskPressure]. "}),
    );
    assert!(
        run("pod.evicted", vec![p])[0]
            .summary
            .contains("short of disk space")
    );
}

#[test]
fn init_killed_by_pod_deletion_is_not_failing() {
    let mut p = pod(
        "p",
        json!({"initContainers": [{"name": "wait"}]}),
        json!({"phase": "Pending",
        "initContainerStatuses": [cs("wait", json!({"terminated": {"exitCode": 137, "reason": "Error"}}), json!({}), 0, false)]}),
    );
    assert_eq!(run("pod.init.failing", vec![p.clone()]).len(), 1);
    p["metadata"]["deletionTimestamp"] = json!("2024-05-01T10:00:30Z");
    assert!(run("pod.init.failing", vec![p]).is_empty());
}

#[test]
fn terminating_only_when_overdue() {
    let mut p = pod("p", json!({}), json!({"phase": "Running"}));
    p["metadata"]["deletionTimestamp"] = json!("2024-05-01T10:00:00Z");
    let later = json!({"kind": "Node", "metadata": {"name": "n", "creationTimestamp": "2024-05-01T10:30:00Z"}});
    assert_eq!(
        run("pod.stuck-terminating", vec![p.clone(), later]).len(),
        1
    );
    let soon = json!({"kind": "Node", "metadata": {"name": "n", "creationTimestamp": "2024-05-01T10:00:10Z"}});
    assert!(run("pod.stuck-terminating", vec![p, soon]).is_empty());
}

#[test]
fn failed_job_pod_but_not_succeeded_or_oom() {
    let mk = |reason: &str, code: i64| {
        pod(
            "p",
            json!({"restartPolicy": "Never"}),
            json!({"phase": "Failed", "containerStatuses": [
        cs("app", json!({"terminated": {"exitCode": code, "reason": reason}}), json!({}), 0, false)]}),
        )
    };
    assert_eq!(slugs(vec![mk("Error", 1)]), ["pod.failed"]);
    assert_eq!(slugs(vec![mk("OOMKilled", 137)]), ["pod.oom-killed"]);
    let ok = pod(
        "p",
        json!({"restartPolicy": "Never"}),
        json!({"phase": "Succeeded", "containerStatuses": [
        cs("app", json!({"terminated": {"exitCode": 0, "reason": "Completed"}}), json!({}), 0, false)]}),
    );
    assert!(slugs(vec![ok]).is_empty());
}

#[test]
fn failed_with_sigkill_is_only_possible() {
    let p = pod(
        "p",
        json!({"restartPolicy": "Never"}),
        json!({"phase": "Failed", "containerStatuses": [
            cs("app", json!({"terminated": {"exitCode": 137, "reason": "Error"}}), json!({}), 0, false)]}),
    );
    let f = run("pod.failed", vec![p]);
    assert!(f[0].possible);
}

#[test]
fn quiet_pods_are_exactly_the_obviously_healthy_ones() {
    use super::super::pod::quiet;
    use crate::explain::index::Index;
    let healthy = pod(
        "p",
        json!({}),
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [cs("app", json!({"running": {}}), json!({}), 0, true)]}),
    );
    let restarted = pod(
        "q",
        json!({}),
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [cs("app", json!({"running": {}}), json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}), 1, true)]}),
    );
    let mut deleting = healthy.clone();
    deleting["metadata"]["name"] = json!("r");
    deleting["metadata"]["deletionTimestamp"] = json!("2024-05-01T10:00:00Z");
    let ix = Index::build(vec![healthy, restarted, deleting]);
    let q: Vec<bool> = ix.objects().iter().map(quiet).collect();
    assert_eq!(q, [true, false, false]);
}

/// A pod deleted at 10:00 with a 30 s grace (the API server sets deletionTimestamp to
/// the deletion time plus the grace), observed at 10:30.
fn deleted(finalizers: &[&str], state: serde_json::Value) -> Vec<serde_json::Value> {
    let mut p = pod(
        "p",
        json!({"nodeName": "n", "terminationGracePeriodSeconds": 30}),
        json!({"phase": "Running", "containerStatuses": [cs("app", state, json!({}), 0, false)]}),
    );
    p["metadata"]["deletionTimestamp"] = json!("2024-05-01T10:00:30Z");
    p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    p["metadata"]["finalizers"] = json!(finalizers);
    let node = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "n", "creationTimestamp": "2024-04-01T00:00:00Z"},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "lastHeartbeatTime": "2024-05-01T10:30:00Z"}]}});
    vec![p, node]
}

#[test]
fn stuck_terminating_names_the_finalizer_that_holds_it() {
    let stopped = json!({"terminated": {"exitCode": 0, "reason": "Completed",
        "startedAt": "2024-05-01T09:00:00Z", "finishedAt": "2024-05-01T10:00:05Z"}});
    let f = run(
        "pod.stuck-terminating",
        deleted(&["example.com/cleanup"], stopped.clone()),
    );
    assert_eq!(f.len(), 1);
    assert!(
        f[0].summary.contains(
            "its containers have stopped, and the finalizer example.com/cleanup still holds the object"
        ),
        "{}",
        f[0].summary
    );
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.field.as_deref() == Some("metadata.finalizers")
                && e.value.as_deref() == Some("example.com/cleanup"))
    );
    assert!(
        f[0].fix
            .iter()
            .any(|x| x.contains("owns example.com/cleanup")),
        "{:?}",
        f[0].fix
    );
    // Still running past its grace, no finalizer: the kubelet could not stop it.
    let running = json!({"running": {"startedAt": "2024-05-01T09:00:00Z"}});
    let f = run("pod.stuck-terminating", deleted(&[], running));
    assert!(
        f[0].summary
            .contains("a container still runs past the grace period"),
        "{}",
        f[0].summary
    );
}
