//! Reading an image's OCI labels from its registry (manifest, then config blob)
//! through the registry HTTP API, for `bind --auto`'s
//! `org.opencontainers.image.source` lookup. Credentials come from
//! dockerconfigjson data (image pull Secrets, `~/.docker/config.json`).

use std::collections::BTreeMap;

use mosaic_core::reference::ImageRef;
use mosaic_core::registry_auth::{
    Challenge, DockerConfig, MANIFEST_ACCEPT, RegistryAuth, api_base, repository_path,
    token_from_response,
};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};

/// Why labels could not be read (callers skip quietly; shown with RUST_LOG=debug).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry request failed: {0}")]
    Http(String),
    #[error("registry answered {0} for {1}")]
    Status(u16, String),
    #[error("unexpected registry response: {0}")]
    Decode(String),
}

/// Registry credentials from several dockerconfigjson documents; the earlier document with
/// usable credentials for a host wins.
#[derive(Default)]
pub struct Credentials {
    configs: Vec<DockerConfig>,
}

impl Credentials {
    /// Add a dockerconfigjson document (one that does not parse is skipped: labels are a hint).
    pub fn add_docker_config(&mut self, json: &[u8]) {
        match DockerConfig::parse(json) {
            Ok(c) => self.configs.push(c),
            Err(e) => tracing::debug!(error = %e, "skipping registry credentials"),
        }
    }

    /// Add `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`) when readable.
    pub fn add_local_docker_config(&mut self) {
        let dir = std::env::var_os("DOCKER_CONFIG")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".docker"))
            });
        if let Some(bytes) = dir.and_then(|d| std::fs::read(d.join("config.json")).ok()) {
            self.add_docker_config(&bytes);
        }
    }

    /// The credentials for `host`, if any document has usable ones.
    pub fn get(&self, host: &str) -> Option<RegistryAuth> {
        self.configs
            .iter()
            .find_map(|c| c.credentials_for(host).ok())
    }
}

/// Choose the manifest to read from an index: linux/amd64, else the first non-attestation entry.
pub fn pick_from_index(index: &serde_json::Value) -> Option<String> {
    let ms = index.get("manifests")?.as_array()?;
    let plat = |m: &serde_json::Value, k: &str| {
        m.pointer(&format!("/platform/{k}"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let real: Vec<&serde_json::Value> = ms
        .iter()
        .filter(|m| plat(m, "os").as_deref() != Some("unknown"))
        .collect();
    let chosen = real
        .iter()
        .find(|m| {
            plat(m, "os").as_deref() == Some("linux")
                && plat(m, "architecture").as_deref() == Some("amd64")
        })
        .or(real.first())?;
    chosen.get("digest")?.as_str().map(str::to_string)
}

/// A small registry client that reads image labels.
pub struct Registry {
    http: reqwest::Client,
    creds: Credentials,
}

impl Registry {
    pub fn new(creds: Credentials) -> Result<Self, RegistryError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| RegistryError::Http(e.to_string()))?;
        Ok(Self { http, creds })
    }

    async fn get(
        &self,
        url: &str,
        accept: &str,
        auth: Option<&str>,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut rq = self.http.get(url).header(ACCEPT, accept);
        if let Some(a) = auth {
            rq = rq.header(AUTHORIZATION, a);
        }
        rq.send()
            .await
            .map_err(|e| RegistryError::Http(mosaic_core::error_chain::chain(&e)))
    }

    /// The Authorization header to use after a 401, if the challenge can be met.
    async fn authorize(
        &self,
        host: &str,
        challenge: &str,
    ) -> Result<Option<String>, RegistryError> {
        let basic = self.creds.get(host).map(|a| a.basic_authorization());
        let Some(challenge) = Challenge::parse(challenge) else {
            return Ok(None);
        };
        let Challenge::Bearer { realm, .. } = &challenge else {
            return Ok(basic);
        };
        let url = reqwest::Url::parse_with_params(realm, challenge.token_query())
            .map_err(|e| RegistryError::Decode(e.to_string()))?;
        mosaic_core::registry_auth::check_realm(url.scheme(), url.host_str())
            .map_err(RegistryError::Decode)?;
        let r = self
            .get(url.as_str(), "application/json", basic.as_deref())
            .await?;
        if !r.status().is_success() {
            return Err(RegistryError::Status(
                r.status().as_u16(),
                "its token service".into(),
            ));
        }
        let body = r
            .bytes()
            .await
            .map_err(|e| RegistryError::Http(mosaic_core::error_chain::chain(&e)))?;
        Ok(token_from_response(&body).map(|t| format!("Bearer {t}")))
    }

    async fn get_json(
        &self,
        host: &str,
        url: &str,
        accept: &str,
        auth: &mut Option<String>,
    ) -> Result<serde_json::Value, RegistryError> {
        let mut r = self.get(url, accept, auth.as_deref()).await?;
        if r.status() == StatusCode::UNAUTHORIZED {
            let ch = r
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            *auth = self.authorize(host, &ch).await?;
            if auth.is_none() {
                return Err(RegistryError::Status(401, url.into()));
            }
            r = self.get(url, accept, auth.as_deref()).await?;
        }
        if !r.status().is_success() {
            return Err(RegistryError::Status(r.status().as_u16(), url.into()));
        }
        r.json()
            .await
            .map_err(|e| RegistryError::Decode(e.to_string()))
    }

    /// The config labels of an image (tag `latest` when the reference names none).
    pub async fn labels(&self, img: &ImageRef) -> Result<BTreeMap<String, String>, RegistryError> {
        let host = img.registry_host().to_string();
        let base = api_base(&host, &[]);
        let path = repository_path(img);
        let reference = img
            .digest
            .clone()
            .or_else(|| img.tag.clone())
            .unwrap_or_else(|| "latest".into());
        let mut auth = None;
        let mut m = self
            .get_json(
                &host,
                &format!("{base}/v2/{path}/manifests/{reference}"),
                MANIFEST_ACCEPT,
                &mut auth,
            )
            .await?;
        if m.get("manifests").is_some() {
            let d = pick_from_index(&m)
                .ok_or_else(|| RegistryError::Decode("empty image index".into()))?;
            m = self
                .get_json(
                    &host,
                    &format!("{base}/v2/{path}/manifests/{d}"),
                    MANIFEST_ACCEPT,
                    &mut auth,
                )
                .await?;
        }
        let config = m
            .pointer("/config/digest")
            .and_then(|d| d.as_str())
            .ok_or_else(|| RegistryError::Decode("manifest has no config digest".into()))?;
        let blob = self
            .get_json(
                &host,
                &format!("{base}/v2/{path}/blobs/{config}"),
                "*/*",
                &mut auth,
            )
            .await?;
        let labels = blob
            .pointer("/config/Labels")
            .and_then(|l| l.as_object())
            .cloned()
            .unwrap_or_default();
        Ok(labels
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_first_document_with_usable_ones() {
        let mut c = Credentials::default();
        c.add_docker_config(b"not json");
        c.add_docker_config(
            br#"{"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}, "ghcr.io": {"auth": "!!!"}}}"#,
        );
        c.add_docker_config(
            br#"{"auths": {"docker.io": {"username": "late", "password": "x"}, "ghcr.io": {"username": "a", "password": "b"}}}"#,
        );
        let user = |h| c.get(h).map(|a| a.username);
        assert_eq!(user("docker.io").as_deref(), Some("u"));
        assert_eq!(user("ghcr.io").as_deref(), Some("a"));
        assert_eq!(user("quay.io"), None);
    }

    #[test]
    fn index_prefers_linux_amd64() {
        let idx = serde_json::json!({"manifests": [
            {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}}]});
        assert_eq!(pick_from_index(&idx).as_deref(), Some("sha256:amd"));
    }
}
