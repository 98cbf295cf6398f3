//! Real-stack test of GitOps safety: the rollout never silently takes a Deployment's image from
//! another field manager. It fails naming the manager and leaves the Deployment untouched,
//! until the Binding hands the field over (`spec.takeOwnership: true`), which the Build says.

use kube::api::{Patch, PatchParams};
use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;

async fn take_ownership(w: &World, on: bool) {
    let patch = serde_json::json!({"spec": {"takeOwnership": on}});
    w.bindings()
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_image_owned_by_another_manager_fails_the_build_until_the_binding_takes_it_over() {
    let w = world(None, true).await;
    take_ownership(&w, false).await;
    let server = start(&w, "owner", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let before = w.deployments().get("web").await.unwrap();
    // Who wrote the Deployment's spec (here: the test's own client, as `kubectl create` would).
    let owners: Vec<String> = before
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.subresource.is_none())
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(!owners.is_empty());

    let sha = w.commit("owned elsewhere\n");
    assert_eq!(push(&server, &w, "d-1", &sha).await.0, 201);
    let b = terminal(&w, &build_name("web", &sha), 120).await;
    let st = b.status.unwrap();
    assert_eq!(
        (st.phase, st.reason.as_deref()),
        (BuildPhase::Failed, Some("ImageManagedElsewhere")),
        "{st:?}"
    );
    let msg = st.message.unwrap_or_default();
    assert!(
        owners.iter().any(|o| msg.contains(&format!("{o:?}"))) && msg.contains("takeOwnership"),
        "names the manager and what to do: {msg}"
    );
    let after = w.deployments().get("web").await.unwrap();
    assert_eq!(
        after.metadata.generation, before.metadata.generation,
        "the Deployment is untouched"
    );
    assert_eq!(deployed_image(&w).await, "example.com/web:before");

    // Handed over: the next push rolls, and says it took the image over.
    take_ownership(&w, true).await;
    let next = w.commit("taken over\n");
    assert_eq!(push(&server, &w, "d-2", &next).await.0, 201);
    let b = terminal(&w, &build_name("web", &next), 120).await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let msg = st.message.unwrap_or_default();
    assert!(msg.contains("took the image over from"), "{msg}");
    assert_eq!(deployed_image(&w).await, st.image.unwrap());
}

#[tokio::test]
async fn a_second_binding_of_the_same_container_is_ignored_with_a_reason() {
    let w = world(None, true).await;
    let server = start(&w, "owner-2", &[]).await;
    // A second Binding of Deployment web's only container, for another branch.
    let mut second = w.bindings().get("web").await.unwrap();
    second.metadata = kube::api::ObjectMeta {
        name: Some("web-2".into()),
        ..Default::default()
    };
    second.spec.branch = "other".into();
    second.status = None;
    w.bindings()
        .create(&Default::default(), &second)
        .await
        .unwrap();
    let sha = w.commit("second owner\n");
    let mut v: serde_json::Value = serde_json::from_slice(&push_body(&w.repo, &sha)).unwrap();
    v["ref"] = "refs/heads/other".into();
    let body = serde_json::to_vec(&v).unwrap();
    let (server_ref, body_ref) = (&server, &body);
    let j = mosaic_tests::eventually("the intake to see Binding web-2", 30, || async move {
        let (s, j) = deliver(server_ref, "push", "d-other", body_ref, WEBHOOK_SECRET).await;
        (s == 202 && j["reason"] != "NoMatchingBinding").then_some(j)
    })
    .await;
    assert_eq!(j["reason"], "OwnerConflict", "{j}");
    let msg = j["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("web-2") && msg.contains("Binding web already owns"),
        "{msg}"
    );
    let builds = w.builds().list(&Default::default()).await.unwrap();
    assert!(builds.items.is_empty(), "nothing recorded");
}
