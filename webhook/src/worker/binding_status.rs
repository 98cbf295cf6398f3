//! A finished run on its Binding's status (the patch is `pipeline::outcome::binding_patch`).
//! Written before the Build's terminal phase (see `controller::finish`); failing to write it is
//! logged, never fatal to the Build.

use kube::api::{Api, Patch, PatchParams};
use mosaic_core::resources::{Binding, Build};

use crate::pipeline::outcome::{Outcome, binding_patch};

/// Patch the Binding's status after `outcome`. Errors are logged.
pub async fn update_binding(client: &kube::Client, build: &Build, outcome: &Outcome) {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let bapi = Api::<Binding>::namespaced(client.clone(), &ns);
    let generation = bapi
        .get(&build.spec.binding)
        .await
        .ok()
        .and_then(|b| b.metadata.generation);
    let body = binding_patch(
        build,
        outcome,
        generation,
        &crate::cluster::claim::now_time(),
    );
    if let Err(e) = bapi
        .patch_status(
            &build.spec.binding,
            &PatchParams::default(),
            &Patch::Merge(&body),
        )
        .await
    {
        tracing::warn!(binding = %build.spec.binding, error = %e, "updating Binding status failed");
    }
}
