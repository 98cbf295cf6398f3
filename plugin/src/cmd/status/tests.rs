use super::*;
use k8s_openapi::api::core::v1::Event;
use mosaic_core::Binding;

fn dep(v: serde_json::Value) -> Deployment {
    serde_json::from_value(v).unwrap()
}

#[test]
fn rollout_in_words() {
    let base = |status: serde_json::Value| {
        dep(
            serde_json::json!({"metadata": {"name": "api", "generation": 2},
            "spec": {"replicas": 3, "selector": {}, "template": {}}, "status": status}),
        )
    };
    assert!(
        rollout_words(&base(serde_json::json!({"observedGeneration": 1}))).starts_with("waiting")
    );
    assert_eq!(
        rollout_words(&base(
            serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1})
        )),
        "rolling out: 1 of 3 new replicas updated"
    );
    assert_eq!(
        rollout_words(&base(
            serde_json::json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3})
        )),
        "rolling out: 1 old replicas pending termination"
    );
    assert_eq!(
        rollout_words(&base(
            serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3})
        )),
        "complete: 3 of 3 replicas up to date and available"
    );
    let failed = base(
        serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1,
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet \"api-1\" has timed out progressing."}]}),
    );
    assert_eq!(
        rollout_words(&failed),
        "failed: progress deadline exceeded (ReplicaSet \"api-1\" has timed out progressing.)"
    );
}

#[test]
fn renders_builds_and_findings() {
    let mut b = Binding::new(
        "api",
        serde_json::from_value(serde_json::json!({"deployment": "api", "repo": "acme/api", "image": "r.example.com/api"}))
            .unwrap(),
    );
    b.metadata.namespace = Some("ns".into());
    let build: Build = serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": "api-0123456789ab", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"binding": "api", "commit": "0123456789abcdef0123456789abcdef01234567", "ref": "refs/heads/main",
            "trigger": {"type": "push", "pusher": "octocat"}},
        "status": {"phase": "Failed", "reason": "RolloutFailed", "message": "pods crash",
            "phaseTimes": {"pending": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:02:05Z"},
            "findings": [{"slug": "crash-loop", "severity": "error", "object": {"kind": "Pod", "name": "api-x"},
                "summary": "The container exits with code 1.", "fix": ["Read the logs."]}]}
    }))
    .unwrap();
    let out = render(&b, None, &[build], &[], 0, &[]);
    assert!(!out.contains("plain HTTP"), "{out}");
    assert!(
        out.contains("Rollout:     deployment/api not found"),
        "{out}"
    );
    assert!(
        out.contains("api-0123456789ab   0123456   push by octocat   Failed   2m5s"),
        "{out}"
    );
    assert!(
        out.contains("Last build failed: RolloutFailed: pods crash"),
        "{out}"
    );
    assert!(
        out.contains("Error crash-loop Pod/api-x: The container exits with code 1."),
        "{out}"
    );
    assert!(out.contains("fix: Read the logs."), "{out}");
}

#[test]
fn a_plain_http_registry_is_said() {
    let b = Binding::new(
        "api",
        serde_json::from_value(serde_json::json!({"deployment": "api", "repo": "acme/api",
            "image": "registry.kube-system.svc:5000/acme/api"}))
        .unwrap(),
    );
    let plain = vec!["registry.kube-system.svc:5000".to_string()];
    let out = render(&b, None, &[], &[], 0, &plain);
    assert!(
        out.contains("Registry:    registry.kube-system.svc:5000 over plain HTTP"),
        "{out}"
    );
    assert!(!render(&b, None, &[], &[], 0, &[]).contains("plain HTTP"));
    let r = report(&b, None, &[], &[], &plain);
    assert_eq!(
        serde_json::to_value(&r).unwrap()["plainHttpRegistry"],
        "registry.kube-system.svc:5000"
    );
}

fn event(name: &str, binding: &str, reason: &str, message: &str, at: &str) -> Event {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "namespace": "ns"},
        "involvedObject": {"apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "name": binding, "namespace": "ns"},
        "reason": reason, "message": message, "type": "Normal",
        "source": {"component": "mosaic-webhook"},
        "firstTimestamp": at, "lastTimestamp": at, "count": 1
    }))
    .unwrap()
}

#[test]
fn says_why_recent_pushes_did_not_deploy_newest_first() {
    let mut b = Binding::new(
        "api",
        serde_json::from_value(serde_json::json!({"deployment": "api", "repo": "acme/api", "image": "r.example.com/api"}))
            .unwrap(),
    );
    b.metadata.namespace = Some("ns".into());
    let now = "2026-12-07T00:10:00Z"
        .parse::<k8s_openapi::jiff::Timestamp>()
        .unwrap()
        .as_second();
    let mut events = vec![
        event(
            "a",
            "api",
            "NotBoundBranch",
            "push to branch \"dev\" (commit 0123456) not deployed",
            "2026-12-07T00:00:00Z",
        ),
        event(
            "b",
            "api",
            "Superseded",
            "not deployed (api-1, commit 89abcde): superseded by fedcba9\u{1b}[2J",
            "2026-12-07T00:09:00Z",
        ),
        event(
            "c",
            "other",
            "Paused",
            "another Binding's",
            "2026-12-07T00:09:30Z",
        ),
    ];
    for i in 0..6 {
        events.push(event(
            &format!("old{i}"),
            "api",
            "TagPush",
            "tag",
            "2026-12-06T00:00:00Z",
        ));
    }
    let out = render(&b, None, &[], &events, now, &[]);
    let why = out
        .split("Why recent pushes did not deploy:\n")
        .nth(1)
        .expect(&out);
    let lines: Vec<&str> = why.lines().collect();
    assert_eq!(lines.len(), RECENT_EVENTS, "{out}");
    assert!(
        lines[0].contains("60s ago  Superseded: not deployed (api-1"),
        "{out}"
    );
    assert!(!lines[0].contains('\u{1b}'), "escaped: {out}");
    assert!(
        lines[1].contains("10m ago  NotBoundBranch: push to branch"),
        "{out}"
    );
    assert!(!out.contains("another Binding's"), "{out}");
    // Without Events, nothing is said; in JSON they are listed.
    assert!(!render(&b, None, &[], &[], now, &[]).contains("Why recent"));
    let r = report(&b, None, &[], &events, &[]);
    assert_eq!(
        serde_json::to_value(&r).unwrap()["events"][0]["reason"],
        "Superseded"
    );
}

#[test]
fn lists_the_commit_statuses_the_newest_build_sent() {
    let mut b = Binding::new(
        "api",
        serde_json::from_value(serde_json::json!({"deployment": "api", "repo": "acme/api", "image": "r.example.com/api"}))
            .unwrap(),
    );
    b.metadata.namespace = Some("ns".into());
    let build: Build = serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": "api-0123456789ab", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"binding": "api", "commit": "0123456789abcdef0123456789abcdef01234567", "ref": "refs/heads/main",
            "trigger": {"type": "push", "pusher": "octocat"}},
        "status": {"phase": "Succeeded",
            "phaseTimes": {"pending": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:02:05Z"},
            "commitStatuses": [
                {"context": "mosaic/ns/api", "state": "pending", "description": "building",
                 "sentAt": "2026-01-01T00:00:01Z", "delivery": "Sent"},
                {"context": "mosaic/ns/api", "state": "success", "description": "deployed \u{1b}[2Jr.example.com/api@sha256:ab",
                 "sentAt": "2026-01-01T00:02:04Z", "delivery": "Failed",
                 "reason": "GitHub did not answer the commit status report within 10s"}
            ]}
    }))
    .unwrap();
    let now = "2026-01-01T00:03:04Z"
        .parse::<k8s_openapi::jiff::Timestamp>()
        .unwrap()
        .as_second();
    let out = render(&b, None, std::slice::from_ref(&build), &[], now, &[]);
    let sent = out
        .split("Commit statuses sent by build/api-0123456789ab:\n")
        .nth(1)
        .expect(&out);
    let lines: Vec<&str> = sent.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("60s ago  mosaic/ns/api  success \"deployed ")
            && lines[0]
                .ends_with("(not sent: GitHub did not answer the commit status report within 10s)"),
        "{out}"
    );
    assert!(!out.contains('\u{1b}'), "escaped: {out}");
    assert!(
        lines[1].ends_with("mosaic/ns/api  pending \"building\" (sent)"),
        "{out}"
    );
    // In JSON the Build carries them as the API server has them.
    let r = report(&b, None, std::slice::from_ref(&build), &[], &[]);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v["builds"][0]["status"]["commitStatuses"][1]["delivery"],
        "Failed"
    );
    assert_eq!(
        v["builds"][0]["status"]["commitStatuses"][0]["state"],
        "pending"
    );
}
