//! Unit tests of latest-wins order: push time, what still counts, and who took the Deployment.

use super::*;
use mosaic_core::resources::{BuildSpec, BuildStatus, BuildTrigger};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn build(name: &str, pushed: &str, phase: Option<BuildPhase>) -> Build {
    let mut b = Build::new(
        name,
        BuildSpec {
            binding: "web".into(),
            commit: "0".repeat(40),
            git_ref: "refs/heads/main".into(),
            trigger: BuildTrigger::push(None, None, None),
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
        Some(crate::cluster::claim::now_time());
    assert!(newer_build(&old, &[rolled]).is_some());
    // Other Bindings' builds never count.
    let mut other = new.clone();
    other.spec.binding = "api".into();
    assert!(newer_build(&old, &[other]).is_none());
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
        Some(crate::cluster::claim::now_time());
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
