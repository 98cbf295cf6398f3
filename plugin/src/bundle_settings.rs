//! The install settings written onto the bundle: each Deployment gets its images, flags and
//! replicas ([`install_settings::apply`]); the builders' NetworkPolicy its egress; and with
//! `--namespaces` the ClusterRoles lose their Secret grant, which Roles in those namespaces
//! (and the install namespace's default credentials) replace; with `--builder-autoscale` the
//! builders' HorizontalPodAutoscaler joins the bundle. No IO here.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::DynamicObject;
use mosaic_core::install_settings::{self, Settings};
use mosaic_core::netpol::Egress;
use mosaic_core::rbac::{self, Part};

use crate::bundle::{BundleError, Item, kind_of};

fn dynamic(object: &impl serde::Serialize) -> Result<DynamicObject, BundleError> {
    let value = serde_json::to_value(object).map_err(BundleError::Shape)?;
    serde_json::from_value(value).map_err(BundleError::Shape)
}

fn item(
    object: &impl serde::Serialize,
    api_version: &str,
    kind: &str,
) -> Result<Item, BundleError> {
    let mut object = dynamic(object)?;
    object.types = Some(kube::api::TypeMeta {
        api_version: api_version.into(),
        kind: kind.into(),
    });
    let kind = kind_of(api_version, kind).expect("a kind the bundle knows");
    Ok(Item { object, kind })
}

/// Write `settings` onto the bundle for `namespace`; the builders' egress is `egress` (the
/// settings' own, or with the API server's addresses install found).
pub fn set_settings(
    items: &mut Vec<Item>,
    settings: &Settings,
    egress: &Egress,
    namespace: &str,
) -> Result<(), BundleError> {
    let scope = settings.secret_scope();
    for item in items.iter_mut() {
        let name = item.name().to_string();
        match item.kind.resource.kind.as_str() {
            "Deployment" => {
                let value = serde_json::to_value(&item.object).map_err(BundleError::Shape)?;
                let mut d: Deployment =
                    serde_json::from_value(value).map_err(BundleError::Shape)?;
                install_settings::apply(settings, &mut d);
                item.object = dynamic(&d)?;
            }
            "NetworkPolicy" if name == Part::Builder.name() => {
                let mut p = mosaic_core::install::builder_network_policy(egress);
                p.metadata.namespace = Some(namespace.into());
                let types = item.object.types.clone();
                item.object = dynamic(&p)?;
                item.object.types = types;
            }
            "ClusterRole" => {
                if let Some(part) = Part::ALL.into_iter().find(|p| p.name() == name) {
                    let types = item.object.types.clone();
                    item.object = dynamic(&rbac::cluster_role(part, &scope))?;
                    item.object.types = types;
                }
            }
            _ => {}
        }
    }
    if let Some(a) = settings.builder_autoscale {
        let mut hpa = mosaic_core::autoscale::builder_hpa(a);
        hpa.metadata.namespace = Some(namespace.into());
        items.push(item(&hpa, "autoscaling/v2", "HorizontalPodAutoscaler")?);
    }
    const RBAC: &str = "rbac.authorization.k8s.io/v1";
    for (role, binding) in rbac::secret_roles(namespace, &settings.namespaces)
        .into_iter()
        .filter(|_| !settings.namespaces.is_empty())
    {
        items.push(item(&role, RBAC, "Role")?);
        items.push(item(&binding, RBAC, "RoleBinding")?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::objects;

    fn find<'a>(items: &'a [Item], display: &str) -> &'a Item {
        items
            .iter()
            .find(|i| i.display() == display)
            .unwrap_or_else(|| panic!("no {display}"))
    }

    #[test]
    fn settings_reach_the_deployments_and_nothing_else() {
        let plain = objects("ops").unwrap();
        let mut items = plain.clone();
        let settings = Settings {
            image: Some("registry.local/mosaic-webhook:dev".into()),
            engine_image: Some("registry.local/docker:28-dind".into()),
            github_api_url: Some("https://ghe.example/api/v3".into()),
            insecure_registries: vec!["registry.kube-system.svc:5000".into()],
            builders: Some(4),
            ..Default::default()
        };
        set_settings(&mut items, &settings, &settings.egress(), "ops").unwrap();
        let d = find(&items, "deployment/mosaic-builder");
        assert_eq!(d.object.data["spec"]["replicas"], 4);
        let containers = &d.object.data["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["name"], "webhook");
        assert_eq!(containers[0]["image"], "registry.local/mosaic-webhook:dev");
        assert_eq!(containers[1]["image"], "registry.local/docker:28-dind");
        let web_args = containers[0]["args"].to_string();
        assert!(
            web_args.contains("--github-api-url=https://ghe.example/api/v3")
                && web_args.contains("--insecure-registry=registry.kube-system.svc:5000"),
            "{web_args}"
        );
        assert!(
            containers[1]["args"]
                .to_string()
                .contains("--insecure-registry=registry.kube-system.svc:5000")
        );
        assert_eq!(d.object.metadata.namespace.as_deref(), Some("ops"));
        let i = find(&items, "deployment/mosaic-intake");
        assert_eq!(
            i.object.data["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.local/mosaic-webhook:dev"
        );
        // Every object but the Deployments is as generated (no egress or namespaces given).
        assert_eq!(items.len(), plain.len());
        for (a, b) in items.iter().zip(&plain) {
            if a.kind.resource.kind != "Deployment" {
                assert_eq!(
                    serde_json::to_value(&a.object).unwrap(),
                    serde_json::to_value(&b.object).unwrap(),
                    "{}",
                    a.display()
                );
            }
        }
    }

    #[test]
    fn namespaces_move_the_secret_grants_into_roles() {
        let mut items = objects("ops").unwrap();
        let settings = Settings {
            namespaces: vec!["shop".into()],
            ..Default::default()
        };
        set_settings(&mut items, &settings, &settings.egress(), "ops").unwrap();
        for role in ["clusterrole/mosaic-intake", "clusterrole/mosaic-builder"] {
            let r = find(&items, role);
            assert!(
                !r.object.data["rules"].to_string().contains("secrets"),
                "{role}"
            );
            assert_eq!(
                r.object.types.as_ref().unwrap().kind,
                "ClusterRole",
                "{role}"
            );
        }
        let placed: Vec<String> = items
            .iter()
            .filter(|i| i.kind.resource.kind.starts_with("Role"))
            .map(|i| {
                format!(
                    "{} {}",
                    i.object.metadata.namespace.as_deref().unwrap(),
                    i.display()
                )
            })
            .collect();
        assert_eq!(
            placed,
            [
                "shop role/mosaic-intake-secrets",
                "shop rolebinding/mosaic-intake-secrets",
                "shop role/mosaic-builder-secrets",
                "shop rolebinding/mosaic-builder-secrets",
                "ops role/mosaic-builder-secrets",
                "ops rolebinding/mosaic-builder-secrets",
            ]
        );
        let b = find(&items, "rolebinding/mosaic-intake-secrets");
        assert_eq!(b.object.data["subjects"][0]["namespace"], "ops");
    }

    #[test]
    fn autoscaling_adds_the_hpa_and_leaves_the_builder_replicas_to_it() {
        let mut items = objects("ops").unwrap();
        let settings = Settings {
            builder_autoscale: Some("2:7".parse().unwrap()),
            ..Default::default()
        };
        set_settings(&mut items, &settings, &settings.egress(), "ops").unwrap();
        let d = find(&items, "deployment/mosaic-builder");
        assert!(
            d.object.data["spec"].get("replicas").is_none(),
            "{}",
            d.object.data["spec"]
        );
        let i = find(&items, "deployment/mosaic-intake");
        assert_eq!(i.object.data["spec"]["replicas"], 2);
        let hpa = find(&items, "horizontalpodautoscaler/mosaic-builder");
        assert_eq!(hpa.object.metadata.namespace.as_deref(), Some("ops"));
        let types = hpa.object.types.as_ref().unwrap();
        assert_eq!(
            (types.api_version.as_str(), types.kind.as_str()),
            ("autoscaling/v2", "HorizontalPodAutoscaler")
        );
        assert_eq!(hpa.kind.resource.plural, "horizontalpodautoscalers");
        let spec = &hpa.object.data["spec"];
        assert_eq!(
            (&spec["minReplicas"], &spec["maxReplicas"]),
            (&2.into(), &7.into())
        );
        assert_eq!(spec["scaleTargetRef"]["name"], "mosaic-builder");
        assert_eq!(
            spec["metrics"][0]["external"]["metric"]["name"],
            "mosaic_builds_unfinished"
        );
        // Off (the default): no HPA, the replicas as generated.
        let mut plain = objects("ops").unwrap();
        set_settings(&mut plain, &Settings::default(), &Default::default(), "ops").unwrap();
        assert!(
            !plain
                .iter()
                .any(|i| i.kind.resource.kind == "HorizontalPodAutoscaler")
        );
        assert_eq!(
            find(&plain, "deployment/mosaic-builder").object.data["spec"]["replicas"],
            2
        );
    }

    #[test]
    fn egress_reaches_the_builders_policy() {
        let mut items = objects("ops").unwrap();
        let egress = Egress {
            api_server: vec!["172.18.0.2/32".into()],
            ..Default::default()
        };
        set_settings(&mut items, &Settings::default(), &egress, "ops").unwrap();
        let p = find(&items, "networkpolicy/mosaic-builder");
        assert_eq!(
            p.object.data["spec"]["egress"][1]["to"][0]["ipBlock"]["cidr"],
            "172.18.0.2/32"
        );
        assert_eq!(p.object.metadata.namespace.as_deref(), Some("ops"));
        assert_eq!(p.object.types.as_ref().unwrap().kind, "NetworkPolicy");
    }
}
