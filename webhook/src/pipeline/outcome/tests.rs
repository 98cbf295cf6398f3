//! Unit tests of a run's result in words: the Build's terminal status and the commit's.

use super::*;
use crate::pipeline::test_world::{NEWER, SHA};

#[test]
fn a_lost_claim_is_left_alone_and_an_unreachable_api_is_not_a_lost_claim() {
    let lost = Stop::from(ClaimError::Lost("b".into(), "other".into()));
    assert!(matches!(
        next_step(Err(lost), &[], SHA),
        Next::Leave(ClaimError::Lost(..))
    ));
    let away = Stop::from(ClaimError::Api(kube::Error::Service("refused".into())));
    match next_step(Err(away), &["GitHub answered 500".into()], SHA) {
        Next::Record(o) => {
            assert_eq!(
                (o.phase, o.reason.as_str()),
                (BuildPhase::Failed, "ClusterUnreachable")
            );
            assert!(
                o.message
                    .ends_with("(GitHub status report failed: GitHub answered 500)")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deploy_after_a_retried_stage_says_so() {
    let d = Deployed {
        image: "r/web@sha256:1".into(),
        retried: vec!["build: connection to the Docker engine lost: reset".into()],
        took_over: None,
    };
    match next_step(Ok(d), &[], SHA) {
        Next::Record(o) => assert_eq!(
            o.message,
            "deployed r/web@sha256:1 (retried after: build: connection to the Docker engine lost: reset)"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn final_statuses_say_what_happened_to_the_commit() {
    let (state, text) = final_status(&Err(Stop::Superseded {
        build: "web-fedcba987654".into(),
        commit: NEWER.into(),
    }))
    .unwrap();
    assert_eq!(state, CommitState::Error);
    assert_eq!(text, "not deployed: superseded by fedcba987654");
    assert!(plan::status_description(&text).len() <= plan::STATUS_DESCRIPTION_MAX);
    let ok = final_status(&Ok(Deployed {
        image: "r/a@sha256:1".into(),
        retried: vec![],
        took_over: None,
    }))
    .unwrap();
    assert_eq!(ok, (CommitState::Success, "deployed r/a@sha256:1".into()));
    assert!(final_status(&Err(Stop::Cancelled)).is_none());
}

#[test]
fn one_outcome_writes_the_build_status_and_the_binding_patch() {
    let now = crate::cluster::claim::now_time();
    let mut build: Build = serde_json::from_value(crate::pipeline::test_world::build_object(
        "web-old",
        SHA,
        "2026-01-01T00:00:01Z",
        Some("Verifying"),
    ))
    .unwrap();
    build.status.as_mut().unwrap().image = Some("r/web@sha256:1".into());
    let Next::Record(deployed) = next_step(
        Ok(Deployed {
            image: "r/web@sha256:1".into(),
            retried: vec![],
            took_over: None,
        }),
        &[],
        SHA,
    ) else {
        panic!("a deploy is recorded");
    };
    let mut status = build.status.clone().unwrap();
    deployed.write(&mut status, now.clone());
    assert_eq!(
        (
            status.phase,
            status.reason.as_deref(),
            status.message.as_deref()
        ),
        (
            BuildPhase::Succeeded,
            Some("Deployed"),
            Some("deployed r/web@sha256:1")
        )
    );
    assert_eq!(status.phase_times.finished, Some(now.clone()));
    let p = binding_patch(&build, &deployed, Some(3), &now);
    assert_eq!(p["status"]["lastBuild"], "web-old");
    assert_eq!(p["status"]["lastCommit"], SHA);
    assert_eq!(p["status"]["lastImage"], "r/web@sha256:1");
    assert_eq!(p["status"]["conditions"][0]["status"], "True");
    assert_eq!(p["status"]["conditions"][0]["observedGeneration"], 3);

    let failed = Outcome {
        phase: BuildPhase::Failed,
        reason: BuildReason::RolloutCrashed,
        message: "app exited 1".into(),
        findings: vec![],
        rolled_back: true,
    };
    let p = binding_patch(&build, &failed, None, &now);
    assert!(p["status"].get("lastCommit").is_none(), "{p}");
    let ready = &p["status"]["conditions"][0];
    assert_eq!(
        (&ready["status"], &ready["reason"], &ready["message"]),
        (
            &serde_json::json!("False"),
            &serde_json::json!("RolloutCrashed"),
            &serde_json::json!("app exited 1; rolled back")
        )
    );
}
