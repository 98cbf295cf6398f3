//! What a tag points at: `HEAD /v2/<repo>/manifests/<tag>` and the `Docker-Content-Digest` the
//! registry answers with, so a Build taken over after its push can find the image it pushed
//! under its own tag (`pipeline::resume`) instead of building it again.

use mosaic_core::registry_auth::{MANIFEST_ACCEPT, api_base};

use super::{RegistryAuth, RegistryError, bearer_token};

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
    let url = format!("{}/v2/{path}/manifests/{tag}", api_base(host, plain));
    let unreachable = |e: reqwest::Error| RegistryError::Unreachable {
        host: host.to_string(),
        message: e.to_string(),
    };
    let head = |bearer: Option<String>| {
        let mut r = http.head(&url).header("Accept", MANIFEST_ACCEPT);
        r = match (&bearer, auth) {
            (Some(t), _) => r.bearer_auth(t),
            (None, Some(a)) => r.basic_auth(&a.username, Some(&a.password)),
            (None, None) => r,
        };
        r.send()
    };
    let mut resp = head(None).await.map_err(unreachable)?;
    if let Some(token) = bearer_token(http, auth, host, &resp).await? {
        resp = head(Some(token)).await.map_err(unreachable)?;
    }
    let reference = format!("{path}:{tag}");
    match resp.status().as_u16() {
        200 => Ok(resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .filter(|d| d.starts_with("sha256:"))
            .map(str::to_string)),
        404 => Ok(None),
        status @ (401 | 403) => Err(RegistryError::Unauthorized {
            host: host.to_string(),
            reference,
            status,
        }),
        status => Err(RegistryError::NotServed {
            host: host.to_string(),
            reference,
            status,
        }),
    }
}
