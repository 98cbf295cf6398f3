//! Finding the installed webhook: in the namespace `-n` names, else by its label in any
//! namespace (install may have used any), else in mosaic-system when listing across
//! namespaces is not allowed. Read by `version` and `status`.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ListParams};

use mosaic_core::install_settings;
use mosaic_core::names::{INTAKE_NAME, SYSTEM_NAMESPACE};

use crate::error::Error;

/// The label selector that finds the intake Deployment wherever it was installed.
pub fn selector() -> String {
    mosaic_core::install::selector_labels()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The intake Deployment (which carries the install settings and the webhook version): in
/// `namespace` when given, else the first found by label (the
/// oldest, when several are installed), else `mosaic-system`.
pub async fn webhook(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<Option<Deployment>, Error> {
    if let Some(ns) = namespace {
        let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
        return Ok(api.get_opt(INTAKE_NAME).await?);
    }
    let all: Api<Deployment> = Api::all(client.clone());
    match all.list(&ListParams::default().labels(&selector())).await {
        Ok(list) => {
            let mut found: Vec<Deployment> = list
                .items
                .into_iter()
                .filter(|d| d.metadata.name.as_deref() == Some(INTAKE_NAME))
                .collect();
            found.sort_by_key(|d| d.metadata.creation_timestamp.as_ref().map(|t| t.0));
            Ok(found.into_iter().next())
        }
        Err(kube::Error::Api(e)) if e.code == 403 => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), SYSTEM_NAMESPACE);
            Ok(api.get_opt(INTAKE_NAME).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The registries the installed webhooks reach over plain HTTP (their remembered settings,
/// every install this user can see); none when they cannot be listed.
pub async fn plain_http_registries(client: &kube::Client) -> Vec<String> {
    let all: Api<Deployment> = Api::all(client.clone());
    let Ok(list) = all.list(&ListParams::default().labels(&selector())).await else {
        return Vec::new();
    };
    let mut out: Vec<String> = list
        .items
        .iter()
        .filter_map(install_settings::remembered)
        .flat_map(|s| s.insecure_registries)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selector_matches_the_installed_deployment() {
        let d = mosaic_core::install::intake_deployment();
        let labels = d.metadata.labels.unwrap();
        for term in selector().split(',') {
            let (k, v) = term.split_once('=').unwrap();
            assert_eq!(labels.get(k).map(String::as_str), Some(v), "{term}");
        }
    }
}
