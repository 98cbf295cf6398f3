//! Who owns the builders' replicas, read from managedFields as the API server writes them.

use super::*;

/// The builder Deployment's metadata after install applied it (`kubectl-mosaic`, Apply) and,
/// optionally, the HPA controller scaled it (an Update through the scale subresource).
fn deployment(install_owns_replicas: bool) -> Deployment {
    let mut spec = json!({"f:selector": {}, "f:template": {"f:spec": {"f:containers": {}}}});
    if install_owns_replicas {
        spec["f:replicas"] = json!({});
    }
    let mut managed = vec![json!({"manager": "kubectl-mosaic", "operation": "Apply",
        "apiVersion": "apps/v1", "time": "2026-12-07T07:50:01Z", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}}, "f:spec": spec}})];
    if !install_owns_replicas {
        managed.push(
            json!({"manager": "kube-controller-manager", "operation": "Update",
            "apiVersion": "apps/v1", "time": "2026-12-07T07:52:13Z", "fieldsType": "FieldsV1",
            "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}}),
        );
    }
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mosaic-builder", "namespace": "mosaic-system",
            "uid": "0d1f2b3c-4d5e-4c55-9a3e-5c3c1b8e6f1d", "resourceVersion": "912",
            "generation": 3, "creationTimestamp": "2026-12-07T07:50:01Z",
            "labels": {"app.kubernetes.io/name": "mosaic-webhook", "app.kubernetes.io/part-of": "mosaic"},
            "managedFields": managed},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app.kubernetes.io/component": "builder"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/component": "builder"}},
                "spec": {"containers": [{"name": "webhook", "image": "mosaic-webhook:0.1.0"}]}}}
    }))
    .expect("a Deployment as the API server returns it")
}

#[test]
fn replicas_install_applied_are_handed_over_and_the_hpas_are_left_alone() {
    assert!(applies_replicas(&deployment(true), "kubectl-mosaic"));
    assert!(!applies_replicas(&deployment(false), "kubectl-mosaic"));
    assert!(!applies_replicas(
        &deployment(true),
        "mosaic-autoscale-handover"
    ));
}

#[test]
fn only_an_hpa_mosaic_installed_is_turned_off() {
    let d = deployment(true);
    assert!(is_ours(&d.metadata));
    let mut other = d.metadata.clone();
    other.labels = Some([("app".to_string(), "builders".to_string())].into());
    assert!(!is_ours(&other));
}
