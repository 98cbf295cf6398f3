//! Real-stack tests of GitHub failures: a status report that fails is recorded on the Build but
//! does not fail it; a tarball GitHub refuses fails the Build with GitHub's answer as the reason.

use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;

#[tokio::test]
async fn failed_status_reports_are_recorded_but_do_not_fail_the_build() {
    let w = world(None, true).await;
    w.gh.inject_fault(&format!("/repos/{}/statuses", w.repo), 500);
    let server = start(&w, "gh-status", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let sha = w.commit("statuses down\n");
    let (status, _) = push(&server, &w, "d-1", &sha).await;
    assert_eq!(status, 201);
    let b = terminal(&w, &build_name("web", &sha), 120).await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let msg = st.message.unwrap();
    assert!(
        msg.contains("GitHub status report failed") && msg.contains("500"),
        "{msg}"
    );
    assert!(!msg.contains(GITHUB_TOKEN));
    assert!(w.gh.statuses(&sha).is_empty(), "every report was refused");
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("mosaic_webhook_github_status_reports_total{result=\"error\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_refused_tarball_fails_the_build_with_githubs_answer() {
    let w = world(None, true).await;
    w.gh.inject_fault(&format!("/repos/{}/tarball", w.repo), 403);
    let server = start(&w, "gh-tarball", &[]).await;
    let sha = w.commit("no source\n");
    let (status, _) = push(&server, &w, "d-1", &sha).await;
    assert_eq!(status, 201);
    let b = terminal(&w, &build_name("web", &sha), 60).await;
    let st = b.status.unwrap();
    assert_eq!(
        (st.phase, st.reason.as_deref()),
        (BuildPhase::Failed, Some("SourceUnavailable")),
        "{st:?}"
    );
    let msg = st.message.unwrap();
    assert!(msg.contains("403") && msg.contains(&sha), "{msg}");
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
    let last = w.gh.statuses(&sha).pop().unwrap();
    assert_eq!(last.state, "failure");
}
