//! What `bind` checks about who else writes the container: another Binding of the same
//! container is refused (one owner per container), and a field manager that owns the image
//! (Argo CD, Flux, Helm, `kubectl`) is named in a warning, because the webhook's rollouts fail
//! until the Binding takes the image over (`spec.takeOwnership`) or that tool lets go.

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use mosaic_core::names::FIELD_MANAGER_WEBHOOK;
use mosaic_core::{Binding, bound_container};

use crate::error::Error;

/// Refuse `name` when another Binding in `existing` already writes `container` of `deployment`.
pub fn one_owner(
    name: &str,
    deployment: &str,
    container: Option<&str>,
    containers: &[String],
    existing: &[Binding],
) -> Result<(), Error> {
    let mine = bound_container::written(container, containers);
    let taken = existing.iter().find(|b| {
        b.name_any() != name
            && b.spec.deployment == deployment
            && bound_container::written(b.spec.container.as_deref(), containers) == mine
    });
    match taken {
        Some(b) => Err(Error::Input(format!(
            "container {} of deployment {deployment} is already bound by Binding {} (one owner per container): \
             unbind it first with `kubectl mosaic unbind deployment/{deployment}`, or bind another container",
            mine.unwrap_or_default(),
            b.name_any()
        ))),
        None => Ok(()),
    }
}

/// The field managers other than the webhook that own `container`'s image in `d`.
pub fn image_managers(d: &Deployment, container: &str) -> Vec<String> {
    let key = format!("k:{{\"name\":\"{container}\"}}");
    d.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.subresource.as_deref().unwrap_or_default().is_empty())
        .filter(|m| {
            m.fields_v1.as_ref().is_some_and(|f| {
                !f.0["f:spec"]["f:template"]["f:spec"]["f:containers"][&key]["f:image"].is_null()
            })
        })
        .filter_map(|m| m.manager.clone())
        .filter(|m| m != FIELD_MANAGER_WEBHOOK)
        .collect()
}

/// The warning `bind` prints when other managers own the image.
pub fn ownership_warning(deployment: &str, container: &str, managers: &[String]) -> Option<String> {
    if managers.is_empty() {
        return None;
    }
    let who = managers
        .iter()
        .map(|m| format!("{m:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "warning: the image of container {container} in deployment {deployment} is managed by {who}; \
         Mosaic's rollouts will fail (ImageManagedElsewhere) until you set spec.takeOwnership: true on the \
         Binding, or stop {who} from managing the image"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_binding_of_the_container_is_refused_and_other_managers_are_named() {
        let b = crate::testing::binding("team", "web", "a/b", "r.io/a");
        let one = ["app".to_string()];
        assert!(one_owner("web", "web", None, &one, std::slice::from_ref(&b)).is_ok());
        let e = one_owner("web-2", "web", Some("app"), &one, std::slice::from_ref(&b));
        assert!(matches!(e, Err(Error::Input(m)) if m.contains("Binding web")));
        let two = ["app".to_string(), "sidecar".to_string()];
        assert!(one_owner("side", "web", Some("sidecar"), &two, &[]).is_ok());

        // managedFields as the API server writes them after `kubectl apply` and an Argo CD sync.
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "managedFields": [
                {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "argocd-controller", "operation": "Apply", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}},
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                 "subresource": "status", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}}
            ]},
            "spec": {"selector": {}, "template": {}}
        }))
        .unwrap();
        assert_eq!(image_managers(&d, "app"), ["argocd-controller"]);
        assert!(image_managers(&d, "sidecar").is_empty());
        let w = ownership_warning("web", "app", &image_managers(&d, "app")).unwrap();
        assert!(
            w.contains("\"argocd-controller\"") && w.contains("takeOwnership"),
            "{w}"
        );
        assert!(ownership_warning("web", "app", &[]).is_none());
    }
}
