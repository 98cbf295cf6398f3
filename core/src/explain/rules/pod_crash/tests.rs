//! Unit tests of the crash-loop rules on pods shaped as kubelet 1.36 writes them
//! (a crash loop spends most of each back-off in `state.terminated`), each with a
//! near miss that must not fire.
use crate::testing::{run, slugs};
use serde_json::{Value, json};

/// A Deployment's pod as the API server returns it on 1.36, with one container `app`
/// whose status is `app`.
fn pod_with(app: Value, restart_policy: Option<&str>) -> Value {
    let mut spec = json!({
        "containers": [{"name": "app", "image": "registry.example:5000/shop/api:c3d4",
            "imagePullPolicy": "IfNotPresent", "resources": {},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
        "dnsPolicy": "ClusterFirst", "enableServiceLinks": true, "nodeName": "node-1",
        "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "schedulerName": "default-scheduler",
        "securityContext": {}, "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
    });
    // The API server defaults restartPolicy to Always; older captures may omit it.
    if let Some(p) = restart_policy {
        spec["restartPolicy"] = json!(p);
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "api-6d9f7c8b5-x2x7k", "namespace": "shop", "uid": "0b6f3d1e-7d0a-4d55-9a3e-5b1e2c9f1a10",
            "generateName": "api-6d9f7c8b5-", "creationTimestamp": "2026-12-06T18:00:00Z",
            "labels": {"app": "api", "pod-template-hash": "6d9f7c8b5"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-6d9f7c8b5",
                "uid": "5e1c7a2b-3f4d-4c1e-8b9a-0d2e3f4a5b6c", "controller": true, "blockOwnerDeletion": true}]},
        "spec": spec,
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-12-06T18:00:02Z"},
                {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-12-06T18:00:00Z"},
                {"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": "2026-12-06T18:00:03Z",
                    "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
                {"type": "ContainersReady", "status": "False", "lastProbeTime": null, "lastTransitionTime": "2026-12-06T18:00:03Z",
                    "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-12-06T18:00:00Z"}
            ],
            "hostIP": "10.0.0.5", "hostIPs": [{"ip": "10.0.0.5"}],
            "podIP": "10.244.0.12", "podIPs": [{"ip": "10.244.0.12"}],
            "startTime": "2026-12-06T18:00:00Z",
            "containerStatuses": [app],
            "qosClass": "BestEffort"
        }
    })
}

fn terminated(code: i64, reason: &str, started: &str, finished: &str) -> Value {
    json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": finished,
        "containerID": "containerd://9f1c2d3e4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff"}})
}

fn status(state: Value, last: Value, restarts: i64) -> Value {
    json!({"name": "app", "state": state, "lastState": last, "ready": false, "restartCount": restarts,
        "image": "registry.example:5000/shop/api:c3d4",
        "imageID": "registry.example:5000/shop/api@sha256:4b1d0c6a0e5f7e2d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d",
        "containerID": "containerd://9f1c2d3e4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff",
        "started": false,
        "volumeMounts": [{"name": "kube-api-access-7xk2p", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "readOnly": true, "recursiveReadOnly": "Disabled"}]})
}

/// The kubelet's BackOff event for container `app` of the pod above.
fn backoff(count: i64) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "api-6d9f7c8b5-x2x7k.187e4b2a1c3d5e6f", "namespace": "shop",
            "creationTimestamp": "2026-12-06T18:00:12Z"},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "api-6d9f7c8b5-x2x7k", "namespace": "shop",
            "uid": "0b6f3d1e-7d0a-4d55-9a3e-5b1e2c9f1a10", "resourceVersion": "4711", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container app in pod api-6d9f7c8b5-x2x7k_shop(0b6f3d1e-7d0a-4d55-9a3e-5b1e2c9f1a10)",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2026-12-06T18:00:12Z", "lastTimestamp": "2026-12-06T18:01:30Z",
        "count": count, "type": "Warning", "eventTime": null, "reportingComponent": "kubelet", "reportingInstance": "node-1"
    })
}

/// Kubelet >= 1.35 between two restarts: terminated, not waiting.
fn young_crash_loop() -> Value {
    pod_with(
        status(
            terminated(3, "Error", "2026-12-06T18:01:20Z", "2026-12-06T18:01:21Z"),
            terminated(3, "Error", "2026-12-06T18:00:40Z", "2026-12-06T18:00:41Z"),
            3,
        ),
        Some("Always"),
    )
}

#[test]
fn terminated_between_restarts_is_a_crash_loop() {
    let f = run("pod.crash-loop", vec![young_crash_loop(), backoff(4)]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].summary,
        "crash loop: container app exits with code 3 about 1 s after start (restarted 3 times)"
    );
    assert!(f[0].summary.len() <= 140);
    assert_eq!(f[0].severity, crate::explain::Severity::Error);
    assert_eq!(f[0].object.kind, "Pod");
    let fields: Vec<&str> = f[0]
        .evidence
        .iter()
        .filter_map(|e| e.field.as_deref())
        .collect();
    assert!(fields.contains(&"status.containerStatuses[name=app].state.terminated.exitCode"));
    assert!(fields.contains(&"status.containerStatuses[name=app].restartCount"));
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.reason.as_deref() == Some("BackOff") && e.count == Some(4))
    );
    assert_eq!(
        slugs(vec![young_crash_loop(), backoff(4)]),
        ["pod.crash-loop"]
    );
}

#[test]
fn restart_policy_defaults_to_always() {
    let mut p = young_crash_loop();
    p["spec"].as_object_mut().unwrap().remove("restartPolicy");
    assert_eq!(run("pod.crash-loop", vec![p]).len(), 1);
}

#[test]
fn waiting_in_back_off_still_reads_the_last_run() {
    let p = pod_with(
        status(
            json!({"waiting": {"reason": "CrashLoopBackOff",
                "message": "back-off 40s restarting failed container=app pod=api-6d9f7c8b5-x2x7k_shop(0b6f3d1e-7d0a-4d55-9a3e-5b1e2c9f1a10)"}}),
            terminated(1, "Error", "2026-12-06T18:01:20Z", "2026-12-06T18:04:20Z"),
            5,
        ),
        Some("Always"),
    );
    let f = run("pod.crash-loop", vec![p]);
    assert_eq!(
        f[0].summary,
        "crash loop: container app exits with code 1 about 3m after start (restarted 5 times)"
    );
}

#[test]
fn first_exit_before_any_restart_is_not_yet_a_loop() {
    let p = pod_with(
        status(
            terminated(3, "Error", "2026-12-06T18:00:02Z", "2026-12-06T18:00:03Z"),
            json!({}),
            0,
        ),
        Some("Always"),
    );
    assert!(run("pod.crash-loop", vec![p]).is_empty());
}

#[test]
fn job_pods_that_fail_are_not_crash_loops() {
    let p = pod_with(
        status(
            terminated(3, "Error", "2026-12-06T18:01:20Z", "2026-12-06T18:01:21Z"),
            terminated(3, "Error", "2026-12-06T18:00:40Z", "2026-12-06T18:00:41Z"),
            3,
        ),
        Some("OnFailure"),
    );
    assert!(run("pod.crash-loop", vec![p]).is_empty());
}

#[test]
fn running_again_is_left_to_the_restart_rule() {
    let p = pod_with(
        status(
            json!({"running": {"startedAt": "2026-12-06T18:01:40Z"}}),
            terminated(3, "Error", "2026-12-06T18:01:20Z", "2026-12-06T18:01:21Z"),
            3,
        ),
        Some("Always"),
    );
    assert!(run("pod.crash-loop", vec![p]).is_empty());
}

#[test]
fn oom_killed_stays_its_own_cause() {
    let p = pod_with(
        status(
            terminated(
                137,
                "OOMKilled",
                "2026-12-06T18:01:20Z",
                "2026-12-06T18:01:25Z",
            ),
            terminated(
                137,
                "OOMKilled",
                "2026-12-06T18:00:40Z",
                "2026-12-06T18:00:45Z",
            ),
            3,
        ),
        Some("Always"),
    );
    assert_eq!(slugs(vec![p, backoff(3)]), ["pod.oom-killed"]);
}

#[test]
fn exit_zero_terminated_between_restarts_is_completed_loop() {
    let p = pod_with(
        status(
            terminated(
                0,
                "Completed",
                "2026-12-06T18:01:20Z",
                "2026-12-06T18:01:20Z",
            ),
            terminated(
                0,
                "Completed",
                "2026-12-06T18:00:40Z",
                "2026-12-06T18:00:40Z",
            ),
            2,
        ),
        None,
    );
    assert_eq!(slugs(vec![p]), ["pod.crash-loop.completed"]);
}
