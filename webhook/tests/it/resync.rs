//! Real-stack tests of the resync: its answer to a bound branch that no longer exists (the
//! Binding's Ready condition says so, written once, not in a hot loop), and to GitHub's spent
//! rate limit (no request until `Retry-After` has run, then the lost push is recorded).

use std::time::Duration;

use mosaic_core::resources::{BuildPhase, TriggerKind, build_name};
use mosaic_tests::webhook::*;

#[tokio::test]
async fn a_deleted_branch_is_said_on_the_binding_once() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    w.commit("soon gone\n");
    w.gh.delete_branch(&w.repo, "main");
    let _server = start(&w, "resync-gone", &["--resync-interval", "1"]).await;
    let cond = mosaic_tests::eventually("the Ready condition to name the branch", 30, || async {
        let b = w.bindings().get("web").await.ok()?;
        let c = b
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        (c.reason == "BranchNotFound").then_some(c)
    })
    .await;
    assert_eq!(cond.status, "False");
    assert!(
        cond.message.contains("branch main does not exist"),
        "{}",
        cond.message
    );
    // Further rounds do not write it again.
    let rv = w
        .bindings()
        .get("web")
        .await
        .unwrap()
        .metadata
        .resource_version;
    let before = w.gh.graph_requests();
    let gh = &w.gh;
    mosaic_tests::eventually("two more resync rounds", 30, || async move {
        let now = gh.graph_requests();
        (now.branch_full >= before.branch_full + 2).then_some(())
    })
    .await;
    assert_eq!(
        w.bindings()
            .get("web")
            .await
            .unwrap()
            .metadata
            .resource_version,
        rv,
        "the condition is written once"
    );
    assert!(
        w.builds()
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "nothing recorded"
    );
}

/// `Retry-After` of the injected rate limit: several resync rounds of one second run in it.
const RETRY_AFTER: u64 = 6;

#[tokio::test]
async fn a_rate_limited_resync_asks_nothing_until_retry_after_then_records_the_head() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    // A push whose delivery never arrived; GitHub answers the first branch read with its
    // spent rate limit (403, `Retry-After`, `X-RateLimit-Remaining: 0`).
    let sha = w.commit("lost while rate limited\n");
    let branch = format!("/repos/{}/branches/main", w.repo);
    w.gh.inject_rate_limit_for(&branch, RETRY_AFTER, 1);
    let server = start(&w, "resync-limit", &["--resync-interval", "1"]).await;
    let b = terminal(&w, &build_name("web", &sha), 120).await;
    let st = b.status.clone().unwrap_or_default();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    assert_eq!(b.spec.trigger.kind, TriggerKind::Resync);
    assert_eq!(deployed_image(&w).await, st.image.unwrap_or_default());

    // The first read was refused; GitHub was asked nothing more until `Retry-After` had run
    // (the fake's own clock: a slow machine only widens the gap), and the next read found the
    // head.
    let asked = w.gh.requests_to(&branch);
    assert!(asked.len() >= 2, "{asked:?}");
    let (refused, next) = (asked[0], asked[1]);
    assert!(
        next - refused >= Duration::from_secs(RETRY_AFTER),
        "asked again {:?} after the 403 with Retry-After {RETRY_AFTER}",
        next - refused
    );
    let between: Vec<String> =
        w.gh.requests()
            .into_iter()
            .filter(|(_, at)| *at > refused && *at < next)
            .map(|(path, _)| path)
            .collect();
    assert!(between.is_empty(), "asked GitHub meanwhile: {between:?}");
    // Meanwhile the resync kept running its rounds, holding off each time instead of asking.
    let log = std::fs::read_to_string(&server.log).unwrap();
    let held = log
        .lines()
        .filter(|l| l.contains("resync: holding off for GitHub's rate limit"))
        .count();
    assert!(held >= 2, "{held} rounds held off; log:\n{log}");
}
