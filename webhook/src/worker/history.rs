//! Bounded history on the API server: once a Build has ended, the builder that ended it deletes
//! the Binding's older finished Builds beyond its limits (`spec.history`, else
//! `--history-succeeded`/`--history-failed`; the choice is `mosaic_core::history`). Best
//! effort: a Build that cannot be deleted now is logged, and goes when the next one ends.

use kube::api::{Api, DeleteParams, ListParams};
use mosaic_core::history;
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};

use crate::pipeline::Ctx;

/// Delete the finished Builds of `build`'s Binding beyond its limits.
pub async fn prune(ctx: &Ctx, build: &Build) {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let binding = &build.spec.binding;
    let api = Api::<Build>::namespaced(ctx.client.clone(), &ns);
    let lp = ListParams::default().labels(&format!("{}={binding}", names::LABEL_BINDING));
    let builds = match api.list(&lp).await {
        Ok(l) => l.items,
        Err(e) => {
            tracing::warn!(namespace = %ns, binding = %binding, error = %e, "history: cannot list the Binding's Builds");
            return;
        }
    };
    let found = Api::<Binding>::namespaced(ctx.client.clone(), &ns)
        .get_opt(binding)
        .await
        .ok()
        .flatten();
    let limits = history::limits(
        found.as_ref().and_then(|b| b.spec.history.as_ref()),
        ctx.limits.keep,
    );
    for name in history::to_delete(found.as_ref(), &builds, limits) {
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => {
                tracing::info!(namespace = %ns, build = %name, "history: deleted an old Build")
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => {
                tracing::warn!(namespace = %ns, build = %name, error = %e, "history: cannot delete an old Build")
            }
        }
    }
}
