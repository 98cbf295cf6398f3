//! A rollback Build (trigger `rollback`): nothing is fetched or built. The image of the earlier
//! Build it names is applied again, once core's `rollback::image_to_apply` accepts it (that
//! Build succeeded with that very digest, in the Binding's own repository) and the registry
//! still serves the digest. The rollout and its verification are a push's.

use kube::api::Api;
use mosaic_core::BuildReason;
use mosaic_core::reference::ImageRef;
use mosaic_core::resources::{Binding, Build};
use mosaic_core::rollback;

use crate::cluster::claim::Claimed;
use crate::pipeline::{Ctx, Stop, Work, fail};

/// What the Build's log tail says instead of a build log.
pub fn note(build: &Build, image: &str) -> String {
    format!(
        "rollback: nothing fetched or built; applying the image of build/{} again: {image}\n",
        build.spec.trigger.build.as_deref().unwrap_or("?")
    )
}

/// The image a rollback Build applies, checked; its log tail says so.
pub async fn image(
    ctx: &Ctx,
    claimed: &Claimed,
    build: &Build,
    binding: &Binding,
    job: &Work,
) -> Result<String, Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let source = match build.spec.trigger.build.as_deref() {
        Some(name) => Api::<Build>::namespaced(ctx.client.clone(), &ns)
            .get_opt(name)
            .await
            .map_err(|e| {
                fail(
                    BuildReason::ClusterUnreachable,
                    format!("reading build/{name}: {e}"),
                )
            })?,
        None => None,
    };
    let image = rollback::image_to_apply(binding, build, source.as_ref())
        .map_err(|e| fail(BuildReason::RollbackRefused, e))?;
    let note = note(build, &image);
    claimed
        .update(|s| {
            s.log_tail = Some(note.clone());
            s.image = Some(image.clone());
        })
        .await?;
    let parsed = ImageRef::parse(&image).map_err(|e| fail(BuildReason::RollbackRefused, e))?;
    let digest = parsed.digest.clone().unwrap_or_default();
    ctx.ports
        .registry
        .verify_digest(
            job.auth.as_ref(),
            &job.plan.registry_host,
            &parsed.path,
            &digest,
        )
        .await
        .map_err(|e| fail(BuildReason::DigestNotServed, e))?;
    Ok(image)
}
