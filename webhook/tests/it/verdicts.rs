//! Rollout verdicts on the real stack, with the stand-in controller and kubelet shaped like the
//! real ones (`mosaic_tests::webhook`'s `rollouts`): a crash after the rollout completed fails the Build and
//! rolls back; unready new pods fail within the readiness grace, not at the deadline, naming
//! the probe; a good commit succeeds only after the verification window; a slow start within
//! the grace is no failure; `rollbackOnFailure: false` leaves the new image in place.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Patch, PatchParams};
use mosaic_core::resources::{Build, BuildPhase, build_name};
use mosaic_tests::webhook::*;
use serde_json::json;

/// Set the Binding's `spec.verify`.
async fn verify(w: &World, spec: serde_json::Value) {
    w.bindings()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"verify": spec}})),
        )
        .await
        .unwrap();
}

/// Give container `app` a readiness probe `GET /healthz` on 8080.
async fn readiness_probe(w: &World) {
    w.deployments()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "example.com/web:before",
                 "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}
            ]}}}})),
        )
        .await
        .unwrap();
}

/// Push a new commit and wait for its Build to end.
async fn push_and_wait(w: &World, server: &Server, marker: &str) -> (String, Build) {
    let sha = w.commit(marker);
    let (status, _) = push(server, w, "d-1", &sha).await;
    assert_eq!(status, 201);
    let b = terminal(w, &build_name("web", &sha), 120).await;
    (sha, b)
}

/// The pod template of `web`, as JSON.
async fn template(w: &World) -> serde_json::Value {
    let d: Deployment = w.deployments().get("web").await.unwrap();
    serde_json::to_value(d.spec.template).unwrap()
}

fn seconds(
    from: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
    to: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> f64 {
    (to.0.as_millisecond() - from.0.as_millisecond()) as f64 / 1000.0
}

#[tokio::test]
async fn a_commit_that_crashes_after_the_rollout_completed_fails_and_rolls_back() {
    let w = world(None, true).await;
    verify(&w, json!({"window": "30s"})).await;
    let before = template(&w).await;
    let server = start(&w, "verdict-1", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::CrashAfterStart);
    let (sha, b) = push_and_wait(&w, &server, "crashes\n").await;
    let st = b.status.unwrap();
    assert_eq!(
        (st.phase, st.reason.as_deref()),
        (BuildPhase::Failed, Some("RolloutCrashed")),
        "{st:?}"
    );
    let message = st.message.clone().unwrap();
    assert!(
        message.starts_with("crash: container app exits with code 3 about 1 s after start"),
        "{message}"
    );
    assert!(
        st.phase_times.verifying.is_some(),
        "the rollout completed first: {st:?}"
    );
    assert!(st.rolled_back, "{st:?}");
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
    assert_eq!(
        template(&w).await,
        before,
        "the previous template is back, exactly"
    );
    let statuses = w.gh.statuses(&sha);
    assert!(
        statuses
            .iter()
            .any(|s| s.state == "pending" && s.description.starts_with("verifying")),
        "{statuses:?}"
    );
    let last = statuses.last().unwrap();
    assert_eq!(last.state, "failure", "{statuses:?}");
    assert_eq!(last.description, message);
    assert!(
        statuses.iter().all(|s| s.state != "success"),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn unready_new_pods_fail_within_the_grace_naming_the_probe() {
    let w = world(None, true).await;
    verify(&w, json!({"grace": "3s"})).await;
    readiness_probe(&w).await;
    let server = start(&w, "verdict-2", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::NotReady);
    let (sha, b) = push_and_wait(&w, &server, "never ready\n").await;
    let st = b.status.unwrap();
    assert_eq!(
        (st.phase, st.reason.as_deref()),
        (BuildPhase::Failed, Some("RolloutNotReady")),
        "{st:?}"
    );
    assert_eq!(
        st.message.as_deref(),
        Some("readiness probe GET /healthz answers 404 on every new pod")
    );
    // The Deployment's progress deadline is 600 s and the webhook's timeout 60 s: the
    // verdict came from the grace, long before either.
    let took = seconds(
        st.phase_times.rolling_out.as_ref().unwrap(),
        st.phase_times.finished.as_ref().unwrap(),
    );
    assert!(took < 30.0, "failed after {took} s");
    assert!(st.rolled_back);
    assert_eq!(w.gh.statuses(&sha).last().unwrap().state, "failure");
}

#[tokio::test]
async fn a_good_commit_succeeds_after_the_window_and_says_verifying_first() {
    let w = world(None, true).await;
    verify(&w, json!({"window": "2s"})).await;
    let server = start(&w, "verdict-3", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let (sha, b) = push_and_wait(&w, &server, "good\n").await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let held = seconds(
        st.phase_times.verifying.as_ref().unwrap(),
        st.phase_times.finished.as_ref().unwrap(),
    );
    assert!(held >= 2.0, "verified for only {held} s");
    let states: Vec<(String, String)> =
        w.gh.statuses(&sha)
            .into_iter()
            .map(|s| (s.state, s.description))
            .collect();
    let verifying = states
        .iter()
        .position(|(s, d)| {
            s == "pending" && d == "verifying: the new pods must stay healthy for 2s"
        })
        .unwrap_or_else(|| panic!("{states:?}"));
    let success = states
        .iter()
        .position(|(s, _)| s == "success")
        .unwrap_or_else(|| panic!("{states:?}"));
    assert!(verifying < success, "{states:?}");
}

#[tokio::test]
async fn a_slow_start_within_the_grace_succeeds() {
    let w = world(None, true).await;
    verify(&w, json!({"grace": "30s", "window": "1s"})).await;
    readiness_probe(&w).await;
    let server = start(&w, "verdict-4", &[]).await;
    let _controller =
        deployment_controller(&w, Rollouts::SlowReady(std::time::Duration::from_secs(3)));
    let (_, b) = push_and_wait(&w, &server, "slow\n").await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    assert!(!st.rolled_back);
}

#[tokio::test]
async fn without_rollback_the_failure_is_reported_and_the_new_image_stays() {
    let w = world(None, false).await;
    verify(&w, json!({"window": "30s"})).await;
    let server = start(&w, "verdict-5", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::CrashAfterStart);
    let (sha, b) = push_and_wait(&w, &server, "crashes, kept\n").await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Failed, "{st:?}");
    assert!(!st.rolled_back);
    assert_eq!(deployed_image(&w).await, st.image.unwrap());
    assert_eq!(w.gh.statuses(&sha).last().unwrap().state, "failure");
}
