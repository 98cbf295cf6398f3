//! Real-stack test of a rollback Build (trigger `rollback`, as `kubectl mosaic rollback` and
//! the UI record it) through the real `mosaic-webhook` binary: the earlier Build's digest is
//! applied again with nothing fetched or built, and a rollback whose image is not that Build's
//! own is refused without touching the Deployment.

use kube::api::PostParams;
use mosaic_core::names;
use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_core::rollback;
use mosaic_tests::webhook::*;

#[tokio::test]
async fn a_rollback_applies_the_old_digest_again_without_a_build() {
    let w = world(None, true).await;
    let server = start(&w, "rollback-1", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let old = w.commit("the old release\n");
    assert_eq!(push(&server, &w, "d-old", &old).await.0, 201);
    let old_b = terminal(&w, &build_name("web", &old), 120).await;
    assert_eq!(phase(&old_b), BuildPhase::Succeeded, "{:?}", old_b.status);
    let old_image = old_b.status.clone().unwrap().image.unwrap();
    let new = w.commit("the new release\n");
    assert_eq!(push(&server, &w, "d-new", &new).await.0, 201);
    let new_b = terminal(&w, &build_name("web", &new), 120).await;
    assert_eq!(phase(&new_b), BuildPhase::Succeeded, "{:?}", new_b.status);
    let new_image = new_b.status.clone().unwrap().image.unwrap();
    assert_ne!(old_image, new_image);
    assert_eq!(deployed_image(&w).await, new_image);
    assert_eq!(w.gh.tarball_downloads(), 2);

    // A rollback whose image was edited to another one than its source ran: refused, and the
    // Deployment keeps what it runs.
    let binding = w.bindings().get("web").await.unwrap();
    let builds = w.builds().list(&Default::default()).await.unwrap().items;
    let source = rollback::choose(&builds, None, Some(&new_image)).unwrap();
    assert_eq!(source.metadata.name, old_b.metadata.name);
    let mut forged = rollback::rollback_build(&binding, source, Some("mallory".into()), 1).unwrap();
    forged.spec.trigger.image =
        Some(new_image.replace(new_image.rsplit_once(':').unwrap().1, &"e".repeat(64)));
    let forged = w
        .builds()
        .create(&PostParams::default(), &forged)
        .await
        .unwrap();
    let f = terminal(&w, forged.metadata.name.as_deref().unwrap(), 60).await;
    let fs = f.status.clone().unwrap();
    assert_eq!(
        (fs.phase, fs.reason.as_deref()),
        (BuildPhase::Failed, Some("RollbackRefused")),
        "{fs:?}"
    );
    assert_eq!(deployed_image(&w).await, new_image);

    // The real rollback: the old digest runs again; nothing was fetched or built.
    let r = rollback::rollback_build(&binding, source, Some("alice".into()), 2).unwrap();
    let name = r.metadata.name.clone().unwrap();
    w.builds().create(&PostParams::default(), &r).await.unwrap();
    let done = terminal(&w, &name, 120).await;
    let st = done.status.clone().unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    assert_eq!(st.image.as_deref(), Some(old_image.as_str()));
    assert_eq!(deployed_image(&w).await, old_image);
    assert_eq!(w.gh.tarball_downloads(), 2, "a rollback fetches nothing");
    let tail = st.log_tail.unwrap_or_default();
    assert!(
        tail.contains("nothing fetched or built")
            && tail.contains(old_b.metadata.name.as_deref().unwrap()),
        "{tail}"
    );
    assert!(st.phase_times.pushing.is_none(), "nothing was pushed");
    let dep = w.deployments().get("web").await.unwrap();
    let ann = dep.spec.template.metadata.unwrap().annotations.unwrap();
    assert_eq!(ann[names::ANNOTATION_COMMIT], old);
    assert_eq!(ann[names::ANNOTATION_BUILD], name);
    let bs = w.bindings().get("web").await.unwrap().status.unwrap();
    assert_eq!(bs.last_image.as_deref(), Some(old_image.as_str()));
    assert_eq!(bs.last_commit.as_deref(), Some(old.as_str()));
    let last =
        w.gh.statuses(&old)
            .pop()
            .expect("a status for the old commit");
    assert_eq!(last.state, "success");
    assert!(
        w.gh.statuses(&old)
            .iter()
            .any(|s| s.description == "rolling back"),
        "{:?}",
        w.gh.statuses(&old)
    );
}
