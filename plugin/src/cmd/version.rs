//! `kubectl mosaic version`: the plugin's version at once, then the in-cluster
//! webhook's when it is installed, with a warning when the two drift apart.

use clap::Args;
use k8s_openapi::api::apps::v1::Deployment;
use mosaic_core::names::WEBHOOK_NAME;
use serde::Serialize;

use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;
use crate::output::{self, ObjectFormat};

/// The plugin's version, `vX.Y.Z`.
pub const PLUGIN_VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Print the plugin version only; do not contact the cluster.
    #[arg(long)]
    pub client: bool,
    /// Output format: json or yaml.
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ObjectFormat>,
}

#[derive(Serialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
struct Versions {
    plugin_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_version: Option<String>,
}

/// The webhook version a Deployment advertises: its `app.kubernetes.io/version` label, else its image tag.
pub fn webhook_version(d: &Deployment) -> Option<String> {
    if let Some(v) = d
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("app.kubernetes.io/version"))
    {
        return Some(v.clone());
    }
    let containers = &d.spec.template.spec.as_ref()?.containers;
    let c = containers
        .iter()
        .find(|c| c.name == WEBHOOK_NAME)
        .or(containers.first())?;
    let r = mosaic_core::reference::ImageRef::parse(c.image.as_deref()?).ok()?;
    r.tag
}

/// A warning when plugin and webhook differ in major or minor version.
pub fn skew_warning(plugin: &str, webhook: &str) -> Option<String> {
    let mm = |v: &str| {
        let v = v.trim_start_matches('v');
        let mut it = v.split(['.', '-', '+']);
        Some((
            it.next()?.parse::<u64>().ok()?,
            it.next()?.parse::<u64>().ok()?,
        ))
    };
    match (mm(plugin), mm(webhook)) {
        (Some(a), Some(b)) if a == b => None,
        (Some(_), Some(_)) => Some(format!(
            "version skew: plugin {plugin}, webhook {webhook}; upgrade the older one (`kubectl krew upgrade mosaic` or reinstall the webhook)"
        )),
        _ => None,
    }
}

fn print_versions(v: &Versions, format: Option<ObjectFormat>) -> Result<(), Error> {
    match format {
        Some(f) => print!("{}", output::render_value(v, f.into())?),
        None => {
            println!("Plugin Version: {}", v.plugin_version);
            if let Some(w) = &v.webhook_version {
                println!("Webhook Version: {w}");
            }
        }
    }
    Ok(())
}

pub async fn run(kube: &KubeArgs, args: VersionArgs) -> Result<Outcome, Error> {
    let mut v = Versions {
        plugin_version: PLUGIN_VERSION.into(),
        webhook_version: None,
    };
    if args.client || !kubeconf::has_config(kube) {
        print_versions(&v, args.output)?;
        return Ok(Outcome::Success);
    }
    if args.output.is_none() {
        // The plugin version needs no cluster: show it before any network wait.
        println!("Plugin Version: {PLUGIN_VERSION}");
    }
    let mut kube = kube.clone();
    if kube.request_timeout.is_none() {
        kube.request_timeout = Some("5s".into());
    }
    let cluster = kubeconf::connect(&kube).await?;
    // `-n` names the install namespace; without it the webhook is found by its label.
    let found = crate::locate::webhook(&cluster.client, kube.namespace.as_deref()).await?;
    v.webhook_version = Some(match &found {
        Some(d) => webhook_version(d).unwrap_or_else(|| "<unknown>".into()),
        None => "<not installed>".into(),
    });
    match args.output {
        None => println!(
            "Webhook Version: {}",
            v.webhook_version.as_deref().unwrap_or_default()
        ),
        f => print_versions(&v, f)?,
    }
    if let Some(w) = found.as_ref().and_then(webhook_version)
        && let Some(msg) = skew_warning(PLUGIN_VERSION, &w)
    {
        output::warn(&msg);
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew() {
        assert_eq!(skew_warning("v0.1.0", "v0.1.7"), None);
        assert_eq!(skew_warning("v0.1.0", "0.1.0"), None);
        assert!(
            skew_warning("v0.1.0", "v0.2.0")
                .unwrap()
                .contains("plugin v0.1.0, webhook v0.2.0")
        );
        assert_eq!(skew_warning("v0.1.0", "latest"), None);
    }

    #[test]
    fn webhook_version_from_label_or_tag() {
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "mosaic-webhook"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [
                {"name": "mosaic-webhook", "image": "ghcr.io/nectar-dev/mosaic-webhook:v0.3.1"}]}}}
        }))
        .unwrap();
        assert_eq!(webhook_version(&d).as_deref(), Some("v0.3.1"));
        let mut d2 = d.clone();
        d2.metadata.labels = Some(
            [(
                "app.kubernetes.io/version".to_string(),
                "v0.4.0".to_string(),
            )]
            .into(),
        );
        assert_eq!(webhook_version(&d2).as_deref(), Some("v0.4.0"));
    }
}
