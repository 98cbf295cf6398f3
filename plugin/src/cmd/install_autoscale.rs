//! The builders' replicas when `install` turns autoscaling on or off. The HPA itself is one
//! more bundle object (`bundle_settings`); what needs care is who owns the builder
//! Deployment's `spec.replicas`, since install's server-side apply must not fight the HPA:
//! - on: install stops applying `replicas`. Were it their only owner, the API server would
//!   drop them and default them to 1, so another field manager first takes them over at their
//!   current value (as the Kubernetes documentation hands fields to an HPA); the HPA's own
//!   writes take them from there.
//! - off: install's HPA is deleted first, then the Deployment is scaled to `--builders` (or the
//!   default) through its scale subresource, which takes the replicas from whoever held them,
//!   so the apply that follows sets the same value and meets no conflict.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use mosaic_core::install_settings::Settings;
use mosaic_core::names;

use crate::error::Error;

/// Make the builder Deployment's replicas ready for `settings` before install applies.
pub async fn prepare(client: &Client, namespace: &str, settings: &Settings) -> Result<(), Error> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    if settings.builder_autoscale.is_some() {
        return hand_over(&deployments).await;
    }
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), namespace);
    let ours = match hpas.get_opt(names::BUILDER_NAME).await {
        Ok(hpa) => hpa.is_some_and(|h| is_ours(&h.metadata)),
        // Whoever may not read HPAs here made none: nothing to turn off.
        Err(kube::Error::Api(e)) if e.code == 403 || e.code == 404 => false,
        Err(e) => return Err(e.into()),
    };
    if !ours {
        return Ok(());
    }
    match hpas
        .delete(names::BUILDER_NAME, &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    eprintln!(
        "horizontalpodautoscaler/{} deleted (--builder-autoscale is off)",
        names::BUILDER_NAME
    );
    let replicas = settings
        .builders
        .unwrap_or(mosaic_core::install::BUILDER_REPLICAS);
    let scale = json!({"spec": {"replicas": replicas}});
    let pp = PatchParams {
        field_manager: Some(names::FIELD_MANAGER_PLUGIN.into()),
        ..Default::default()
    };
    match deployments
        .patch_scale(names::BUILDER_NAME, &pp, &Patch::Merge(&scale))
        .await
    {
        Ok(_) => eprintln!("deployment/{} scaled to {replicas}", names::BUILDER_NAME),
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Autoscaling on: if install's apply owns the replicas, give them a second owner at their
/// current value, so the apply without them keeps them.
async fn hand_over(deployments: &Api<Deployment>) -> Result<(), Error> {
    let Some(d) = deployments.get_opt(names::BUILDER_NAME).await? else {
        return Ok(());
    };
    if !applies_replicas(&d, names::FIELD_MANAGER_PLUGIN) {
        return Ok(());
    }
    let replicas = d.spec.replicas.unwrap_or(1);
    let partial = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": names::BUILDER_NAME},
        "spec": {"replicas": replicas}
    });
    deployments
        .patch(
            names::BUILDER_NAME,
            &PatchParams::apply(names::FIELD_MANAGER_AUTOSCALE_HANDOVER),
            &Patch::Apply(&partial),
        )
        .await?;
    eprintln!(
        "deployment/{} replicas ({replicas}) handed over to the HPA",
        names::BUILDER_NAME
    );
    Ok(())
}

/// Does `manager`'s server-side apply own `spec.replicas` of `d`?
pub fn applies_replicas(d: &Deployment, manager: &str) -> bool {
    d.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| {
            m.manager.as_deref() == Some(manager) && m.operation.as_deref() == Some("Apply")
        })
        .filter_map(|m| m.fields_v1.as_ref())
        .any(|f| {
            f.0.get("f:spec")
                .and_then(|s| s.get("f:replicas"))
                .is_some()
        })
}

/// Was this object installed by Mosaic (its part-of label)?
fn is_ours(meta: &kube::api::ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get("app.kubernetes.io/part-of"))
        .is_some_and(|v| v == "mosaic")
}

#[cfg(test)]
mod tests;
