//! Unit tests of the failure modes added for issue 14 item 9 (admission rejection,
//! preemption, host ports, layer transfer failures, a missing HPA target, a
//! suspended CronJob), on objects shaped as the API server, scheduler and kubelet
//! write them, each with a near miss.
use crate::testing::{cs, event, pod, run, slugs};
use serde_json::json;

#[test]
fn kubelet_admission_rejection() {
    let p = pod(
        "p",
        json!({"nodeName": "node-1"}),
        json!({"phase": "Failed", "reason": "OutOfcpu",
            "message": "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 1500, capacity: 2000",
            "startTime": "2024-05-01T10:00:01Z"}),
    );
    let f = run("pod.admission-rejected", vec![p.clone()]);
    assert_eq!(
        f[0].summary,
        "kubelet on node node-1 rejected the pod (OutOfcpu): the node had not enough cpu left"
    );
    assert_eq!(slugs(vec![p]), ["pod.admission-rejected"]);
    let evicted = pod(
        "e",
        json!({"nodeName": "node-1"}),
        json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory. "}),
    );
    assert!(run("pod.admission-rejected", vec![evicted]).is_empty());
}

#[test]
fn preemption_by_condition_or_event() {
    let p = pod(
        "p",
        json!({"nodeName": "node-1", "priority": 0}),
        json!({"phase": "Running", "conditions": [
            {"type": "DisruptionTarget", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:05:00Z",
             "reason": "PreemptionByScheduler", "message": "default-scheduler: preempting to accommodate a higher priority pod"}]}),
    );
    assert_eq!(run("pod.preempted", vec![p]).len(), 1);
    let q = pod(
        "q",
        json!({"nodeName": "node-1"}),
        json!({"phase": "Running"}),
    );
    let e = event(
        "q",
        "Preempted",
        "Preempted by pod 7d2c1b0a-1e2f-4a3b-9c8d-0e1f2a3b4c5d on node node-1",
        1,
        "2024-05-01T10:05:00Z",
    );
    assert_eq!(run("pod.preempted", vec![q.clone(), e]).len(), 1);
    assert!(run("pod.preempted", vec![q]).is_empty());
}

#[test]
fn host_port_taken_everywhere() {
    let p = pod(
        "p",
        json!({"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}]}]}),
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
            "lastTransitionTime": "2024-05-01T10:00:00Z", "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."}]}),
    );
    let f = run("pod.unschedulable.host-port", vec![p.clone()]);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.value.as_deref() == Some("8080"))
    );
    assert_eq!(slugs(vec![p]), ["pod.unschedulable.host-port"]);
}

#[test]
fn layer_transfer_failure_differs_from_not_found() {
    let p = pod(
        "p",
        json!({}),
        json!({"phase": "Pending", "containerStatuses": [cs("app", json!({"waiting": {"reason": "ErrImagePull",
            "message": "failed to pull and unpack image \"docker.io/library/postgres:17\": failed to copy: httpReadSeeker: failed open: unexpected EOF"}}), json!({}), 0, false)]}),
    );
    assert_eq!(slugs(vec![p]), ["pod.image-pull.transfer-failed"]);
}

#[test]
fn hpa_whose_target_is_missing() {
    let hpa = |reason: &str, message: &str| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "api", "namespace": "ns", "creationTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "minReplicas": 1, "maxReplicas": 5},
            "status": {"currentReplicas": 0, "desiredReplicas": 0, "conditions": [
                {"type": "AbleToScale", "status": "False", "lastTransitionTime": "2024-05-01T10:00:15Z", "reason": reason, "message": message}]}})
    };
    let f = run(
        "hpa.target-missing",
        vec![hpa(
            "FailedGetScale",
            "the HPA controller was unable to get the target's current scale: deployments.apps \"api\" not found",
        )],
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].summary.contains("Deployment/api"), "{}", f[0].summary);
    assert!(
        run(
            "hpa.target-missing",
            vec![hpa(
                "SucceededGetScale",
                "the HPA controller was able to get the target's current scale"
            )]
        )
        .is_empty()
    );
}

#[test]
fn suspended_cronjob_is_information() {
    let cj = |suspend: bool| {
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "report", "namespace": "ns", "creationTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {"schedule": "0 * * * *", "suspend": suspend, "concurrencyPolicy": "Allow",
                "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "r", "image": "busybox"}]}}}}},
            "status": {}})
    };
    let f = run("cronjob.suspended", vec![cj(true)]);
    assert_eq!(f[0].severity, crate::explain::Severity::Info);
    assert!(run("cronjob.suspended", vec![cj(false)]).is_empty());
}
