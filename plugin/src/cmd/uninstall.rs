//! `kubectl mosaic uninstall`: deletes what `install` created, newest first. The
//! CRDs stay (deleting them would delete every Binding and Build), and so does
//! the namespace while Bindings live in it, unless `--all`. The Roles `install --namespaces`
//! made in other namespaces go too.

use clap::Args;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams};

use mosaic_core::{Binding, names};

use crate::bundle::Item;
use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;

#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// Also delete the CRDs, and with them every Binding and Build in the cluster.
    #[arg(long)]
    pub all: bool,
}

/// What uninstall deletes, in deletion order, given whether Bindings live in
/// the install namespace. Pure, so the keep-the-user's-data rule is tested.
pub fn plan(items: Vec<Item>, all: bool, bindings_in_namespace: bool) -> Vec<Item> {
    items
        .into_iter()
        .rev()
        .filter(|i| match i.kind.resource.kind.as_str() {
            "CustomResourceDefinition" => all,
            "Namespace" => all || !bindings_in_namespace,
            _ => true,
        })
        .collect()
}

async fn delete(api: &Api<kube::api::DynamicObject>, item: &Item) -> Result<(), Error> {
    match api.delete(item.name(), &DeleteParams::background()).await {
        Ok(_) => println!("{} deleted", item.display()),
        Err(kube::Error::Api(e)) if e.code == 404 => eprintln!("{} already absent", item.display()),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub async fn run(kube: &KubeArgs, args: UninstallArgs) -> Result<Outcome, Error> {
    let namespace = super::install::install_namespace(kube);
    let mut items = crate::bundle::objects(&namespace).map_err(|e| Error::Other(e.to_string()))?;
    let cluster = kubeconf::connect(kube).await?;
    let client = cluster.client;
    // The Roles `install --namespaces` made in other namespaces, remembered on the intake.
    if let Some((_, Some(s))) = super::install_show::installed(&client, &namespace).await? {
        crate::bundle_settings::set_settings(&mut items, &s, &s.egress(), &namespace)
            .map_err(|e| Error::Other(e.to_string()))?;
    }

    let bindings: Api<Binding> = Api::namespaced(client.clone(), &namespace);
    let bindings_here = match bindings.list(&ListParams::default().limit(1)).await {
        Ok(l) => !l.items.is_empty(),
        // No CRDs (never installed, or already removed): no Bindings either.
        Err(kube::Error::Api(e)) if e.code == 404 => false,
        Err(e) => return Err(e.into()),
    };
    if args.all {
        crate::output::warn(
            "--all: deleting the CRDs deletes every Binding and Build in the cluster",
        );
    } else if bindings_here {
        eprintln!(
            "keeping namespace {namespace}: Bindings live in it (use --all to delete them too)"
        );
    }

    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    for name in [
        names::WEBHOOK_SECRET_NAME,
        names::GITHUB_SECRET_NAME,
        names::REGISTRY_SECRET_NAME,
    ] {
        match secrets.delete(name, &DeleteParams::default()).await {
            Ok(_) => println!("secret/{name} deleted"),
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    for item in plan(items, args.all, bindings_here) {
        let api = match (&item.kind.namespaced, &item.object.metadata.namespace) {
            (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &item.kind.resource),
            _ => Api::all_with(client.clone(), &item.kind.resource),
        };
        delete(&api, &item).await?;
    }
    if !args.all {
        eprintln!("kept the Mosaic CRDs and every Binding (use --all to remove them)");
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(items: &[Item]) -> Vec<String> {
        items.iter().map(|i| i.kind.resource.kind.clone()).collect()
    }

    #[test]
    fn keeps_crds_and_a_namespace_holding_bindings_unless_all() {
        let all = crate::bundle::objects("mosaic-system").unwrap();
        let n = all.len();
        let default = plan(all.clone(), false, false);
        assert!(!kinds(&default).contains(&"CustomResourceDefinition".to_string()));
        assert_eq!(
            kinds(&default).last().map(String::as_str),
            Some("Namespace"),
            "namespace goes last"
        );
        let with_bindings = plan(all.clone(), false, true);
        assert!(!kinds(&with_bindings).contains(&"Namespace".to_string()));
        let everything = plan(all, true, true);
        assert_eq!(everything.len(), n);
        assert_eq!(
            kinds(&everything)[0],
            "NetworkPolicy",
            "reverse apply order"
        );
    }
}
