//! Pushing by tag: `repository:tag` is pushed within the push deadline (`--push-timeout`), the
//! digest is read from the engine's push stream, and the pushed image is then removed from the
//! engine (the registry holds it). Pushing by image id, with its digest check, is `by_id`.

use bollard::query_parameters::PushImageOptions;
use futures::StreamExt;

use super::{Engine, EngineError, creds, is_transport, lost, prune};
use mosaic_core::registry_auth::RegistryAuth;

impl Engine {
    /// Push `repository:tag` within the push deadline and return the manifest digest the engine
    /// reports; the pushed image is then removed from the engine (the registry holds it).
    pub async fn push(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, EngineError> {
        let full = format!("{repository}:{tag}");
        let digest = self.push_timed(repository, tag, auth).await?;
        self.remove_pushed(&full).await;
        Ok(digest)
    }

    /// Push `repository:tag` within the push deadline; the digest the engine reports.
    pub(super) async fn push_timed(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, EngineError> {
        let _busy = prune::InFlight::enter();
        tokio::time::timeout(self.push_timeout, self.push_once(repository, tag, auth))
            .await
            .map_err(|_| {
                EngineError::Unreachable(format!(
                    "the push of {repository}:{tag} did not finish within {} s (--push-timeout): the registry or the engine stalled",
                    self.push_timeout.as_secs()
                ))
            })?
    }

    /// Remove `full` (`repository:tag`) from the engine once the registry holds it.
    pub(super) async fn remove_pushed(&self, full: &str) {
        let rm = bollard::query_parameters::RemoveImageOptions {
            force: false,
            noprune: false,
            ..Default::default()
        };
        if let Err(e) = self.docker.remove_image(full, Some(rm), None).await {
            tracing::warn!(image = %full, error = %e, "could not remove the pushed image from the engine");
        }
    }

    async fn push_once(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, EngineError> {
        let full = format!("{repository}:{tag}");
        let fail = |message: String| EngineError::Push {
            tag: full.clone(),
            message,
        };
        let opts = PushImageOptions {
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let mut stream = self.docker.push_image(repository, Some(opts), creds(auth));
        let mut digest = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                e if is_transport(&e) => lost(&mosaic_core::error_chain::chain(&e)),
                bollard::errors::Error::DockerStreamError { error } => fail(error),
                other => fail(other.to_string()),
            })?;
            if let Some(msg) = info.error_detail.and_then(|d| d.message) {
                return Err(fail(msg));
            }
            if let Some(d) = info
                .status
                .as_deref()
                .and_then(|s| s.split("digest: ").nth(1))
            {
                digest = d.split_whitespace().next().map(str::to_string);
            }
        }
        digest.ok_or_else(|| fail("the engine reported no digest".into()))
    }
}
