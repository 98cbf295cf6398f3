//! Pushing by image id: the build's tag is pointed at the image id the build produced just
//! before the push, and the digest the engine then reports must be one of that image's
//! repository digests. Two Builds of one commit (two Bindings, two Dockerfiles) on one engine
//! cannot swap images, even if a tag were reused.

use bollard::query_parameters::TagImageOptions;

use super::{Engine, EngineError, unreachable};
use crate::adapters::registry::RegistryAuth;

impl Engine {
    /// The id of the image `reference` names on this engine, if it has it.
    pub(super) async fn image_id(&self, reference: &str) -> Option<String> {
        match self.docker.inspect_image(reference).await {
            Ok(i) => i.id,
            Err(e) => {
                tracing::warn!(image = reference, error = %e, "cannot read the built image's id");
                None
            }
        }
    }

    /// Tag image `id` as `repository:tag`, push it, check the pushed digest is that image's, and
    /// remove it from the engine (its tag and its digest reference). Returns the digest.
    pub async fn push_by_id(
        &self,
        repository: &str,
        tag: &str,
        id: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, EngineError> {
        let full = format!("{repository}:{tag}");
        let fail = |message: String| EngineError::Push {
            tag: full.clone(),
            message,
        };
        let opts = TagImageOptions {
            repo: Some(repository.to_string()),
            tag: Some(tag.to_string()),
        };
        self.docker
            .tag_image(id, Some(opts))
            .await
            .map_err(|e| match e {
                e if super::is_transport(&e) => unreachable(e),
                e => fail(format!("cannot tag the built image {id}: {e}")),
            })?;
        let digest = self.push_timed(repository, tag, auth).await?;
        let image = self.docker.inspect_image(id).await.map_err(|e| match e {
            e if super::is_transport(&e) => unreachable(e),
            e => fail(format!("cannot read the pushed image {id} back: {e}")),
        })?;
        let ours = image
            .repo_digests
            .unwrap_or_default()
            .iter()
            .any(|d| d.rsplit_once('@').is_some_and(|(_, d)| d == digest));
        if !ours {
            return Err(fail(format!(
                "the engine pushed {digest}, which is not the digest of the built image {id}"
            )));
        }
        // Untag, and drop the digest reference the push added (else the image stays, untagged).
        self.remove_pushed(&full).await;
        self.remove_pushed(&format!("{repository}@{digest}")).await;
        Ok(digest)
    }
}
