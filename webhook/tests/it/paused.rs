//! Real-stack test of "paused means paused just before apply": a Binding paused while its
//! Build is building ends the Build `Cancelled` (reason `Paused`) after the build, and the
//! Deployment is never applied to. The Build is held in Building by a gate on the fake GitHub's
//! tarball endpoint, which the test opens only once the pause is written (no timing).

use kube::api::{Patch, PatchParams};
use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;

#[tokio::test]
async fn a_binding_paused_while_its_build_builds_rolls_nothing() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let server = start(&w, "paused-apply", &[]).await;
    let before = w.deployments().get("web").await.unwrap();
    let sha = w.commit("paused mid-build\n");
    let name = build_name("web", &sha);
    let tarball = format!("/repos/{}/tarball", w.repo);
    let gate = w.gh.hold(&tarball);
    assert_eq!(push(&server, &w, "d-1", &sha).await.0, 201);
    // The Build was admitted (not paused then) and is fetching its commit.
    let (gh, tarball) = (&w.gh, tarball.as_str());
    mosaic_tests::eventually("the Build to ask for its tarball", 60, || async move {
        (!gh.requests_to(tarball).is_empty()).then_some(())
    })
    .await;
    let held = w.builds().get(&name).await.unwrap();
    assert_eq!(phase(&held), BuildPhase::Building, "{:?}", held.status);

    let pause = serde_json::json!({"spec": {"paused": true}});
    w.bindings()
        .patch("web", &PatchParams::default(), &Patch::Merge(&pause))
        .await
        .unwrap();
    gate.open();

    let b = terminal(&w, &name, 120).await;
    let st = b.status.clone().unwrap_or_default();
    assert_eq!(
        (st.phase, st.reason.as_deref()),
        (BuildPhase::Cancelled, Some("Paused")),
        "{st:?}"
    );
    let message = st.message.clone().unwrap_or_default();
    assert!(message.contains("spec.paused"), "{message}");
    assert_eq!(
        w.gh.tarball_downloads(),
        1,
        "it was built: the pause came later"
    );
    assert!(st.image.is_some(), "pushed before the check: {st:?}");
    assert!(
        st.phase_times.rolling_out.is_none(),
        "never announced a rollout: {st:?}"
    );
    // The Deployment was never applied to: same generation, image and template.
    let after = w.deployments().get("web").await.unwrap();
    assert_eq!(after.metadata.generation, before.metadata.generation);
    assert_eq!(after.spec.template, before.spec.template);
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
    let binding = w.bindings().get("web").await.unwrap();
    let last = binding.status.and_then(|s| s.last_commit);
    assert_eq!(last, None, "the Binding deployed nothing");
}
