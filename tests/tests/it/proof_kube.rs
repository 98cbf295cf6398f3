//! Foundation proof on the real stack: server-side apply ownership and conflicts, watches,
//! optimistic concurrency, and the generated CRDs (round trip and server-side validation).

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::{WatchStreamExt, watcher};
use mosaic_core::names::FIELD_MANAGER;
use mosaic_core::{Binding, BindingSpec};
use serde_json::json;

fn deployment(name: &str, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}
            }
        }
    }))
    .unwrap()
}

fn image_apply(name: &str, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}
    })
}

fn image_of(d: &Deployment) -> String {
    d.spec.template.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap()
}

#[tokio::test]
async fn server_side_apply_owns_conflicts_and_watch_sees_it() {
    let t = mosaic_tests::kube().await;
    let api: Api<Deployment> = Api::namespaced(t.client.clone(), &t.namespace);
    let created = api
        .create(
            &PostParams {
                field_manager: Some("creator".into()),
                ..Default::default()
            },
            &deployment("web", "nginx:1"),
        )
        .await
        .expect("create deployment");
    assert_eq!(created.metadata.generation, Some(1));

    // Watch from the creation's resourceVersion so the change cannot be missed.
    let rv = created.metadata.resource_version.clone().unwrap();
    let mut events = api
        .watch(
            &kube::api::WatchParams::default().fields("metadata.name=web"),
            &rv,
        )
        .await
        .expect("watch")
        .boxed();

    // Mosaic takes ownership of the image (force, since "creator" owns it).
    let new_image = "registry.example.com/team/web@sha256:".to_string() + &"a".repeat(64);
    let applied = api
        .patch(
            "web",
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(image_apply("web", &new_image)),
        )
        .await
        .expect("server-side apply by mosaic");
    assert_eq!(image_of(&applied), new_image);
    assert_eq!(
        applied.metadata.generation,
        Some(2),
        "a spec change bumps the generation"
    );
    let managers: Vec<_> = applied
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        managers.contains(&FIELD_MANAGER.to_string()),
        "managers {managers:?}"
    );

    let modified = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(ev) = events.try_next().await.expect("watch stream") {
            if let kube::api::WatchEvent::Modified(d) = ev
                && image_of(&d) == new_image
            {
                return d;
            }
        }
        panic!("watch ended without MODIFIED");
    })
    .await
    .expect("MODIFIED event within 20 s");
    assert_eq!(modified.metadata.generation, Some(2));

    // A second manager's conflicting, non-forced apply is refused with 409.
    let err = api
        .patch(
            "web",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(image_apply("web", "nginx:2")),
        )
        .await
        .expect_err("conflicting apply must fail");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409, "{s:?}");
            assert!(
                s.message.contains("conflict") && s.message.contains(FIELD_MANAGER),
                "{}",
                s.message
            );
        }
        other => panic!("expected a 409, got {other}"),
    }
    assert_eq!(
        image_of(&api.get("web").await.unwrap()),
        new_image,
        "the refused apply changed nothing"
    );
}

#[tokio::test]
async fn stale_resource_version_is_a_conflict() {
    let t = mosaic_tests::kube().await;
    let api: Api<Deployment> = Api::namespaced(t.client.clone(), &t.namespace);
    let first = api
        .create(&PostParams::default(), &deployment("rv", "nginx:1"))
        .await
        .unwrap();
    let mut newer = first.clone();
    newer.spec.replicas = Some(2);
    api.replace("rv", &PostParams::default(), &newer)
        .await
        .expect("first replace");
    let mut stale = first;
    stale.spec.replicas = Some(3);
    match api.replace("rv", &PostParams::default(), &stale).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 409, "{s:?}"),
        other => panic!("expected 409 on a stale resourceVersion, got {other:?}"),
    }
}

#[tokio::test]
async fn crds_apply_and_binding_round_trips() {
    let t = mosaic_tests::kube().await;
    mosaic_tests::install_crds(&t.client).await;
    let api: Api<Binding> = Api::namespaced(t.client.clone(), &t.namespace);
    let b = Binding::new(
        "api",
        serde_json::from_value::<BindingSpec>(json!({
            "deployment": "api", "repo": "acme/api", "image": "registry.example.com/acme/api",
            "registrySecret": "push-creds"
        }))
        .unwrap(),
    );
    api.patch("api", &PatchParams::apply(FIELD_MANAGER), &Patch::Apply(&b))
        .await
        .expect("apply Binding");
    let got = api.get("api").await.expect("get Binding");
    assert_eq!(got.spec, b.spec);
    assert_eq!(got.spec.branch, "main");

    // The watcher sees the object too (the controllers rely on it).
    let first = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .boxed()
        .try_next()
        .await
        .unwrap();
    assert_eq!(first.map(|b| b.spec.repo), Some("acme/api".to_string()));
}

#[tokio::test]
async fn server_rejects_invalid_bindings() {
    let t = mosaic_tests::kube().await;
    mosaic_tests::install_crds(&t.client).await;
    let gvk = GroupVersionKind::gvk(
        mosaic_core::names::API_GROUP,
        mosaic_core::names::API_VERSION,
        "Binding",
    );
    let api: Api<DynamicObject> =
        Api::namespaced_with(t.client.clone(), &t.namespace, &ApiResource::from_gvk(&gvk));
    let cases = [
        (
            "missing-repo",
            json!({"deployment": "api", "image": "registry.example.com/acme/api"}),
            "repo",
        ),
        (
            "bad-image",
            json!({"deployment": "api", "repo": "acme/api", "image": "Bad Image:tag"}),
            "image",
        ),
        (
            "bad-repo",
            json!({"deployment": "api", "repo": "not a repo", "image": "r.io/a"}),
            "repo",
        ),
    ];
    for (name, spec, field) in cases {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": mosaic_core::names::API_GROUP_VERSION, "kind": "Binding",
            "metadata": {"name": name}, "spec": spec
        }))
        .unwrap();
        match api.create(&PostParams::default(), &obj).await {
            Err(kube::Error::Api(s)) => {
                assert!(s.code == 422 || s.code == 400, "{name}: {s:?}");
                assert!(
                    s.message.contains(field),
                    "{name}: message should name {field}: {}",
                    s.message
                );
            }
            other => panic!("{name}: expected rejection, got {other:?}"),
        }
    }
}
