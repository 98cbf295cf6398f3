//! Unit tests of build planning and rollout reading.

use super::*;
use mosaic_core::verdict::{Rollout, rollout_state};

fn spec(image: &str) -> BindingSpec {
    serde_json::from_value(serde_json::json!({"deployment": "web", "repo": "a/b", "image": image}))
        .unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

#[test]
fn plan_tags_by_short_sha_and_labels_the_commit() {
    let c = "0123456789abcdef0123456789abcdef01234567";
    let p = plan_build(
        &spec("127.0.0.1:5000/team/web"),
        c,
        "https://github.com/a/b",
        t("2026-01-02T03:04:05.9Z"),
    )
    .unwrap();
    assert_eq!(p.tag, "127.0.0.1:5000/team/web:0123456789ab");
    assert_eq!(p.registry_host, "127.0.0.1:5000");
    assert_eq!(p.labels[names::OCI_LABEL_REVISION], c);
    assert_eq!(p.labels[names::OCI_LABEL_SOURCE], "https://github.com/a/b");
    assert_eq!(p.labels[names::OCI_LABEL_CREATED], "2026-01-02T03:04:05Z");
    assert_eq!(
        plan_build(&spec("nginx"), c, "", Utc::now())
            .unwrap()
            .registry_host,
        "docker.io"
    );
    assert!(matches!(
        plan_build(&spec("r.io/a:1"), c, "", Utc::now()),
        Err(PlanError::Image(_))
    ));
}

fn deployment(generation: i64, status: serde_json::Value) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": 2, "selector": {}, "template": {"spec": {"containers": [
            {"name": "app", "image": "old@sha256:1"}, {"name": "sidecar", "image": "s"}]}}},
        "status": status,
    }))
    .unwrap()
}

#[test]
fn rollout_state_follows_kubectl() {
    let waiting = deployment(
        3,
        serde_json::json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
    );
    assert!(
        matches!(rollout_state(&waiting), Rollout::Waiting(m) if m.contains("generation 2 of 3"))
    );
    let partial = deployment(
        3,
        serde_json::json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}),
    );
    assert!(
        matches!(rollout_state(&partial), Rollout::Waiting(_)),
        "old pods remain"
    );
    let done = deployment(
        3,
        serde_json::json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
    );
    assert_eq!(rollout_state(&done), Rollout::Complete);
    let stuck = deployment(
        3,
        serde_json::json!({"observedGeneration": 3, "conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"web-1\" has timed out progressing."}]}),
    );
    assert!(
        matches!(rollout_state(&stuck), Rollout::Failed { reason, .. } if reason == "ProgressDeadlineExceeded")
    );
}

#[test]
fn container_choice_and_patch() {
    let d = deployment(1, serde_json::json!({}));
    let mut s = spec("r.io/a");
    assert!(matches!(
        pick_container(&s, &d),
        Err(PlanError::AmbiguousContainer { .. })
    ));
    s.container = Some("app".into());
    assert_eq!(pick_container(&s, &d).unwrap(), "app");
    assert_eq!(container_image(&d, "app").as_deref(), Some("old@sha256:1"));
    s.container = Some("nope".into());
    assert!(
        pick_container(&s, &d)
            .unwrap_err()
            .to_string()
            .contains("\"nope\"")
    );
    let p = rollout_patch("web", "app", "r.io/a@sha256:f", "c0ffee", "web-c0ffee");
    assert_eq!(
        p["spec"]["template"]["spec"]["containers"],
        serde_json::json!([{"name": "app", "image": "r.io/a@sha256:f"}])
    );
    assert_eq!(
        p["spec"]["template"]["metadata"]["annotations"][names::ANNOTATION_COMMIT],
        "c0ffee"
    );
    assert!(
        p["spec"].get("replicas").is_none(),
        "only the image and annotations are applied"
    );
}

#[test]
fn status_descriptions_are_one_short_line() {
    assert_eq!(status_description("building\nmore"), "building");
    let long = "é".repeat(300);
    let d = status_description(&long);
    assert_eq!(d.chars().count(), STATUS_DESCRIPTION_MAX);
    assert!(d.ends_with('…'));
}
