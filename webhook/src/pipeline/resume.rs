//! Taking a Build over after its push: the image tag is unique per Build (the commit's short id
//! and a hash of the Build's namespace, name and uid), so what the registry serves under it is
//! this Build's image and no other Binding's. A Build whose earlier run recorded a digest, or
//! reached `Pushing` and left its tag in the registry, continues from that digest instead of
//! being built and pushed again (by another builder, on another engine, into another digest
//! and a second rollout).

use kube::ResourceExt;
use mosaic_core::resources::Build;
use sha2::{Digest, Sha256};

use super::Work;
use super::plan::{BuildPlan, short_sha};
use super::ports::RegistryCheck;

/// The tag of `build`'s image: `<short commit>-<10 hex digits of sha256(ns/name/uid)>`. The
/// same for every run of the Build (a takeover finds it), different for every other Build.
pub fn build_tag(build: &Build) -> String {
    let id = format!(
        "{}/{}/{}",
        build.namespace().unwrap_or_default(),
        build.name_any(),
        build.metadata.uid.as_deref().unwrap_or_default()
    );
    let hash = hex::encode(Sha256::digest(id.as_bytes()));
    format!("{}-{}", short_sha(&build.spec.commit), &hash[..10])
}

/// `plan` with `build`'s own tag.
pub fn tag_for(mut plan: BuildPlan, build: &Build) -> BuildPlan {
    plan.tag = format!("{}:{}", plan.repository, build_tag(build));
    plan
}

/// The digest an earlier run of `build` already pushed, as `repository@digest`: the image its
/// status records (still served by the registry), else, when a run reached `Pushing`, what the
/// registry serves under the Build's tag. `None`: build it. A registry that cannot say is
/// logged and taken as `None` (building again is always correct, only slower).
pub async fn pushed(registry: &dyn RegistryCheck, build: &Build, job: &Work) -> Option<String> {
    let status = build.status.as_ref()?;
    let plan = &job.plan;
    let image = mosaic_core::reference::ImageRef::parse_repository(&plan.repository).ok()?;
    let auth = job.auth.as_ref();
    let recorded = status
        .image
        .as_deref()
        .and_then(|i| i.strip_prefix(&format!("{}@", plan.repository)))
        .filter(|d| d.starts_with("sha256:"));
    if let Some(digest) = recorded {
        match registry
            .verify_digest(auth, &plan.registry_host, &image.path, digest)
            .await
        {
            Ok(()) => return Some(image.with_digest(digest)),
            Err(e) => {
                tracing::warn!(build = %build.name_any(), error = %e, "the recorded image is not served; building again")
            }
        }
    }
    status.phase_times.pushing.as_ref()?;
    let tag = plan.tag_name();
    match registry
        .tag_digest(auth, &plan.registry_host, &image.path, tag)
        .await
    {
        Ok(found) => found.map(|d| image.with_digest(&d)),
        Err(e) => {
            tracing::warn!(build = %build.name_any(), error = %e, "cannot look the Build's tag up; building again");
            None
        }
    }
}

#[cfg(test)]
mod tests;
