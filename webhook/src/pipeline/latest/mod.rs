//! Latest wins: everything that decides which Build of a Binding may run and roll.
//!
//! The invariant: once a Build's image has been applied to its Deployment, no Build of the
//! same Binding pushed before it applies its image or rolls back over it; and a Build whose
//! commit is not its branch's head (by git, not by arrival) deploys nothing.
//!
//! Three checks keep it, each cheaper than the next is strict:
//! - `git`: before a Build starts and again just before its image is applied, GitHub says
//!   where the bound branch is; a commit behind the head is superseded, one off the branch
//!   refused (`admit`, `recheck`);
//! - `order`: between the Builds that passed `git`, the later push wins (`push_time`,
//!   `order_key`); a newer Build that still counts supersedes an older one (`newer_build`,
//!   `Standing`), and one that reached the Deployment takes it over (`deployment_taken_by`);
//! - the siblings those are asked of: the controllers' watch caches (`build_cache`) may only
//!   say "superseded"; "not superseded" is confirmed by listing the API server
//!   (`check_latest`), and the rollout's guarded apply lists it again, applying conditionally
//!   on the Deployment's resourceVersion (see `deployment_taken_by`).

mod build_cache;
mod git;
mod order;

use kube::api::{Api, ListParams};
use mosaic_core::BuildReason;
use mosaic_core::resources::Build;

use crate::pipeline::{Ctx, Stop, fail};

pub(crate) use build_cache::{BuildCache, Newer};
pub(crate) use git::{admit, recheck};
pub use order::push_time;
pub(crate) use order::{Standing, deployment_taken_by, newer_build};

/// Every Build of `build`'s Binding, as the API server has them now (one request).
pub(crate) async fn list_siblings(
    client: &kube::Client,
    build: &Build,
) -> Result<Vec<Build>, kube::Error> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let lp = ListParams::default().labels(&format!(
        "{}={}",
        mosaic_core::names::LABEL_BINDING,
        build.spec.binding
    ));
    Api::<Build>::namespaced(client.clone(), &ns)
        .list(&lp)
        .await
        .map(|l| l.items)
}

/// [`list_siblings`], waiting out a briefly unreachable API server (`transient`).
pub(crate) async fn siblings(client: &kube::Client, build: &Build) -> Result<Vec<Build>, Stop> {
    crate::cluster::retry::retry(
        "listing Builds",
        crate::cluster::retry::api_budget(),
        || list_siblings(client, build),
    )
    .await
    .map_err(|e| {
        fail(
            BuildReason::ClusterUnreachable,
            format!("listing Builds: {e}"),
        )
    })
}

/// The newer Build of the same Binding that the watch cache shows still counting, if any. The
/// cache can only be behind, so what it shows exists: `build` is superseded.
pub(crate) fn cached_newer(ctx: &Ctx, build: &Build) -> Option<Newer> {
    ctx.builds.newer(build).flatten()
}

/// Latest wins: stop if a newer sibling may still deploy or did deploy. The watch cache
/// answers "superseded" without a request (the newer Build it shows exists; the cache can only
/// be behind). "Not superseded" is confirmed by the API server, because the cache may not have
/// seen the newest push yet, and then an older Build would build, or roll out, first.
pub(crate) async fn check_latest(ctx: &Ctx, build: &Build) -> Result<(), Stop> {
    if let Some(newer) = cached_newer(ctx, build) {
        return Err(newer.into());
    }
    let all = siblings(&ctx.client, build).await?;
    match newer_build(build, &all) {
        Some(newer) => Err(Stop::superseded_by(newer)),
        None => Ok(()),
    }
}
