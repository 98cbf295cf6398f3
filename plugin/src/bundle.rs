//! The install bundle: the generated `manifests/` files embedded in the binary
//! (byte-identical to the repository's, checked by a test), parsed into objects,
//! retargeted to the chosen namespace, and the pure decisions `install` and
//! `uninstall` make about them (API resource per kind, registry secret content,
//! webhook readiness). No IO here.

use kube::ResourceExt;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde::Deserialize;

use mosaic_core::names;

/// The files `kubectl apply -k manifests/` applies, in apply order, embedded at build time.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "manifests/namespace.yaml",
        include_str!("../../manifests/namespace.yaml"),
    ),
    (
        "manifests/crds.yaml",
        include_str!("../../manifests/crds.yaml"),
    ),
    (
        "manifests/rbac.yaml",
        include_str!("../../manifests/rbac.yaml"),
    ),
    (
        "manifests/webhook.yaml",
        include_str!("../../manifests/webhook.yaml"),
    ),
];

/// How a kind is addressed.
#[derive(Debug, Clone)]
pub struct Kind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// The API resource of every kind the bundle holds; `None` for anything else.
pub fn kind_of(api_version: &str, kind: &str) -> Option<Kind> {
    let (plural, namespaced) = match (api_version, kind) {
        ("v1", "Namespace") => ("namespaces", false),
        ("v1", "ServiceAccount") => ("serviceaccounts", true),
        ("v1", "Service") => ("services", true),
        ("v1", "Secret") => ("secrets", true),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
            ("customresourcedefinitions", false)
        }
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => ("clusterroles", false),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => ("clusterrolebindings", false),
        ("rbac.authorization.k8s.io/v1", "Role") => ("roles", true),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => ("rolebindings", true),
        ("apps/v1", "Deployment") => ("deployments", true),
        ("policy/v1", "PodDisruptionBudget") => ("poddisruptionbudgets", true),
        ("networking.k8s.io/v1", "NetworkPolicy") => ("networkpolicies", true),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => ("horizontalpodautoscalers", true),
        _ => return None,
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Some(Kind {
        resource: ApiResource::from_gvk_with_plural(&gvk, plural),
        namespaced,
    })
}

/// Why the embedded bundle could not be used (a build defect, reported plainly).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("embedded {file} is not valid YAML: {source}")]
    Yaml {
        file: &'static str,
        source: serde_yaml::Error,
    },
    #[error(
        "embedded {file} holds {kind} ({api_version}), which install does not know how to apply"
    )]
    UnknownKind {
        file: &'static str,
        api_version: String,
        kind: String,
    },
    #[error("the embedded webhook Deployment does not have the shape of a Deployment: {0}")]
    Shape(serde_json::Error),
}

/// One object to apply, with how to address it.
#[derive(Debug, Clone)]
pub struct Item {
    pub object: DynamicObject,
    pub kind: Kind,
}

impl Item {
    /// `kind/name`, the way kubectl names objects in messages.
    pub fn display(&self) -> String {
        format!(
            "{}/{}",
            self.kind.resource.kind.to_ascii_lowercase(),
            self.object.name_any()
        )
    }

    /// Name of the object.
    pub fn name(&self) -> &str {
        self.object.metadata.name.as_deref().unwrap_or_default()
    }
}

/// Parse the embedded files and retarget them to `namespace`: namespaced objects
/// move there, the Namespace object is renamed, and the ClusterRoleBinding's
/// ServiceAccount subject follows.
pub fn objects(namespace: &str) -> Result<Vec<Item>, BundleError> {
    let mut out = Vec::new();
    for (file, text) in EMBEDDED {
        for doc in serde_yaml::Deserializer::from_str(text) {
            let value = serde_yaml::Value::deserialize(doc)
                .map_err(|source| BundleError::Yaml { file, source })?;
            if value.is_null() {
                continue;
            }
            let mut object: DynamicObject = serde_yaml::from_value(value)
                .map_err(|source| BundleError::Yaml { file, source })?;
            let types = object.types.clone().unwrap_or_default();
            let kind = kind_of(&types.api_version, &types.kind).ok_or_else(|| {
                BundleError::UnknownKind {
                    file,
                    api_version: types.api_version.clone(),
                    kind: types.kind.clone(),
                }
            })?;
            retarget(&mut object, &kind, namespace);
            out.push(Item { object, kind });
        }
    }
    Ok(out)
}

fn retarget(object: &mut DynamicObject, kind: &Kind, namespace: &str) {
    if kind.namespaced {
        object.metadata.namespace = Some(namespace.to_string());
    }
    match kind.resource.kind.as_str() {
        "Namespace" => object.metadata.name = Some(namespace.to_string()),
        "ClusterRoleBinding" => {
            if let Some(subjects) = object
                .data
                .get_mut("subjects")
                .and_then(|s| s.as_array_mut())
            {
                for s in subjects {
                    if s.get("kind").and_then(|k| k.as_str()) == Some("ServiceAccount") {
                        s["namespace"] = serde_json::Value::String(namespace.to_string());
                    }
                }
            }
        }
        _ => {}
    }
}

/// Why a registry credentials file cannot become a pull/push Secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryFileError {
    #[error("is not a Docker config file ({0}): pass a file written by `docker login`")]
    NotJson(String),
    #[error(
        "has no credentials in `auths`{helper}: run `docker login` with a file credential store, or pass a file with `auths` entries"
    )]
    NoAuths { helper: String },
}

/// The `.dockerconfigjson` content to store: only the file's `auths` (never its
/// credential-helper settings or other local configuration).
pub fn registry_secret_data(file: &[u8]) -> Result<Vec<u8>, RegistryFileError> {
    let v: serde_json::Value =
        serde_json::from_slice(file).map_err(|e| RegistryFileError::NotJson(e.to_string()))?;
    let auths = v.get("auths").and_then(|a| a.as_object()).filter(|a| {
        a.values().any(|e| {
            e.get("auth").is_some()
                || e.get("password").is_some()
                || e.get("identitytoken").is_some()
        })
    });
    match auths {
        Some(a) => {
            Ok(serde_json::to_vec(&serde_json::json!({ "auths": a })).expect("JSON serialises"))
        }
        None => {
            let helper = v
                .get("credsStore")
                .and_then(|s| s.as_str())
                .map(|s| format!(" (its credentials are in the `{s}` credential helper)"))
                .unwrap_or_default();
            Err(RegistryFileError::NoAuths { helper })
        }
    }
}

/// A Deployment's rollout progress: `Ok(true)` when every replica is updated and
/// available, `Ok(false)` while progressing, with a line describing where it is.
pub fn webhook_progress(d: &k8s_openapi::api::apps::v1::Deployment) -> (bool, String) {
    let want = d.spec.replicas.unwrap_or(1);
    let st = d.status.clone().unwrap_or_default();
    let generation = d.metadata.generation.unwrap_or(0);
    let observed = st.observed_generation.unwrap_or(0);
    let updated = st.updated_replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    let ready = observed >= generation && updated >= want && available >= want;
    (
        ready,
        format!(
            "{available} of {want} {} replicas available ({updated} updated)",
            d.metadata.name.as_deref().unwrap_or("webhook")
        ),
    )
}

/// What `install` prints on stdout once the webhook is up: where GitHub must deliver and how.
pub fn next_steps(namespace: &str) -> String {
    format!(
        "Mosaic is installed in namespace {namespace}.\n\
         Webhook path: {path} (Service {svc}, port {port}, namespace {namespace})\n\
         \n\
         Expose that path over HTTPS (example: manifests/ingress.example.yaml), then connect a repository:\n\
         \x20 kubectl mosaic hook --repo OWNER/NAME --url https://YOUR-HOST{path}\n\
         or in GitHub: Settings > Webhooks > Add webhook, with\n\
         \x20 Payload URL:  https://YOUR-HOST{path}\n\
         \x20 Content type: application/json\n\
         \x20 Secret:       kubectl -n {namespace} get secret {secret} -o jsonpath='{{.data.{key}}}' | base64 -d\n\
         \x20 Events:       Just the push event\n",
        path = names::WEBHOOK_PATH,
        svc = names::WEBHOOK_NAME,
        port = mosaic_core::install::SERVICE_PORT,
        secret = names::WEBHOOK_SECRET_NAME,
        key = names::WEBHOOK_SECRET_KEY,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_are_the_generated_ones() {
        let generated = mosaic_core::manifests::generated_files();
        for (path, text) in EMBEDDED {
            let (_, want) = generated
                .iter()
                .find(|(p, _)| p == path)
                .expect("generated file");
            assert!(
                text == want,
                "{path}: embedded copy differs from the code; rebuild after `cargo xtask gen`"
            );
        }
        let listed: Vec<String> = mosaic_core::manifests::KUSTOMIZE_RESOURCES
            .iter()
            .map(|r| format!("manifests/{r}"))
            .collect();
        let embedded: Vec<&str> = EMBEDDED.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            embedded, listed,
            "install applies exactly what kustomization.yaml lists"
        );
    }

    #[test]
    fn objects_are_retargeted_to_the_namespace() {
        let items = objects("ops").unwrap();
        let ns = items
            .iter()
            .find(|i| i.kind.resource.kind == "Namespace")
            .unwrap();
        assert_eq!(ns.name(), "ops");
        for i in items.iter().filter(|i| i.kind.namespaced) {
            assert_eq!(
                i.object.metadata.namespace.as_deref(),
                Some("ops"),
                "{}",
                i.display()
            );
        }
        let crb = items
            .iter()
            .find(|i| i.kind.resource.kind == "ClusterRoleBinding")
            .unwrap();
        assert_eq!(crb.object.data["subjects"][0]["namespace"], "ops");
        assert!(
            items
                .iter()
                .any(|i| i.display() == "deployment/mosaic-intake")
        );
        assert_eq!(
            items
                .iter()
                .filter(|i| i.kind.resource.kind == "CustomResourceDefinition")
                .count(),
            2
        );
        // The default namespace leaves the objects exactly as generated.
        let d = objects(names::SYSTEM_NAMESPACE).unwrap();
        assert_eq!(
            d.iter()
                .find(|i| i.kind.resource.kind == "Namespace")
                .unwrap()
                .name(),
            names::SYSTEM_NAMESPACE
        );
    }

    #[test]
    fn registry_files_keep_only_auths() {
        let f =
            br#"{"auths":{"r.example":{"auth":"dTpw"}},"credsStore":"","HttpHeaders":{"X":"y"}}"#;
        let out: serde_json::Value =
            serde_json::from_slice(&registry_secret_data(f).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"auths":{"r.example":{"auth":"dTpw"}}})
        );
        let helper = registry_secret_data(br#"{"auths":{"r.example":{}},"credsStore":"desktop"}"#)
            .unwrap_err();
        assert!(
            helper.to_string().contains("`desktop` credential helper"),
            "{helper}"
        );
        assert!(matches!(
            registry_secret_data(b"nope"),
            Err(RegistryFileError::NotJson(_))
        ));
    }

    #[test]
    fn readiness_needs_every_replica_updated_and_available() {
        let mut d: k8s_openapi::api::apps::v1::Deployment =
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "w", "generation": 2},
                "spec": {"replicas": 2, "selector": {}, "template": {}},
                "status": {"observedGeneration": 2, "updatedReplicas": 2, "availableReplicas": 1}
            }))
            .unwrap();
        let (ready, line) = webhook_progress(&d);
        assert!(!ready);
        assert_eq!(line, "1 of 2 w replicas available (2 updated)");
        d.status.as_mut().unwrap().available_replicas = Some(2);
        assert!(webhook_progress(&d).0);
        d.metadata.generation = Some(3);
        assert!(
            !webhook_progress(&d).0,
            "a stale observedGeneration is not ready"
        );
    }
}
