//! Verdicts on objects shaped as a current kubelet (1.36) and Deployment controller write them
//! (`shared/notes/real-cluster.md`).

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use serde_json::{Value, json};

use super::*;
use crate::resources::VerifySpec;

fn policy(window: u64, grace: u64) -> Policy {
    Policy {
        window: Duration::from_secs(window),
        grace: Duration::from_secs(grace),
    }
}

/// A Deployment of one replica whose controller reports `status`.
fn dep(status: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "generation": 2},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "r.example/web@sha256:1"}]}}},
        "status": status
    }))
    .unwrap()
}

fn complete() -> Deployment {
    dep(
        json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
        "availableReplicas": 1, "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}),
    )
}

/// The real controller while new pods are not ready: the old pod keeps serving.
fn progressing() -> Deployment {
    dep(
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1,
        "availableReplicas": 1, "unavailableReplicas": 1, "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
             "message": "ReplicaSet \"web-7d9f\" is progressing."}]}),
    )
}

fn deadline() -> Deployment {
    dep(
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1,
        "availableReplicas": 1, "unavailableReplicas": 1, "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet \"web-7d9f\" has timed out progressing."}]}),
    )
}

fn pod(container: Value, status: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web-7d9f-x2k4q", "namespace": "team"},
        "spec": {"restartPolicy": "Always", "containers": [container]},
        "status": status
    }))
    .unwrap()
}

fn app() -> Value {
    json!({"name": "app", "image": "r.example/web@sha256:1"})
}

fn app_with_readiness() -> Value {
    json!({"name": "app", "image": "r.example/web@sha256:1",
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10, "failureThreshold": 3}})
}

fn running_pod(c: Value, ready: bool) -> Pod {
    let r = if ready { "True" } else { "False" };
    pod(
        c,
        json!({"phase": "Running", "startTime": "2026-12-06T10:00:00Z",
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": r},
            {"type": "ContainersReady", "status": r}],
        "containerStatuses": [{"name": "app", "image": "r.example/web@sha256:1", "imageID": "r.example/web@sha256:1",
            "ready": ready, "started": true, "restartCount": 0,
            "state": {"running": {"startedAt": "2026-12-06T10:00:01Z"}}}]}),
    )
}

/// Kubelet ≥ 1.35 between restarts: `terminated` with the exit code, not `waiting`.
fn crashed_pod(restarts: i32) -> Pod {
    pod(
        app(),
        json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [{"name": "app", "image": "r.example/web@sha256:1", "imageID": "r.example/web@sha256:1",
            "ready": false, "started": false, "restartCount": restarts,
            "state": {"terminated": {"exitCode": 3, "reason": "Error",
                "startedAt": "2026-12-06T10:00:01Z", "finishedAt": "2026-12-06T10:00:02Z"}},
            "lastState": {"terminated": {"exitCode": 3, "reason": "Error",
                "startedAt": "2026-12-06T09:59:40Z", "finishedAt": "2026-12-06T09:59:41Z"}}}]}),
    )
}

fn unhealthy(pod: &str, message: &str, at: &str) -> Event {
    serde_json::from_value(json!({
        "metadata": {"name": format!("{pod}.1"), "namespace": "team"},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "team"},
        "reason": "Unhealthy", "type": "Warning", "message": message, "count": 25,
        "lastTimestamp": at
    }))
    .unwrap()
}

fn failure(step: Step) -> Failure {
    match step {
        Step::Failed(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_pod_that_crashes_after_the_rollout_completed_fails_the_verification() {
    let t0 = Instant::now();
    let mut j = Judge::new(policy(10, 60));
    let ok = running_pod(app(), true);
    assert_eq!(
        j.step(t0, &complete(), std::slice::from_ref(&ok)),
        Step::Verifying {
            left: Duration::from_secs(10)
        }
    );
    // One second later the app exits; the controller still counts the pod available.
    let f = failure(j.step(t0 + Duration::from_secs(1), &complete(), &[crashed_pod(0)]));
    assert_eq!(f.kind, FailureKind::Crashed);
    assert!(f.after_complete);
    assert_eq!(
        f.cause(&[crashed_pod(0)], &[]),
        "crash: container app exits with code 3 about 1 s after start"
    );
    let finding = f.crash_finding(&[crashed_pod(0)]).unwrap();
    assert_eq!(
        (finding.slug.as_str(), finding.object.name.as_str()),
        ("pod.crash-loop", "web-7d9f-x2k4q")
    );
    assert!(
        finding.evidence.iter().any(|e| e.field.as_deref()
            == Some("status.containerStatuses[name=app].state.terminated.exitCode")
            && e.value.as_deref() == Some("3")),
        "{finding:?}"
    );
}

#[test]
fn a_crash_loop_is_read_from_the_terminated_state_a_current_kubelet_shows() {
    let mut j = Judge::new(policy(10, 60));
    let p = crashed_pod(3);
    let f = failure(j.step(Instant::now(), &progressing(), std::slice::from_ref(&p)));
    assert_eq!(f.kind.reason(), "RolloutCrashed");
    assert_eq!(
        f.cause(std::slice::from_ref(&p), &[]),
        "crash loop: container app exits with code 3 about 1 s after start (restarted 3 times)"
    );
}

#[test]
fn a_good_rollout_succeeds_only_after_the_window() {
    let t0 = Instant::now();
    let mut j = Judge::new(policy(10, 60));
    let pods = [running_pod(app(), true)];
    assert!(matches!(
        j.step(t0, &progressing(), &[]),
        Step::Progressing(_)
    ));
    assert!(matches!(
        j.step(t0 + Duration::from_secs(1), &complete(), &pods),
        Step::Verifying { .. }
    ));
    assert!(matches!(
        j.step(t0 + Duration::from_secs(10), &complete(), &pods),
        Step::Verifying { .. }
    ));
    assert_eq!(
        j.step(t0 + Duration::from_secs(11), &complete(), &pods),
        Step::Succeeded
    );
}

#[test]
fn unready_new_pods_fail_after_the_grace_naming_the_probe_and_its_answer() {
    let t0 = Instant::now();
    let mut j = Judge::new(policy(10, 60));
    let pods = [running_pod(app_with_readiness(), false)];
    for s in [0, 30, 59] {
        assert!(
            matches!(
                j.step(t0 + Duration::from_secs(s), &progressing(), &pods),
                Step::Progressing(_)
            ),
            "{s} s"
        );
    }
    let f = failure(j.step(t0 + Duration::from_secs(60), &progressing(), &pods));
    assert_eq!(f.kind, FailureKind::NotReady);
    let events = [
        unhealthy(
            "web-7d9f-x2k4q",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            "2026-12-06T10:00:10Z",
        ),
        unhealthy(
            "web-7d9f-x2k4q",
            "Readiness probe failed: HTTP probe failed with statuscode: 404",
            "2026-12-06T10:00:50Z",
        ),
    ];
    assert_eq!(
        f.cause(&pods, &events),
        "readiness probe GET /healthz answers 404 on every new pod"
    );
    assert_eq!(
        f.cause(&pods, &[]),
        "readiness probe GET /healthz has not passed on any new pod within 60s"
    );
}

#[test]
fn a_slow_start_within_the_grace_is_no_failure() {
    let t0 = Instant::now();
    let mut j = Judge::new(policy(5, 60));
    let unready = [running_pod(app_with_readiness(), false)];
    let ready = [running_pod(app_with_readiness(), true)];
    assert!(matches!(
        j.step(t0, &progressing(), &unready),
        Step::Progressing(_)
    ));
    assert!(matches!(
        j.step(t0 + Duration::from_secs(50), &progressing(), &unready),
        Step::Progressing(_)
    ));
    assert!(matches!(
        j.step(t0 + Duration::from_secs(55), &complete(), &ready),
        Step::Verifying { .. }
    ));
    assert_eq!(
        j.step(t0 + Duration::from_secs(61), &complete(), &ready),
        Step::Succeeded
    );
}

#[test]
fn the_grace_restarts_when_a_new_pod_becomes_ready() {
    let t0 = Instant::now();
    let mut j = Judge::new(policy(5, 60));
    let unready = [running_pod(app_with_readiness(), false)];
    let ready = [running_pod(app_with_readiness(), true)];
    j.step(t0, &progressing(), &unready);
    j.step(t0 + Duration::from_secs(40), &progressing(), &ready);
    assert!(matches!(
        j.step(t0 + Duration::from_secs(70), &progressing(), &unready),
        Step::Progressing(_)
    ));
}

#[test]
fn image_pull_errors_fail_at_once_in_every_runtimes_wording() {
    for message in [
        "rpc error: code = NotFound desc = failed to pull and unpack image \"r.example/web@sha256:1\": failed to resolve image: r.example/web@sha256:1: not found",
        "rpc error: code = Unknown desc = failed to resolve reference \"r.example/web@sha256:1\": r.example/web@sha256:1: not found",
        "manifest unknown",
    ] {
        let p = pod(
            app(),
            json!({"phase": "Pending", "containerStatuses": [{"name": "app", "image": "r.example/web@sha256:1",
            "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ErrImagePull", "message": message}}}]}),
        );
        let f = failure(Judge::new(policy(5, 60)).step(
            Instant::now(),
            &progressing(),
            std::slice::from_ref(&p),
        ));
        assert_eq!(f.kind, FailureKind::CannotStart);
        assert_eq!(
            f.cause(&[p], &[]),
            "image r.example/web@sha256:1 was not found in its registry"
        );
    }
    let denied = pod(
        app(),
        json!({"phase": "Pending", "containerStatuses": [{"name": "app", "image": "x", "imageID": "",
        "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff",
        "message": "pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials"}}}]}),
    );
    let f = failure(Judge::new(policy(5, 60)).step(
        Instant::now(),
        &progressing(),
        std::slice::from_ref(&denied),
    ));
    assert!(f.cause(&[denied], &[]).contains("refused its credentials"));
}

#[test]
fn an_oom_kill_names_the_memory_limit() {
    let p = pod(
        json!({"name": "app", "image": "x", "resources": {"limits": {"memory": "128Mi"}}}),
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "image": "x", "imageID": "",
            "ready": false, "restartCount": 1, "state": {"running": {"startedAt": "2026-12-06T10:00:05Z"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
    );
    let f = failure(Judge::new(policy(5, 60)).step(
        Instant::now(),
        &complete(),
        std::slice::from_ref(&p),
    ));
    assert_eq!(
        f.cause(&[p], &[]),
        "container app was OOM-killed at its memory limit 128Mi (restarted once)"
    );
}

#[test]
fn a_liveness_kill_is_named_from_exit_code_and_probe() {
    let c = json!({"name": "app", "image": "x",
        "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}}});
    let p = pod(
        c,
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "image": "x", "imageID": "",
            "ready": true, "restartCount": 2, "state": {"running": {"startedAt": "2026-12-06T10:01:05Z"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "Error"}}}]}),
    );
    let f = failure(Judge::new(policy(5, 60)).step(
        Instant::now(),
        &complete(),
        std::slice::from_ref(&p),
    ));
    let pods = [p];
    assert_eq!(
        f.cause(&pods, &[]),
        "crash loop: container app exits with code 137, most likely killed by its liveness probe (restarted 2 times)"
    );
    let ev = [unhealthy(
        "web-7d9f-x2k4q",
        "Liveness probe failed: HTTP probe failed with statuscode: 500",
        "2026-12-06T10:01:00Z",
    )];
    assert_eq!(
        f.cause(&pods, &ev),
        "liveness probe GET /live answers 500; container app restarted (restarted 2 times)"
    );
}

#[test]
fn the_progress_deadline_names_the_cause_not_replica_counts() {
    let pods = [running_pod(app_with_readiness(), false)];
    let f = failure(Judge::new(policy(5, 600)).step(Instant::now(), &deadline(), &pods));
    assert_eq!(f.kind.reason(), "ProgressDeadlineExceeded");
    let no_pods = failure(Judge::new(policy(5, 600)).step(Instant::now(), &deadline(), &[]));
    assert_eq!(
        no_pods.cause(&[], &[]),
        "rollout passed its progress deadline (600s): ReplicaSet \"web-7d9f\" has timed out progressing."
    );
    let events = [unhealthy(
        "web-7d9f-x2k4q",
        "Readiness probe failed: HTTP probe failed with statuscode: 404",
        "2026-12-06T10:00:50Z",
    )];
    assert_eq!(
        f.cause(&pods, &events),
        "rollout passed its progress deadline (600s): readiness probe GET /healthz answers 404 on every new pod"
    );
}

#[test]
fn quota_refusals_fail_after_the_grace() {
    let t0 = Instant::now();
    let refused = dep(
        json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 0,
        "availableReplicas": 1, "conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
        "message": "pods \"web-7d9f-abcde\" is forbidden: exceeded quota: team-quota, requested: cpu=2, used: cpu=3, limited: cpu=4"}]}),
    );
    let mut j = Judge::new(policy(5, 30));
    assert!(matches!(j.step(t0, &refused, &[]), Step::Progressing(_)));
    let f = failure(j.step(t0 + Duration::from_secs(30), &refused, &[]));
    assert_eq!(f.kind, FailureKind::ReplicaFailure);
    assert!(f.cause(&[], &[]).starts_with(
        "new pods cannot be created: pods \"web-7d9f-abcde\" is forbidden: exceeded quota"
    ));
    assert!(f.cause(&[], &[]).chars().count() <= 140);
}

#[test]
fn the_policy_is_derived_from_the_deployment_unless_the_binding_says() {
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"minReadySeconds": 20, "selector": {}, "template": {"spec": {"containers": [
            {"name": "app", "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 5, "periodSeconds": 15},
             "livenessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 20, "failureThreshold": 3}}]}}}
    }))
    .unwrap();
    let p = Policy::for_rollout(None, &d, Defaults::default()).unwrap();
    // Liveness: 20 × (3 + 1) = 80 s beats 3 periods (60 s) and minReadySeconds (20 s).
    assert_eq!(p.window, Duration::from_secs(80));
    // Readiness: 5 + 2 × 15 × 3 = 95 s beats the 60 s default.
    assert_eq!(p.grace, Duration::from_secs(95));
    let plain = dep(json!({}));
    assert_eq!(
        Policy::for_rollout(None, &plain, Defaults::default()).unwrap(),
        policy(10, 60)
    );
    let spec = VerifySpec {
        window: Some("3s".into()),
        grace: Some("1m".into()),
    };
    assert_eq!(
        Policy::for_rollout(Some(&spec), &d, Defaults::default()).unwrap(),
        policy(3, 60)
    );
    let bad = VerifySpec {
        window: Some("3".into()),
        grace: None,
    };
    let e = Policy::for_rollout(Some(&bad), &d, Defaults::default()).unwrap_err();
    assert!(
        e.starts_with("spec.verify.window: invalid duration \"3\""),
        "{e}"
    );
}
