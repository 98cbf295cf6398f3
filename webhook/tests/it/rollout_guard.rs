//! Real-stack test of the rollout guard's foundation: the API server refuses a server-side
//! apply whose body carries a resourceVersion the Deployment no longer has, so an older
//! Build's apply cannot land after a newer one's (see `latest::deployment_taken_by`).

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use mosaic_webhook::rollout::{Marks, apply_image};

fn image(d: &Deployment) -> String {
    d.spec.template.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

/// A namespace with Deployment `web` (container `app`, image `r/web:before`), as created.
async fn deployment() -> (mosaic_tests::TestKube, Api<Deployment>, Deployment) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kube = mosaic_tests::kube().await;
    let api: Api<Deployment> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let dep: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "r/web:before"}]}}}
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &dep).await.unwrap();
    (kube, api, created)
}

#[tokio::test]
async fn an_apply_with_a_stale_resource_version_is_refused() {
    let (_kube, api, read) = deployment().await;
    let seen = read.metadata.resource_version.clone().unwrap();

    // The newer Build applies with what it read: accepted.
    apply_image(
        &api,
        "web",
        "app",
        "r/web@sha256:2",
        Marks {
            commit: Some("c2"),
            build: Some("web-2"),
        },
        Some(&seen),
    )
    .await
    .expect("an apply at the current resourceVersion lands");
    // The older Build read the Deployment before that apply: refused, nothing changes.
    let err = apply_image(
        &api,
        "web",
        "app",
        "r/web@sha256:1",
        Marks {
            commit: Some("c1"),
            build: Some("web-1"),
        },
        Some(&seen),
    )
    .await
    .expect_err("an apply at a stale resourceVersion is refused");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 409),
        "{err}"
    );
    assert_eq!(image(&api.get("web").await.unwrap()), "r/web@sha256:2");
    // Without a resourceVersion the apply is unconditional (rollback of a lone Build, tests).
    let marks = Marks {
        commit: Some("c3"),
        build: Some("web-3"),
    };
    apply_image(&api, "web", "app", "r/web@sha256:3", marks, None)
        .await
        .unwrap();
    assert_eq!(image(&api.get("web").await.unwrap()), "r/web@sha256:3");
}

/// A rollback applies the previous template back exactly: the image, and the Mosaic
/// annotations as they were (absent ones removed), so the Deployment controller finds the old
/// ReplicaSet's template again and scales it up instead of starting a new one.
#[tokio::test]
async fn applying_the_previous_marks_restores_the_previous_template_exactly() {
    let (_kube, api, before) = deployment().await;
    let template = |d: &Deployment| serde_json::to_value(&d.spec.template).unwrap();
    let first = Marks {
        commit: Some("c1"),
        build: Some("web-c1"),
    };
    apply_image(&api, "web", "app", "r/web@sha256:1", first, None)
        .await
        .unwrap();
    let deployed = api.get("web").await.unwrap();
    apply_image(
        &api,
        "web",
        "app",
        "r/web@sha256:2",
        Marks {
            commit: Some("c2"),
            build: Some("web-c2"),
        },
        None,
    )
    .await
    .unwrap();
    // Back to the first Build's template: identical to what it was, annotations included.
    apply_image(&api, "web", "app", "r/web@sha256:1", first, None)
        .await
        .unwrap();
    assert_eq!(
        template(&api.get("web").await.unwrap()),
        template(&deployed)
    );
    // Back to the template from before Mosaic: no Mosaic annotation is left behind.
    let none = Marks {
        commit: None,
        build: None,
    };
    apply_image(&api, "web", "app", "r/web:before", none, None)
        .await
        .unwrap();
    assert_eq!(template(&api.get("web").await.unwrap()), template(&before));
}
