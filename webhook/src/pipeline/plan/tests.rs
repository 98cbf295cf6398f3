//! Unit tests of build planning, latest-wins and rollout reading.

use super::*;
use mosaic_core::resources::{BuildSpec, BuildStatus, BuildTrigger, TriggerKind};

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

fn build(name: &str, pushed: &str, phase: Option<BuildPhase>) -> Build {
    let mut b = Build::new(
        name,
        BuildSpec {
            binding: "web".into(),
            commit: "0".repeat(40),
            git_ref: "refs/heads/main".into(),
            trigger: BuildTrigger {
                kind: TriggerKind::Push,
                delivery: None,
                pusher: None,
                user: None,
                before: None,
            },
        },
    );
    b.metadata.annotations =
        Some([(names::ANNOTATION_PUSHED_AT.to_string(), pushed.to_string())].into());
    b.status = phase.map(|phase| BuildStatus {
        phase,
        ..Default::default()
    });
    b
}

#[test]
fn latest_wins_by_push_time() {
    let old = build(
        "web-a",
        "2026-01-01T00:00:00.000000001Z",
        Some(BuildPhase::Building),
    );
    let new = build(
        "web-b",
        "2026-01-01T00:00:00.000000002Z",
        Some(BuildPhase::Building),
    );
    let all = [old.clone(), new.clone()];
    assert_eq!(
        newer_build(&old, &all).and_then(|b| b.metadata.name.as_deref()),
        Some("web-b")
    );
    assert!(
        newer_build(&new, &all).is_none(),
        "the newest build is never blocked"
    );
    // A newer build that was superseded, cancelled or failed before rolling out does not block.
    for phase in [
        BuildPhase::Superseded,
        BuildPhase::Cancelled,
        BuildPhase::Failed,
    ] {
        let gone = build("web-b", "2026-01-01T00:00:00.000000002Z", Some(phase));
        assert!(newer_build(&old, &[old.clone(), gone]).is_none(), "{phase}");
    }
    // ...but one that failed mid-rollout without a rollback does: its image may be running.
    let mut rolled = build(
        "web-b",
        "2026-01-01T00:00:00.000000002Z",
        Some(BuildPhase::Failed),
    );
    rolled.status.as_mut().unwrap().phase_times.rolling_out =
        Some(crate::worker::claim::now_time());
    assert!(newer_build(&old, &[rolled]).is_some());
    // Other Bindings' builds never count.
    let mut other = new.clone();
    other.spec.binding = "api".into();
    assert!(newer_build(&old, &[other]).is_none());
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

#[test]
fn only_a_newer_build_that_reached_the_deployment_takes_it_over() {
    let old = build(
        "web-a",
        "2026-01-01T00:00:01Z",
        Some(BuildPhase::RollingOut),
    );
    let at = |phase| build("web-b", "2026-01-01T00:00:02Z", Some(phase));
    let taken = |newer: Build| {
        deployment_taken_by(&old, &[old.clone(), newer]).and_then(|b| b.metadata.name.clone())
    };
    for phase in [BuildPhase::RollingOut, BuildPhase::Succeeded] {
        assert_eq!(taken(at(phase)).as_deref(), Some("web-b"), "{phase}");
    }
    // Not yet at the Deployment: latest-wins (`newer_build`) decides before the rollout, but it
    // does not take a running rollout over.
    for phase in [
        BuildPhase::Pending,
        BuildPhase::Building,
        BuildPhase::Pushing,
    ] {
        assert!(taken(at(phase)).is_none(), "{phase}");
    }
    // Stopped after announcing its rollout: its image may be running, unless it rolled back.
    let mut stopped = at(BuildPhase::Failed);
    stopped.status.as_mut().unwrap().phase_times.rolling_out =
        Some(crate::worker::claim::now_time());
    assert!(taken(stopped.clone()).is_some());
    stopped.status.as_mut().unwrap().rolled_back = true;
    assert!(taken(stopped).is_none());
    // An older Build at the Deployment never stops a newer one.
    let newest = at(BuildPhase::RollingOut);
    assert!(deployment_taken_by(&newest, &[old.clone(), newest.clone()]).is_none());
    // Nor does one of another Binding.
    let mut other = at(BuildPhase::RollingOut);
    other.spec.binding = "api".into();
    assert!(deployment_taken_by(&old, &[other]).is_none());
}

fn created(b: &mut Build, at: &str) {
    let ts: k8s_openapi::jiff::Timestamp = at.parse().unwrap();
    b.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts));
}

#[test]
fn only_admitted_builds_count_and_a_forged_push_time_is_ignored() {
    let head = build("web-a", "2026-01-01T00:00:01Z", Some(BuildPhase::Building));
    // Pushed later but not admitted yet: maybe a late redelivery of an old push.
    let late = build("web-b", "2026-01-01T00:00:02Z", None);
    let pending = build("web-c", "2026-01-01T00:00:03Z", Some(BuildPhase::Pending));
    assert!(
        newer_build(&head, &[head.clone(), late, pending]).is_none(),
        "a Build the worker has not admitted does not stop the branch head"
    );
    // A push time far from the creation time the API server wrote is not the intake's.
    let mut forged = build("web-f", "2099-01-01T00:00:00Z", Some(BuildPhase::Succeeded));
    created(&mut forged, "2026-01-01T00:00:00Z");
    let mut later = build(
        "web-l",
        "2026-01-01T00:00:05.5Z",
        Some(BuildPhase::Building),
    );
    created(&mut later, "2026-01-01T00:00:05Z");
    assert_eq!(push_time(&forged), Some(t("2026-01-01T00:00:00Z")));
    assert_eq!(push_time(&later), Some(t("2026-01-01T00:00:05.5Z")));
    let all = [forged.clone(), later.clone()];
    assert!(
        newer_build(&later, &all).is_none(),
        "the forged time freezes nothing"
    );
    assert_eq!(
        newer_build(&forged, &all).and_then(|b| b.metadata.name.as_deref()),
        Some("web-l")
    );
}
