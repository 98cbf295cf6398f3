//! Real-stack test of the unfinished-Builds gauge on `/metrics` (the builders' autoscaling
//! metric): read from the worker's watch cache, it counts the Builds waiting for a builder
//! (`pending`) and those a builder holds (`claimed`), and drops as they are claimed and end.

use std::time::Duration;

use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;

/// The gauge's (pending, claimed) as the server's `/metrics` shows them now.
async fn unfinished(server: &Server) -> (i64, i64) {
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("a text body");
    let read = |state: &str| {
        let series = format!("mosaic_webhook_builds_unfinished{{state=\"{state}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
    };
    (read("pending"), read("claimed"))
}

/// Wait until the gauge reads `want` as (pending, claimed).
async fn gauge_reads(server: &Server, want: (i64, i64), what: &str) {
    mosaic_tests::eventually(what, 90, || async move {
        (unfinished(server).await == want).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_gauge_counts_builds_waiting_for_a_builder_and_held_by_one() {
    let w = world(None, false).await;
    // One Build at a time, and no Deployment controller yet: the first Build holds the only
    // slot, rolling out, while the next ones wait.
    let server = start(
        &w,
        "gauge-1",
        &["--concurrency", "1", "--rollout-timeout", "600"],
    )
    .await;
    assert_eq!(unfinished(&server).await, (0, 0), "nothing to build yet");

    let first = w.commit("first\n");
    let (status, body) = push(&server, &w, "gauge-d1", &first).await;
    assert_eq!(status, 201, "{body}");
    let first_build = build_name("web", &first);
    mosaic_tests::eventually("the first Build to roll out", 120, || async {
        let b = w.builds().get(&first_build).await.ok()?;
        (phase(&b) == BuildPhase::RollingOut).then_some(())
    })
    .await;
    gauge_reads(&server, (0, 1), "one Build claimed, none waiting").await;

    let mut waiting = Vec::new();
    for (i, marker) in ["second\n", "third\n"].into_iter().enumerate() {
        let sha = w.commit(marker);
        let (status, body) = push(&server, &w, &format!("gauge-d{}", i + 2), &sha).await;
        assert_eq!(status, 201, "{body}");
        waiting.push(build_name("web", &sha));
    }
    gauge_reads(&server, (2, 1), "two Builds waiting for the busy builder").await;
    for name in &waiting {
        let b = w.builds().get(name).await.expect("the Build exists");
        assert!(b.status.is_none(), "{name} was not claimed: {:?}", b.status);
    }

    // The rollout completes: the slot frees, the newest Build is claimed (the other one is
    // superseded) and deploys; then nothing is left to build.
    let _controller = complete_rollouts(w.deployments(), Duration::from_millis(200));
    for name in waiting.iter().chain([&first_build]) {
        terminal(&w, name, 120).await;
    }
    gauge_reads(&server, (0, 0), "every Build finished").await;
    let newest = w.builds().get(&waiting[1]).await.expect("the newest Build");
    assert_eq!(phase(&newest), BuildPhase::Succeeded, "{:?}", newest.status);
}
