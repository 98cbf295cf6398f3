//! Real-stack test of "why didn't my push deploy?" at the intake: every verified push of a
//! bound repository that records nothing for a Binding leaves an Event on that Binding — a push
//! to another branch, a tag push, a deleted branch, a paused Binding, a Binding that does not
//! own its container — written by the real binary, labelled with the Binding and the commit.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use mosaic_core::names::{LABEL_BINDING, LABEL_COMMIT};
use mosaic_tests::webhook::*;

/// (reason, message) of the Events on Binding `binding`, found by its label.
async fn events_of(w: &World, binding: &str) -> Vec<(String, String)> {
    Api::<Event>::namespaced(w.kube.client.clone(), w.ns())
        .list(&ListParams::default().labels(&format!("{LABEL_BINDING}={binding}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.involved_object.kind.as_deref() == Some("Binding"))
        .filter(|e| e.involved_object.name.as_deref() == Some(binding))
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

/// Wait for an Event with `reason` on `binding`; returns its message.
async fn event(w: &World, binding: &str, reason: &str) -> String {
    mosaic_tests::eventually(&format!("a {reason} Event on {binding}"), 30, || async {
        events_of(w, binding)
            .await
            .into_iter()
            .find(|(r, _)| r == reason)
            .map(|(_, m)| m)
    })
    .await
}

/// A second Binding `name` for the repository, on `branch`, of Deployment `deployment`.
async fn another_binding(w: &World, name: &str, branch: &str, deployment: &str) {
    let mut b = w.bindings().get("web").await.unwrap();
    b.metadata = kube::api::ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    };
    b.spec.branch = branch.into();
    b.spec.deployment = deployment.into();
    b.status = None;
    w.bindings().create(&Default::default(), &b).await.unwrap();
}

fn push_of(w: &World, git_ref: &str, sha: &str, f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&push_body(&w.repo, sha)).unwrap();
    v["ref"] = git_ref.into();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn every_push_that_records_nothing_for_a_binding_leaves_an_event_on_it() {
    let w = world(None, true).await;
    // Intake only: no worker, so only the intake's decisions write Events.
    let server = start(&w, "intake-events", &["--concurrency", "0"]).await;
    another_binding(&w, "web-2", "main", "web").await; // the same container, created later
    another_binding(&w, "staging", "release", "staging").await;
    let one = w.commit("one\n");
    let body = push_of(&w, "refs/heads/main", &one, |_| {});
    let (server_ref, body_ref, w_ref, one_ref) = (&server, &body, &w, &one);
    mosaic_tests::eventually("the intake to see all three Bindings", 30, || async move {
        deliver(server_ref, "push", "d-1", body_ref, WEBHOOK_SECRET).await;
        let n = Api::<Event>::namespaced(w_ref.kube.client.clone(), w_ref.ns())
            .list(&ListParams::default().labels(&format!("{LABEL_COMMIT}={one_ref}")))
            .await
            .ok()?
            .items
            .len();
        (n >= 2).then_some(())
    })
    .await;
    // Owner: web records a Build; the others say why not.
    let m = event(&w, "web-2", "OwnerConflict").await;
    assert!(m.contains("Binding web already owns"), "{m}");
    let m = event(&w, "staging", "NotBoundBranch").await;
    assert!(
        m.contains("branch \"main\"") && m.contains("deploys branch \"release\""),
        "{m}"
    );
    assert!(
        events_of(&w, "web").await.is_empty(),
        "web recorded a Build"
    );

    // A tag push: every Binding of the repository.
    let tag = push_of(&w, "refs/tags/v1", &one, |_| {});
    let (s, j) = deliver(&server, "push", "d-tag", &tag, WEBHOOK_SECRET).await;
    assert_eq!((s, j["reason"].as_str()), (202, Some("TagPush")), "{j}");
    for b in ["web", "web-2", "staging"] {
        let m = event(&w, b, "TagPush").await;
        assert!(m.contains("tag \"v1\""), "{m}");
    }

    // Paused: not built, and said so.
    w.bindings()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"paused": true}})),
        )
        .await
        .unwrap();
    let two = w.commit("two\n");
    let body = push_of(&w, "refs/heads/main", &two, |_| {});
    let body_ref = &body;
    let m = mosaic_tests::eventually("a Paused Event on web", 30, || async move {
        deliver(server_ref, "push", "d-2", body_ref, WEBHOOK_SECRET).await;
        events_of(w_ref, "web")
            .await
            .into_iter()
            .find(|(r, _)| r == "Paused")
            .map(|(_, m)| m)
    })
    .await;
    assert!(m.contains("paused"), "{m}");

    // A deleted branch.
    let gone = push_of(&w, "refs/heads/main", &"0".repeat(40), |v| {
        v["deleted"] = true.into();
        v["before"] = two.clone().into();
    });
    let (s, j) = deliver(&server, "push", "d-del", &gone, WEBHOOK_SECRET).await;
    assert_eq!(
        (s, j["reason"].as_str()),
        (202, Some("BranchDeleted")),
        "{j}"
    );
    for b in ["web", "web-2"] {
        let m = event(&w, b, "BranchDeleted").await;
        assert!(m.contains("was deleted"), "{m}");
    }

    // A redelivery writes nothing new; no Build was recorded by any of them but web's first.
    let before = events_of(&w, "staging").await.len();
    deliver(&server, "push", "d-tag-again", &tag, WEBHOOK_SECRET).await;
    let builds = w.builds().list(&Default::default()).await.unwrap().items;
    assert_eq!(builds.len(), 1, "only web's push of {one} is recorded");
    assert_eq!(events_of(&w, "staging").await.len(), before);
}
