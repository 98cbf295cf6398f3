//! Real-stack test of the resync's answer to a bound branch that no longer exists: the
//! Binding's Ready condition says so, written once, not in a hot loop.

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
