//! Real-stack crash and replica tests: SIGKILL the real `mosaic-webhook` binary while it holds a
//! Build, start it again, and check the Build finishes exactly once and the Deployment was
//! rolled once; SIGTERM hands a Build over; an intake-only replica records, a worker builds.

use mosaic_core::resources::BuildPhase;
use mosaic_tests::webhook::*;

#[tokio::test]
async fn killed_mid_build_resumes_and_finishes_exactly_once() {
    let w = world(None, true).await;
    // No Deployment controller runs yet, so the first process waits in RollingOut: the kill
    // lands while it holds the claim, after it has applied the rollout.
    let mut server = start(&w, "crash-1", &[]).await;
    let sha = w.commit("survives a crash\n");
    let name = mosaic_core::resources::build_name("web", &sha);
    assert_eq!(push(&server, &w, "d-1", &sha).await.0, 201);

    // Wait until this process has claimed the Build, then SIGKILL it.
    let api = w.builds();
    mosaic_tests::eventually("the Build to be claimed", 30, || {
        let api = api.clone();
        let name = name.clone();
        async move {
            let b = api.get_opt(&name).await.ok().flatten()?;
            let s = b.status?;
            (s.claimed_by.as_deref() == Some("crash-1") && !s.phase.is_terminal()).then_some(())
        }
    })
    .await;
    server.child.kill().expect("SIGKILL the server");
    server.child.wait().unwrap();
    let claimed = api.get(&name).await.unwrap().status.unwrap();
    assert!(
        !claimed.phase.is_terminal(),
        "killed before the end: {:?}",
        claimed.phase
    );

    // A new process with another identity takes the stale claim over.
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let server2 = start(&w, "crash-2", &[]).await;
    let b = terminal(&w, &name, 120).await;
    let st = b.status.clone().unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    assert_eq!(st.claimed_by.as_deref(), Some("crash-2"));
    assert_eq!(deployed_image(&w).await, st.image.clone().unwrap());

    // Exactly once: one success status, one Build, and the Deployment rolled once
    // (generation 1 at creation + 1 rollout).
    let successes =
        w.gh.statuses(&sha)
            .iter()
            .filter(|s| s.state == "success")
            .count();
    assert_eq!(successes, 1);
    assert_eq!(api.list(&Default::default()).await.unwrap().items.len(), 1);
    let dep = w.deployments().get("web").await.unwrap();
    assert_eq!(dep.metadata.generation, Some(2), "one rollout, not two");
    drop(server2);
}

#[tokio::test]
async fn sigterm_releases_the_running_build_for_another_worker() {
    let w = world(None, true).await;
    let mut server = start(&w, "term-1", &[]).await;
    let sha = w.commit("released on SIGTERM\n");
    let name = mosaic_core::resources::build_name("web", &sha);
    assert_eq!(push(&server, &w, "d-1", &sha).await.0, 201);
    // No Deployment controller yet: the worker waits in RollingOut holding the claim.
    let api = w.builds();
    mosaic_tests::eventually("the Build to roll out", 30, || {
        let api = api.clone();
        let name = name.clone();
        async move {
            let s = api.get_opt(&name).await.ok().flatten()?.status?;
            (s.phase == BuildPhase::RollingOut).then_some(())
        }
    })
    .await;
    let pid = server.child.id().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let exit = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 15 s after SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    let st = api.get(&name).await.unwrap().status.unwrap();
    assert_eq!(st.phase, BuildPhase::Pending, "released: {st:?}");
    assert_eq!(st.claimed_by, None);

    // Another worker picks it up at once (no stale-claim wait) and finishes it.
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let _server2 = start(&w, "term-2", &["--claim-ttl", "3600"]).await;
    let b = terminal(&w, &name, 60).await;
    assert_eq!(phase(&b), BuildPhase::Succeeded, "{:?}", b.status);
}

#[tokio::test]
async fn an_intake_only_replica_records_and_a_worker_replica_builds() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    // `start` waits for /readyz: an intake-only replica is ready without a Build watch.
    let intake = start(&w, "intake-only", &["--concurrency", "0"]).await;
    let sha = w.commit("recorded by one replica, built by another\n");
    let name = mosaic_core::resources::build_name("web", &sha);
    let (status, body) = push(&intake, &w, "d-1", &sha).await;
    assert_eq!(status, 201, "{body}");

    // The intake replica runs no worker, so the Build waits for one that does. (Had the
    // intake replica run a worker, it would have claimed the Build long before this second
    // process is ready.)
    let worker = start(&w, "worker-1", &[]).await;
    let b = terminal(&w, &name, 120).await;
    let st = b.status.clone().unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    assert_eq!(st.claimed_by.as_deref(), Some("worker-1"));
    assert_eq!(deployed_image(&w).await, st.image.unwrap());
    drop((intake, worker));
}
