//! Unit tests of the rules in `pod_containers.rs`, each with a near miss that must not fire.
use crate::testing::{cs, pod, run, running, slugs};
use serde_json::json;

fn looping(last: serde_json::Value, restarts: i64) -> serde_json::Value {
    pod(
        "p",
        json!({}),
        json!({"phase": "Running", "containerStatuses": [
        cs("app", json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}), json!({"terminated": last}), restarts, false)]}),
    )
}

#[test]
fn crash_loop_with_exit_1() {
    let f = run(
        "pod.crash-loop",
        vec![looping(json!({"exitCode": 1, "reason": "Error"}), 6)],
    );
    assert!(
        f[0].summary.contains("exits with code 1"),
        "{}",
        f[0].summary
    );
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.note.as_deref() == Some("exit code 1: application error"))
    );
    assert!(!f[0].possible);
    assert!(f[0].learn.as_deref().is_some_and(|l| l.contains("137")));
}

#[test]
fn exit_137_without_oom_is_possible_only() {
    let f = run(
        "pod.crash-loop",
        vec![looping(json!({"exitCode": 137, "reason": "Error"}), 6)],
    );
    assert!(f[0].possible);
    assert!(f[0].evidence.iter().any(|e| e.note.is_some()));
}

#[test]
fn specific_causes_supersede_crash_loop() {
    assert_eq!(
        slugs(vec![looping(
            json!({"exitCode": 137, "reason": "OOMKilled"}),
            3
        )]),
        ["pod.oom-killed"]
    );
    assert_eq!(
        slugs(vec![looping(
            json!({"exitCode": 0, "reason": "Completed"}),
            3
        )]),
        ["pod.crash-loop.completed"]
    );
    assert_eq!(
        slugs(vec![looping(
            json!({"exitCode": 127, "reason": "ContainerCannotRun", "message": "exec: \"wge\": executable file not found in $PATH"}),
            3
        )]),
        ["pod.run-error"]
    );
}

#[test]
fn completed_without_restart_always_is_not_crash_loop_completed() {
    let mut p = looping(json!({"exitCode": 0, "reason": "Completed"}), 3);
    p["spec"]["restartPolicy"] = json!("OnFailure");
    assert!(run("pod.crash-loop.completed", vec![p]).is_empty());
}

#[test]
fn restarting_needs_more_than_three_failed_restarts() {
    assert_eq!(
        run(
            "pod.restarting",
            vec![running(
                5,
                json!({"exitCode": 2, "reason": "Error"}),
                json!({})
            )]
        )
        .len(),
        1
    );
    assert!(
        run(
            "pod.restarting",
            vec![running(
                3,
                json!({"exitCode": 2, "reason": "Error"}),
                json!({})
            )]
        )
        .is_empty()
    );
    assert!(
        run(
            "pod.restarting",
            vec![running(
                9,
                json!({"exitCode": 0, "reason": "Completed"}),
                json!({})
            )]
        )
        .is_empty()
    );
    assert_eq!(
        slugs(vec![running(
            9,
            json!({"exitCode": 137, "reason": "OOMKilled"}),
            json!({})
        )]),
        ["pod.oom-killed"]
    );
    let once = run(
        "pod.oom-killed",
        vec![running(
            1,
            json!({"exitCode": 137, "reason": "OOMKilled"}),
            json!({}),
        )],
    );
    assert_eq!(once[0].severity, crate::explain::Severity::Warning);
}
