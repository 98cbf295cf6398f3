//! Fault drills that finish in seconds (issue #7; the long and destructive ones are in
//! `scripts/drill`): GitHub answering 500 or 403, or slow, or stalling a download; the registry
//! down or failing the digest check, then recovering. (The registry answering 500 to the push
//! takes a minute of the engine's own retries: `scripts/drill registry`.) Each checks the
//! Build's terminal phase and reason, that nothing was rolled by a failed Build, that the next
//! push succeeds once the fault is gone, and that no token reaches the log.

use std::time::Duration;

use mosaic_core::resources::{Build, BuildPhase, build_name};
use mosaic_tests::fault_proxy::{FaultProxy, Mode, Rule};
use mosaic_tests::webhook::*;

/// Push a new commit holding `marker`; returns the Build name.
async fn push(w: &World, server: &Server, marker: &str) -> String {
    let sha = w.commit(marker);
    let (status, body) = mosaic_tests::webhook::push(server, w, &format!("d-{marker}"), &sha).await;
    assert_eq!(status, 201, "{body}");
    build_name("web", &sha)
}

/// Reason and message of a terminal Build, asserting its phase.
fn outcome(b: &Build, want: BuildPhase) -> (String, String) {
    let st = b.status.clone().unwrap_or_default();
    eprintln!(
        "{:?} {:?} {:?} times {:?}",
        st.phase, st.reason, st.message, st.phase_times
    );
    assert_eq!(st.phase, want, "{st:?}");
    (
        st.reason.unwrap_or_default(),
        st.message.unwrap_or_default(),
    )
}

/// The server log holds no token or secret.
fn log_is_clean(server: &Server) {
    let log = std::fs::read_to_string(&server.log).unwrap();
    for secret in [GITHUB_TOKEN, WEBHOOK_SECRET] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

#[tokio::test]
async fn github_500_on_the_tarball_fails_the_build_then_recovers() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    w.gh.inject_fault(&format!("/repos/{}/tarball", w.repo), 500);
    let server = start(&w, "gh-500", &[]).await;
    let name = push(&w, &server, "gh500-a").await;
    // The stage is tried 3 times (`--retry-pauses 1,2` in the test world: 1 s, 2 s apart), one
    // request each: the adapter does not retry too.
    let (reason, msg) = outcome(&terminal(&w, &name, 180).await, BuildPhase::Failed);
    assert_eq!(reason, "SourceUnavailable");
    assert!(
        msg.contains("GitHub answered 500")
            && !msg.contains("gave up after")
            && msg.ends_with("(the build was tried 3 times)"),
        "{msg}"
    );
    assert!(!msg.contains(GITHUB_TOKEN));
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
    w.gh.clear_faults();
    let name = push(&w, &server, "gh500-b").await;
    outcome(&terminal(&w, &name, 60).await, BuildPhase::Succeeded);
    log_is_clean(&server);
}

#[tokio::test]
async fn github_403_on_status_reports_is_recorded_without_failing_the_build() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    w.gh.inject_fault(&format!("/repos/{}/statuses", w.repo), 403);
    let server = start(&w, "gh-403", &[]).await;
    let name = push(&w, &server, "gh403").await;
    let (_, msg) = outcome(&terminal(&w, &name, 60).await, BuildPhase::Succeeded);
    assert!(
        msg.contains("GitHub status report failed") && msg.contains("403"),
        "{msg}"
    );
    assert!(!msg.contains(GITHUB_TOKEN));
    log_is_clean(&server);
}

#[tokio::test]
async fn a_slow_or_stalling_tarball_is_cut_off_by_the_github_timeout() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    // The redirect answer comes after 3 s; the client gives up after 1 s, tries 3 times, and
    // the stage is tried 3 times. The message says it timed out.
    w.gh.inject_delay(
        &format!("/repos/{}/tarball", w.repo),
        Duration::from_secs(3),
    );
    let server = start(&w, "gh-slow", &["--github-timeout", "1"]).await;
    let name = push(&w, &server, "slow-head").await;
    let (reason, msg) = outcome(&terminal(&w, &name, 180).await, BuildPhase::Failed);
    assert_eq!(reason, "SourceUnavailable", "{msg}");
    assert!(
        msg.contains("timed out") && msg.ends_with("(the build was tried 3 times)"),
        "{msg}"
    );
    // The download starts, then stalls longer than the timeout between chunks: the source is
    // unavailable (not a failed build), tried 3 times.
    w.gh.clear_faults();
    w.gh.pace_tarballs(64, Duration::from_secs(3));
    let name = push(&w, &server, "stalled-body").await;
    let (reason, msg) = outcome(&terminal(&w, &name, 180).await, BuildPhase::Failed);
    assert_eq!(reason, "SourceUnavailable", "{msg}");
    assert!(
        msg.contains("tarball could not be read")
            && msg.contains("timed out")
            && msg.ends_with("(the build was tried 3 times)"),
        "{msg}"
    );
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
    // Slow but within the timeout: it succeeds.
    w.gh.clear_faults();
    w.gh.inject_delay("/", Duration::from_millis(300));
    w.gh.pace_tarballs(128, Duration::from_millis(200));
    let name = push(&w, &server, "slow-but-fine").await;
    outcome(&terminal(&w, &name, 60).await, BuildPhase::Succeeded);
    log_is_clean(&server);
}

#[tokio::test]
async fn slow_status_reports_time_out_without_failing_the_build() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    w.gh.inject_delay(
        &format!("/repos/{}/statuses", w.repo),
        Duration::from_secs(3),
    );
    let server = start(&w, "gh-slow-status", &["--github-timeout", "1"]).await;
    let name = push(&w, &server, "slow-status").await;
    let (_, msg) = outcome(&terminal(&w, &name, 60).await, BuildPhase::Succeeded);
    assert!(msg.contains("GitHub status report failed"), "{msg}");
    log_is_clean(&server);
}

/// A world whose image goes through a fault proxy in front of the stack's registry.
async fn proxied_world() -> (World, FaultProxy) {
    let proxy = FaultProxy::start(&mosaic_tests::registry().host).await;
    let w = world_at(Some(&proxy.host()), None, true).await;
    (w, proxy)
}

#[tokio::test]
async fn registry_down_fails_the_push_with_the_reason_then_recovers() {
    let (w, proxy) = proxied_world().await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let server = start(&w, "reg-down", &[]).await;
    proxy.set_mode(Mode::Down);
    let name = push(&w, &server, "regdown-a").await;
    let (reason, msg) = outcome(&terminal(&w, &name, 120).await, BuildPhase::Failed);
    assert_eq!(reason, "PushFailed", "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
    proxy.set_mode(Mode::Pass);
    let name = push(&w, &server, "regdown-b").await;
    outcome(&terminal(&w, &name, 120).await, BuildPhase::Succeeded);
}

#[tokio::test]
async fn registry_500_on_the_digest_check_is_retried_then_reported() {
    let (w, proxy) = proxied_world().await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let server = start(&w, "reg-digest", &[]).await;
    let digest_check = |times| {
        Some(Rule {
            method: "HEAD".into(),
            path_fragment: "/manifests/sha256:".into(),
            status: 500,
            times,
        })
    };
    // A registry that keeps answering 500 (each answer closes its connection, so every
    // attempt meets the rule): Failed, naming the answer and the attempts; nothing rolled.
    proxy.set_rule(digest_check(u64::MAX));
    let name = push(&w, &server, "digest-down").await;
    let (reason, msg) = outcome(&terminal(&w, &name, 120).await, BuildPhase::Failed);
    assert_eq!(reason, "DigestNotServed");
    assert!(
        msg.contains("HTTP 500") && msg.contains("gave up after 4 attempts"),
        "{msg}"
    );
    assert_eq!(proxy.answered().len(), 4, "{:?}", proxy.answered());
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
    // Two 500s, then the registry answers: the check retries and the Build succeeds.
    proxy.set_rule(digest_check(2));
    let name = push(&w, &server, "digest-flaky").await;
    outcome(&terminal(&w, &name, 120).await, BuildPhase::Succeeded);
    assert_eq!(proxy.answered().len(), 6, "{:?}", proxy.answered());
}
