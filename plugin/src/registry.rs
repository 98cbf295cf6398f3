//! Reading an image's OCI labels from its registry (manifest, then config blob)
//! through the registry HTTP API, for `bind --auto`'s
//! `org.opencontainers.image.source` lookup. Credentials come from
//! dockerconfigjson data (image pull Secrets, `~/.docker/config.json`).

use std::collections::BTreeMap;

use base64::Engine as _;
use mosaic_core::reference::ImageRef;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use serde::Deserialize;

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

/// Registry credentials by host.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    by_host: BTreeMap<String, (String, String)>,
}

/// Docker Hub's many spellings, as one host.
fn canonical_host(h: &str) -> String {
    let h = h
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let h = h.split('/').next().unwrap_or(h);
    match h {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        other => other.to_string(),
    }
}

impl Credentials {
    /// Add the `auths` of a dockerconfigjson document; earlier entries win.
    pub fn add_docker_config(&mut self, json: &[u8]) {
        #[derive(Deserialize)]
        struct Entry {
            auth: Option<String>,
            username: Option<String>,
            password: Option<String>,
        }
        #[derive(Deserialize)]
        struct Config {
            #[serde(default)]
            auths: BTreeMap<String, Entry>,
        }
        let Ok(c) = serde_json::from_slice::<Config>(json) else {
            return;
        };
        for (host, e) in c.auths {
            let pair = match (e.username, e.password, e.auth) {
                (Some(u), Some(p), _) => Some((u, p)),
                (_, _, Some(a)) => base64::engine::general_purpose::STANDARD
                    .decode(a.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| {
                        s.split_once(':')
                            .map(|(u, p)| (u.to_string(), p.to_string()))
                    }),
                _ => None,
            };
            if let Some(pair) = pair {
                self.by_host.entry(canonical_host(&host)).or_insert(pair);
            }
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

    /// Add a user and password for a host.
    pub fn insert(&mut self, host: &str, user: &str, password: &str) {
        self.by_host
            .entry(canonical_host(host))
            .or_insert((user.into(), password.into()));
    }

    pub fn get(&self, host: &str) -> Option<&(String, String)> {
        self.by_host.get(&canonical_host(host))
    }
}

/// An authentication challenge from `WWW-Authenticate`.
#[derive(Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parse `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (or `Basic …`).
pub fn parse_challenge(h: &str) -> Option<Challenge> {
    let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut s = rest;
    while let Some((k, after)) = s.split_once('=') {
        let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_string(), q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.insert(k, v);
        s = next;
    }
    Some(Challenge::Bearer {
        realm: params.remove("realm")?,
        service: params.remove("service"),
        scope: params.remove("scope"),
    })
}

/// Base URL of a registry: plain HTTP for loopback hosts (as Docker allows), HTTPS otherwise.
pub fn registry_base(host: &str) -> String {
    let h = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    if h == "localhost" || h.starts_with("127.") || h == "[::1]" {
        format!("http://{host}")
    } else if host == "docker.io" {
        "https://registry-1.docker.io".into()
    } else {
        format!("https://{host}")
    }
}

/// The repository path as the registry knows it (`library/` for Docker Hub official images).
pub fn registry_path(img: &ImageRef) -> String {
    if img.registry_host() == "docker.io" && !img.path.contains('/') {
        format!("library/{}", img.path)
    } else {
        img.path.clone()
    }
}

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

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
            .map_err(|e| RegistryError::Http(crate::error::chain(&e)))
    }

    /// The Authorization header to use after a 401, if the challenge can be met.
    async fn authorize(
        &self,
        host: &str,
        challenge: &str,
    ) -> Result<Option<String>, RegistryError> {
        let creds = self.creds.get(host);
        let basic = creds.map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        match parse_challenge(challenge) {
            Some(Challenge::Basic) => Ok(basic),
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let mut url = reqwest::Url::parse(&realm)
                    .map_err(|e| RegistryError::Decode(e.to_string()))?;
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = &service {
                        q.append_pair("service", s);
                    }
                    if let Some(s) = &scope {
                        q.append_pair("scope", s);
                    }
                }
                let r = self
                    .get(url.as_str(), "application/json", basic.as_deref())
                    .await?;
                if !r.status().is_success() {
                    return Err(RegistryError::Status(r.status().as_u16(), "token".into()));
                }
                let v: serde_json::Value = r
                    .json()
                    .await
                    .map_err(|e| RegistryError::Decode(e.to_string()))?;
                let t = v
                    .get("token")
                    .or_else(|| v.get("access_token"))
                    .and_then(|t| t.as_str());
                Ok(t.map(|t| format!("Bearer {t}")))
            }
            None => Ok(None),
        }
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
        let base = registry_base(&host);
        let path = registry_path(img);
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
                MANIFEST_TYPES,
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
                    MANIFEST_TYPES,
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
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn docker_config_auths() {
        let mut c = Credentials::default();
        c.add_docker_config(
            br#"{"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}, "127.0.0.1:5000": {"username": "a", "password": "b"}}}"#,
        );
        assert_eq!(
            c.get("docker.io"),
            Some(&("u".to_string(), "p".to_string()))
        );
        assert_eq!(
            c.get("127.0.0.1:5000"),
            Some(&("a".to_string(), "b".to_string()))
        );
        c.add_docker_config(b"not json");
        assert_eq!(c.get("ghcr.io"), None);
    }

    #[test]
    fn hosts_and_paths() {
        assert_eq!(registry_base("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(registry_base("localhost"), "http://localhost");
        assert_eq!(registry_base("ghcr.io"), "https://ghcr.io");
        assert_eq!(registry_base("docker.io"), "https://registry-1.docker.io");
        assert_eq!(
            registry_path(&ImageRef::parse("nginx:1").unwrap()),
            "library/nginx"
        );
        assert_eq!(
            registry_path(&ImageRef::parse("ghcr.io/a/b").unwrap()),
            "a/b"
        );
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
