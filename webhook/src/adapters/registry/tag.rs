//! What a tag points at: `HEAD /v2/<repo>/manifests/<tag>` and the `Docker-Content-Digest` the
//! registry answers with, so a Build taken over after its push can find the image it pushed
//! under its own tag (`pipeline::resume`) instead of building it again.

use super::{RegistryAuth, RegistryError, head_manifest};

/// The manifest digest `host` serves for `path:tag`; `Ok(None)` when it has no such tag (404),
/// or answers without a digest header (nothing to continue from: the Build is built again).
pub async fn tag_digest(
    http: &reqwest::Client,
    plain: &[String],
    auth: Option<&RegistryAuth>,
    host: &str,
    path: &str,
    tag: &str,
) -> Result<Option<String>, RegistryError> {
    let resp = head_manifest(http, plain, auth, host, path, tag).await?;
    match resp.status().as_u16() {
        200 => Ok(resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .filter(|d| d.starts_with("sha256:"))
            .map(str::to_string)),
        404 => Ok(None),
        status => Err(RegistryError::answered(
            host,
            format!("{path}:{tag}"),
            status,
        )),
    }
}
