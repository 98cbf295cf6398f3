//! `kubectl mosaic install --builder-autoscale MIN:MAX` on the real test API server: a bad
//! range is refused before anything is touched; the HPA is applied as `autoscaling/v2` and
//! read back; the builder Deployment's replicas are left to it (install stops applying them
//! without resetting them, and does not fight the HPA's changes); `--builders N` turns it off
//! (HPA deleted, replicas set back, no conflict); uninstall removes it.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, Patch, PatchParams};
use mosaic_core::names;

use crate::install::{CLUSTER_SCOPED, forget_other_installs, plugin, text};

/// The managers whose entries in the builder Deployment's managedFields own `spec.replicas`,
/// as `manager/operation`.
fn replica_owners(d: &Deployment) -> Vec<String> {
    d.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| {
            m.fields_v1.as_ref().is_some_and(|f| {
                f.0.get("f:spec")
                    .and_then(|s| s.get("f:replicas"))
                    .is_some()
            })
        })
        .map(|m| {
            format!(
                "{}/{}",
                m.manager.as_deref().unwrap_or_default(),
                m.operation.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

/// `install -n NS --wait=false ARGS`.
async fn install(k: &mosaic_tests::TestKube, args: &[&str]) -> std::process::Output {
    let mut all = vec!["install", "-n", k.namespace.as_str(), "--wait=false"];
    all.extend(args);
    plugin(&k.kubeconfig, &all, &[]).await
}

#[tokio::test]
async fn builder_autoscale_applies_the_hpa_leaves_it_the_replicas_and_turns_off() {
    let _one = CLUSTER_SCOPED.lock().await;
    let k = mosaic_tests::kube().await;
    forget_other_installs(&k.client).await;
    let ns = k.namespace.as_str();
    // Bad ranges: one clear error each, exit 2, nothing applied.
    for (bad, why) in [
        (
            "5:2",
            "5:2: MIN is above MAX; give the smaller number first, e.g. 2:5",
        ),
        ("0:3", "0:3: MIN must be at least 1"),
        (
            "x",
            "\"x\" is not MIN:MAX: give two whole numbers, e.g. 1:10",
        ),
    ] {
        let out = install(&k, &["--builder-autoscale", bad]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains(why), "{bad}: {err}");
    }
    let both = install(&k, &["--builders", "2", "--builder-autoscale", "1:3"]).await;
    assert_eq!(both.status.code(), Some(2), "{}", text(&both.stderr));
    let deployments: Api<Deployment> = Api::namespaced(k.client.clone(), ns);
    assert!(
        deployments
            .get_opt(names::BUILDER_NAME)
            .await
            .unwrap()
            .is_none(),
        "nothing applied"
    );

    // --dry-run shows the HPA, and no replicas for the builders.
    let dry = install(
        &k,
        &["--dry-run", "-o", "yaml", "--builder-autoscale", "1:4"],
    )
    .await;
    let yaml = text(&dry.stdout);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(
        yaml.contains("kind: HorizontalPodAutoscaler") && yaml.contains("maxReplicas: 4"),
        "{yaml}"
    );
    assert_eq!(
        yaml.matches("replicas: ").count(),
        1,
        "only the intake's: {yaml}"
    );

    // A fixed number first: install's apply owns the replicas.
    let fixed = install(&k, &["--builders", "3"]).await;
    assert!(fixed.status.success(), "{}", text(&fixed.stderr));
    let d = deployments.get(names::BUILDER_NAME).await.unwrap();
    assert_eq!(d.spec.replicas, Some(3));
    assert_eq!(replica_owners(&d), ["kubectl-mosaic/Apply"]);

    // Autoscaling on: the HPA is applied and reads back as autoscaling/v2; install no longer
    // applies the replicas, and they keep their value (handed over, not dropped).
    let on = install(&k, &["--builder-autoscale", "2:5"]).await;
    let err = text(&on.stderr);
    assert!(on.status.success(), "{err}");
    assert!(
        err.contains("horizontalpodautoscaler/mosaic-builder created"),
        "{err}"
    );
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(k.client.clone(), ns);
    let hpa = hpas.get(names::BUILDER_NAME).await.expect("the HPA");
    let spec = &hpa.spec;
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 5));
    assert_eq!(spec.scale_target_ref.name, names::BUILDER_NAME);
    let metric = spec.metrics.as_ref().unwrap()[0].external.as_ref().unwrap();
    assert_eq!(metric.metric.name, mosaic_core::autoscale::EXTERNAL_METRIC);
    assert_eq!(metric.target.type_, "AverageValue");
    let d = deployments.get(names::BUILDER_NAME).await.unwrap();
    assert_eq!(d.spec.replicas, Some(3), "kept, not reset: {err}");
    assert_eq!(
        replica_owners(&d),
        [format!("{}/Apply", names::FIELD_MANAGER_AUTOSCALE_HANDOVER)]
    );
    let show = plugin(
        &k.kubeconfig,
        &["install", "-n", ns, "--show", "-o", "json"],
        &[],
    )
    .await;
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(
        shown["builderAutoscale"],
        serde_json::json!({"min": 2, "max": 5})
    );

    // The HPA controller scales the builders (through /scale, as it does); a later install
    // (the range remembered) neither fights it nor reports a conflict.
    let hpa_controller = PatchParams {
        field_manager: Some("kube-controller-manager".into()),
        ..Default::default()
    };
    deployments
        .patch_scale(
            names::BUILDER_NAME,
            &hpa_controller,
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("scale");
    let again = install(&k, &[]).await;
    let err = text(&again.stderr);
    assert!(again.status.success(), "{err}");
    assert!(
        err.contains("keeping --builder-autoscale 2:5 from the earlier install"),
        "{err}"
    );
    let d = deployments.get(names::BUILDER_NAME).await.unwrap();
    assert_eq!(d.spec.replicas, Some(5), "{err}");

    // --builders turns it off: the HPA goes, the replicas come back to install, no conflict.
    let off = install(&k, &["--builders", "2"]).await;
    let err = text(&off.stderr);
    assert!(off.status.success(), "{err}");
    assert!(
        err.contains("horizontalpodautoscaler/mosaic-builder deleted"),
        "{err}"
    );
    assert!(hpas.get_opt(names::BUILDER_NAME).await.unwrap().is_none());
    let d = deployments.get(names::BUILDER_NAME).await.unwrap();
    assert_eq!(d.spec.replicas, Some(2), "{err}");
    assert!(
        replica_owners(&d).contains(&"kubectl-mosaic/Apply".to_string()),
        "{:?}",
        replica_owners(&d)
    );

    // On again, then uninstall removes the HPA with the rest.
    let on = install(&k, &["--builder-autoscale", "1:3"]).await;
    assert!(on.status.success(), "{}", text(&on.stderr));
    assert!(hpas.get_opt(names::BUILDER_NAME).await.unwrap().is_some());
    let un = plugin(&k.kubeconfig, &["uninstall", "-n", ns], &[]).await;
    let out = text(&un.stdout);
    assert!(un.status.success(), "{}", text(&un.stderr));
    assert!(
        out.contains("horizontalpodautoscaler/mosaic-builder deleted"),
        "{out}"
    );
    assert!(hpas.get_opt(names::BUILDER_NAME).await.unwrap().is_none());
}
