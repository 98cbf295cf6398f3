//! Subcommand implementations and the helpers they share
//! (`deployment/NAME` targets, finding a Deployment's Binding).

pub mod bind;
pub mod completion;
pub mod deploy;
pub mod explain;
pub mod hook;
pub mod hook_ns;
pub mod install;
pub mod install_apply;
pub mod install_autoscale;
pub mod install_egress;
pub mod install_show;
pub mod list;
pub mod logs;
pub mod rollback;
pub mod status;
pub mod status_commit;
pub mod unbind;
pub mod uninstall;
pub mod version;

use kube::Api;
use kube::api::ListParams;
use mosaic_core::Binding;

use crate::error::Error;

/// The `deployment/NAME [-c C] -n NS` a Binding's command lines name (rollback, deploy, unbind;
/// the UI shows them next to its buttons).
pub fn target(b: &Binding) -> String {
    let c = b
        .spec
        .container
        .as_deref()
        .map(|c| format!(" -c {c}"))
        .unwrap_or_default();
    format!(
        "deployment/{}{c} -n {}",
        b.spec.deployment,
        kube::ResourceExt::namespace(b).unwrap_or_default()
    )
}

/// Parse `deployment/NAME` (also `deploy/`, `deployments/`, `deployment.apps/`, or a bare NAME).
pub fn parse_deployment_target(s: &str) -> Result<String, Error> {
    let name = match s.split_once('/') {
        Some((kind, name)) => {
            if !matches!(
                kind.to_ascii_lowercase().as_str(),
                "deployment" | "deployments" | "deploy" | "deployment.apps" | "deployments.apps"
            ) {
                return Err(Error::Usage(format!(
                    "{s:?} is not a Deployment: Mosaic binds Deployments, write deployment/NAME"
                )));
            }
            name
        }
        None => s,
    };
    if !is_dns_subdomain(name) {
        return Err(Error::Usage(format!(
            "{name:?} is not a valid Deployment name: use lowercase letters, digits, '-' and '.'"
        )));
    }
    Ok(name.to_string())
}

/// Parse `build/NAME` (also `builds/`, `builds.mosaic.nectar.dev/`, or a bare NAME).
pub fn parse_build_target(s: &str) -> Result<String, Error> {
    let name = match s.split_once('/') {
        Some((kind, name)) => {
            let k = kind.to_ascii_lowercase();
            if !(k == "build"
                || k == "builds"
                || k == "mbuild"
                || k.starts_with("builds.")
                || k.starts_with("build."))
            {
                return Err(Error::Usage(format!(
                    "{s:?} is not a Build: write build/NAME"
                )));
            }
            name
        }
        None => s,
    };
    if !is_dns_subdomain(name) {
        return Err(Error::Usage(format!("{name:?} is not a valid Build name")));
    }
    Ok(name.to_string())
}

/// RFC 1123 subdomain, as Kubernetes object names must be.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The Bindings of a Deployment in a namespace, optionally narrowed to one container.
pub async fn bindings_for(
    api: &Api<Binding>,
    deployment: &str,
    container: Option<&str>,
) -> Result<Vec<Binding>, Error> {
    let all = api.list(&ListParams::default()).await?;
    Ok(all
        .items
        .into_iter()
        .filter(|b| b.spec.deployment == deployment)
        .filter(|b| container.is_none() || b.spec.container.as_deref() == container)
        .collect())
}

/// Exactly one Binding of a Deployment, or a clear error naming what to do.
pub async fn one_binding_for(
    api: &Api<Binding>,
    namespace: &str,
    deployment: &str,
    container: Option<&str>,
) -> Result<Binding, Error> {
    let mut found = bindings_for(api, deployment, container).await?;
    match found.len() {
        0 => Err(Error::NotFound(format!(
            "deployment/{deployment} in namespace {namespace:?} is not bound: bind it with `kubectl mosaic bind deployment/{deployment} --repo OWNER/NAME --image REGISTRY/REPO`"
        ))),
        1 => Ok(found.remove(0)),
        _ => {
            let containers: Vec<String> = found
                .iter()
                .map(|b| {
                    b.spec
                        .container
                        .clone()
                        .unwrap_or_else(|| "<default>".into())
                })
                .collect();
            Err(Error::Usage(format!(
                "deployment/{deployment} has {} bindings (containers {}): choose one with --container",
                found.len(),
                containers.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_targets() {
        assert_eq!(parse_deployment_target("deployment/api").unwrap(), "api");
        assert_eq!(parse_deployment_target("deploy/api").unwrap(), "api");
        assert_eq!(
            parse_deployment_target("deployments.apps/api").unwrap(),
            "api"
        );
        assert_eq!(parse_deployment_target("api").unwrap(), "api");
        let e = parse_deployment_target("statefulset/db").unwrap_err();
        assert!(e.to_string().contains("not a Deployment"), "{e}");
        assert_eq!(e.exit_code(), 2);
        assert!(parse_deployment_target("deployment/Bad_Name").is_err());
        assert!(parse_deployment_target("deployment/").is_err());
    }

    #[test]
    fn build_targets() {
        assert_eq!(parse_build_target("build/api-0123").unwrap(), "api-0123");
        assert_eq!(
            parse_build_target("builds.mosaic.nectar.dev/x").unwrap(),
            "x"
        );
        assert!(parse_build_target("pod/x").is_err());
    }
}
