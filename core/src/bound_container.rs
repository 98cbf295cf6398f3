//! Which container of a Deployment a Binding writes, and the name `bind` gives a Binding: the
//! Binding's `spec.container` when set, else the pod's only container; the Binding of one
//! container among several is named `DEPLOYMENT-CONTAINER`. `bind`, `bind --auto` and the
//! webhook's rollout all decide it here, so what `bind` checks is what the rollout writes.

use k8s_openapi::api::apps::v1::Deployment;

/// The names of the containers in a Deployment's pod template, in order.
pub fn container_names(d: &Deployment) -> Vec<String> {
    d.spec
        .template
        .spec
        .as_ref()
        .map(|p| p.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

/// The container a Binding naming `named` writes among `containers`: `named` itself (whether
/// the pod has it is for the caller to say), else the only container; `None` when the pod has
/// several (or none) and the Binding names none.
pub fn written(named: Option<&str>, containers: &[String]) -> Option<String> {
    match (named, containers) {
        (Some(c), _) => Some(c.to_string()),
        (None, [only]) => Some(only.clone()),
        (None, _) => None,
    }
}

/// The name of the Binding of `container` in a Deployment whose pod has `containers`
/// containers: the Deployment's name, or `DEPLOYMENT-CONTAINER` when there are several.
pub fn binding_name(deployment: &str, container: &str, containers: usize) -> String {
    if containers > 1 {
        format!("{deployment}-{container}")
    } else {
        deployment.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_container_else_the_only_one() {
        // A Deployment as the API server returns it: one container.
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "team"},
            "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "app", "image": "r.io/a:1"}]}}}
        }))
        .unwrap();
        let one = container_names(&d);
        assert_eq!(one, ["app"]);
        assert_eq!(written(None, &one).as_deref(), Some("app"));
        assert_eq!(written(Some("x"), &one).as_deref(), Some("x"));
        let two = ["app".to_string(), "proxy".to_string()];
        assert_eq!(written(None, &two), None);
        assert_eq!(written(None, &[]), None);
        assert_eq!(
            container_names(&Deployment::default()),
            Vec::<String>::new()
        );
        assert_eq!(binding_name("api", "app", 1), "api");
        assert_eq!(binding_name("api", "proxy", 2), "api-proxy");
    }
}
