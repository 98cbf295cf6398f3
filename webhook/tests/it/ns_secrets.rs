//! Real-stack tests of one webhook secret per namespace: `/webhooks/github/{namespace}` is
//! verified with that namespace's Secret and reaches only its Bindings; the cluster route no
//! longer reaches a namespace with a secret of its own; a rotation needs no restart.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use mosaic_core::resources::build_name;
use mosaic_tests::webhook::*;

/// Deliver a `push` of `repo` at `sha`, signed with `secret`, to `path`.
async fn deliver_to(
    server: &Server,
    path: &str,
    repo: &str,
    sha: &str,
    secret: &str,
) -> (u16, serde_json::Value) {
    let body = push_body(repo, sha);
    let sig = sign(secret.as_bytes(), &body);
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", server.url))
        .header("x-github-event", "push")
        .header("x-github-delivery", format!("d-{sha}"))
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn put_secret(w: &World, keys: &[(&str, &str)]) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let data: serde_json::Map<String, serde_json::Value> = keys
        .iter()
        .map(|(k, v)| (k.to_string(), b64.encode(v).into()))
        .collect();
    let s: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "mosaic-webhook-secret"}, "data": data
    }))
    .unwrap();
    let api: Api<Secret> = Api::namespaced(w.kube.client.clone(), w.ns());
    if api.create(&PostParams::default(), &s).await.is_err() {
        let patch = serde_json::json!({ "data": data });
        api.patch(
            "mosaic-webhook-secret",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
    }
}

async fn build_count(w: &World) -> usize {
    w.builds()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test]
async fn a_namespace_secret_reaches_only_its_namespace_and_rotates_without_a_restart() {
    let a = world(None, true).await;
    let b = world(None, true).await;
    put_secret(&a, &[("secret", "team-a-key")]).await;
    put_secret(&b, &[("secret", "team-b-key")]).await;
    let server = start(
        &b,
        "ns-secrets",
        &["--namespace", a.ns(), "--resync-interval", "0"],
    )
    .await;
    let sha = b.commit("team b\n");
    let (route_a, route_b) = (
        format!("/webhooks/github/{}", a.ns()),
        format!("/webhooks/github/{}", b.ns()),
    );

    // Signed with A's key, a push of B's repository reaches only A's Bindings: no match.
    let (s, j) = deliver_to(&server, &route_a, &b.repo, &sha, "team-a-key").await;
    assert_eq!(
        (s, j["reason"].as_str()),
        (202, Some("NoMatchingBinding")),
        "{j}"
    );
    // A's key on B's route: refused.
    let (s, _) = deliver_to(&server, &route_b, &b.repo, &sha, "team-a-key").await;
    assert_eq!(s, 401);
    // The cluster's secret no longer reaches a namespace that has its own.
    let (s, j) = deliver_to(&server, "/webhooks/github", &b.repo, &sha, WEBHOOK_SECRET).await;
    assert_eq!(
        (s, j["reason"].as_str()),
        (202, Some("NamespaceSecret")),
        "{j}"
    );
    assert_eq!(build_count(&b).await, 0, "nothing recorded in B");
    assert_eq!(build_count(&a).await, 0, "nothing recorded in A");
    // A namespace without a secret has no route.
    let (s, j) = deliver_to(&server, "/webhooks/github/no-such-ns", &b.repo, &sha, "x").await;
    assert_eq!(s, 404, "{j}");

    // B's own key records B's Build.
    let (s, j) = deliver_to(&server, &route_b, &b.repo, &sha, "team-b-key").await;
    assert_eq!(s, 201, "{j}");
    assert!(
        b.builds()
            .get_opt(&build_name("web", &sha))
            .await
            .unwrap()
            .is_some()
    );

    // Rotation: the new key is `secret`, the old one `previous`; both verify, no restart.
    put_secret(
        &b,
        &[("secret", "team-b-key-2"), ("previous", "team-b-key")],
    )
    .await;
    let next = b.commit("team b, rotated\n");
    let (server_ref, route, repo, commit) = (&server, &route_b, &b.repo, &next);
    mosaic_tests::eventually("the rotated key to be read", 30, || async move {
        let (s, _) = deliver_to(server_ref, route, repo, commit, "team-b-key-2").await;
        (s == 201).then_some(())
    })
    .await;
    let third = b.commit("team b, old key still valid\n");
    let (s, j) = deliver_to(&server, &route_b, &b.repo, &third, "team-b-key").await;
    assert_eq!(
        s, 201,
        "the previous key still verifies during the rotation: {j}"
    );
}
