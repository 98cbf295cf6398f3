//! Registry access: picking push credentials for a registry host out of a
//! `kubernetes.io/dockerconfigjson` Secret (pure), and checking that a registry really serves
//! a manifest digest (`HEAD /v2/<repo>/manifests/<digest>`, with Basic or token auth), retried
//! with backoff while the registry answers 5xx or cannot be reached.

use std::time::Duration;

use base64::Engine as _;
use futures::future::BoxFuture;
use serde::Deserialize;

use crate::pipeline::ports::RegistryCheck;

/// Credentials for one registry. The password never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    pub host: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RegistryAuth {{ host: {:?}, username: {:?}, password: <redacted> }}",
            self.host, self.username
        )
    }
}

/// Why credentials or a digest check failed. No variant carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry secret is not a valid .dockerconfigjson: {0}")]
    BadConfig(String),
    #[error("registry secret has no credentials for {0}; add an `auths` entry for that host")]
    NoCredentials(String),
    #[error("registry {host} does not serve {reference} (HTTP {status})")]
    NotServed {
        host: String,
        reference: String,
        status: u16,
    },
    #[error("registry {host} refused the credentials (HTTP {status}) while checking {reference}")]
    Unauthorized {
        host: String,
        reference: String,
        status: u16,
    },
    #[error("registry {host} unreachable: {message}")]
    Unreachable { host: String, message: String },
    #[error("{last} (gave up after {attempts} attempts)")]
    GaveUp {
        attempts: u32,
        last: Box<RegistryError>,
    },
}

/// Attempts of the digest check while the registry answers 5xx/429 or cannot be reached, and
/// the first pause between them (doubled after each).
const VERIFY_ATTEMPTS: u32 = 4;
const VERIFY_BACKOFF: Duration = Duration::from_millis(500);

/// May trying again help? Transport errors and 5xx/429 answers; not a refusal or a 404.
fn transient(e: &RegistryError) -> bool {
    match e {
        RegistryError::Unreachable { .. } => true,
        RegistryError::NotServed { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::HashMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Normalise an `auths` key (`https://host/v1/`, `host`) to a bare host[:port].
fn key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let k = k.split('/').next().unwrap_or(k);
    if k == "index.docker.io" || k == "registry-1.docker.io" {
        "docker.io"
    } else {
        k
    }
}

/// Credentials for `host` from a `.dockerconfigjson` document.
pub fn credentials_for(dockerconfigjson: &[u8], host: &str) -> Result<RegistryAuth, RegistryError> {
    let cfg: DockerConfig = serde_json::from_slice(dockerconfigjson)
        .map_err(|e| RegistryError::BadConfig(e.to_string()))?;
    let entry = cfg
        .auths
        .iter()
        .find(|(k, _)| key_host(k) == host)
        .map(|(_, v)| v)
        .ok_or_else(|| RegistryError::NoCredentials(host.to_string()))?;
    let (username, password) = match (&entry.username, &entry.password, &entry.auth) {
        (Some(u), Some(p), _) => (u.clone(), p.clone()),
        (_, _, Some(a)) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(a.trim())
                .map_err(|_| RegistryError::BadConfig(format!("auth for {host} is not base64")))?;
            let text = String::from_utf8(raw)
                .map_err(|_| RegistryError::BadConfig(format!("auth for {host} is not UTF-8")))?;
            let (u, p) = text.split_once(':').ok_or_else(|| {
                RegistryError::BadConfig(format!("auth for {host} is not user:password"))
            })?;
            (u.to_string(), p.to_string())
        }
        _ => {
            return Err(RegistryError::BadConfig(format!(
                "entry for {host} has neither auth nor username/password"
            )));
        }
    };
    Ok(RegistryAuth {
        host: host.to_string(),
        username,
        password,
    })
}

/// Base URL of a registry's API: plain HTTP for loopback (as Docker allows) and the
/// `--insecure-registry` hosts, HTTPS otherwise.
fn api_base(host: &str, plain: &[String]) -> String {
    let insecure = mosaic_core::install_settings::plain_http(host, plain);
    let host = if host == "docker.io" {
        "registry-1.docker.io"
    } else {
        host
    };
    format!("{}://{host}", if insecure { "http" } else { "https" })
}

/// Parse `Bearer realm="…",service="…",scope="…"`.
fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.strip_prefix("Bearer ")?;
    Some(
        rest.split(',')
            .filter_map(|kv| kv.trim().split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect(),
    )
}

const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.index.v1+json";

/// Check that `host` serves `path@digest`, authenticating with `auth` (Basic, or a token from
/// the realm a `Bearer` challenge names). Transient failures are retried with backoff.
pub async fn verify_digest(
    http: &reqwest::Client,
    plain: &[String],
    auth: Option<&RegistryAuth>,
    host: &str,
    path: &str,
    digest: &str,
) -> Result<(), RegistryError> {
    let mut pause = VERIFY_BACKOFF;
    let mut attempt = 1;
    loop {
        match verify_once(http, plain, auth, host, path, digest).await {
            Err(e) if transient(&e) && attempt < VERIFY_ATTEMPTS => {
                tracing::warn!(attempt, error = %e, "registry digest check failed; retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            Err(e) if attempt > 1 => {
                return Err(RegistryError::GaveUp {
                    attempts: attempt,
                    last: Box::new(e),
                });
            }
            r => return r,
        }
    }
}

async fn verify_once(
    http: &reqwest::Client,
    plain: &[String],
    auth: Option<&RegistryAuth>,
    host: &str,
    path: &str,
    digest: &str,
) -> Result<(), RegistryError> {
    let url = format!("{}/v2/{path}/manifests/{digest}", api_base(host, plain));
    let reference = format!("{path}@{digest}");
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
    let status = resp.status().as_u16();
    match status {
        200 => Ok(()),
        401 | 403 => Err(RegistryError::Unauthorized {
            host: host.to_string(),
            reference,
            status,
        }),
        _ => Err(RegistryError::NotServed {
            host: host.to_string(),
            reference,
            status,
        }),
    }
}

/// When `resp` is a 401 with a `Bearer` challenge: a token from the realm it names, asked for
/// with `auth` (Basic) and the challenge's other parameters. `None` for any other answer.
async fn bearer_token(
    http: &reqwest::Client,
    auth: Option<&RegistryAuth>,
    host: &str,
    resp: &reqwest::Response,
) -> Result<Option<String>, RegistryError> {
    let unreachable = |e: reqwest::Error| RegistryError::Unreachable {
        host: host.to_string(),
        message: e.to_string(),
    };
    let Some(params) = (resp.status() == 401)
        .then(|| resp.headers().get("www-authenticate"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_params)
    else {
        return Ok(None);
    };
    let Some(realm) = params
        .iter()
        .find(|(k, _)| k == "realm")
        .map(|(_, v)| v.clone())
    else {
        return Ok(None);
    };
    let query: Vec<_> = params
        .iter()
        .filter(|(k, _)| k != "realm")
        .cloned()
        .collect();
    let url = reqwest::Url::parse_with_params(&realm, &query).map_err(|e| {
        RegistryError::Unreachable {
            host: host.to_string(),
            message: format!("bad token realm {realm:?}: {e}"),
        }
    })?;
    let mut req = http.get(url);
    if let Some(a) = auth {
        req = req.basic_auth(&a.username, Some(&a.password));
    }
    let answer = req.send().await.map_err(unreachable)?;
    if matches!(answer.status().as_u16(), 401 | 403) {
        return Err(RegistryError::Unauthorized {
            host: host.to_string(),
            reference: "its token service".into(),
            status: answer.status().as_u16(),
        });
    }
    #[derive(Deserialize)]
    struct Token {
        #[serde(alias = "access_token")]
        token: String,
    }
    let tok: Token = answer.json().await.map_err(unreachable)?;
    Ok(Some(tok.token))
}

/// Does `host` accept `auth` (`GET /v2/` with Basic, or with a token from the realm a `Bearer`
/// challenge names)? `Ok(false)` when it refuses them (401/403); an error when it cannot say.
pub async fn accepts(
    http: &reqwest::Client,
    plain: &[String],
    auth: &RegistryAuth,
    host: &str,
) -> Result<bool, RegistryError> {
    let url = format!("{}/v2/", api_base(host, plain));
    let unreachable = |e: reqwest::Error| RegistryError::Unreachable {
        host: host.to_string(),
        message: e.to_string(),
    };
    let get = |bearer: Option<String>| {
        let r = http.get(&url);
        match bearer {
            Some(t) => r.bearer_auth(t),
            None => r.basic_auth(&auth.username, Some(&auth.password)),
        }
        .send()
    };
    let mut resp = get(None).await.map_err(unreachable)?;
    match bearer_token(http, Some(auth), host, &resp).await {
        Ok(Some(token)) => resp = get(Some(token)).await.map_err(unreachable)?,
        Ok(None) => {}
        Err(RegistryError::Unauthorized { .. }) => return Ok(false),
        Err(e) => return Err(e),
    }
    match resp.status().as_u16() {
        200 => Ok(true),
        401 | 403 => Ok(false),
        status => Err(RegistryError::NotServed {
            host: host.to_string(),
            reference: "/v2/".into(),
            status,
        }),
    }
}

/// The registry check over HTTP.
#[derive(Clone)]
pub struct HttpRegistry {
    http: reqwest::Client,
    /// Registries reached over plain HTTP (`--insecure-registry`).
    plain: Vec<String>,
}

impl HttpRegistry {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            plain: Vec::new(),
        }
    }

    /// Reach `hosts` over plain HTTP too.
    pub fn plain_http(mut self, hosts: Vec<String>) -> Self {
        self.plain = hosts;
        self
    }
}

impl RegistryCheck for HttpRegistry {
    fn verify_digest<'a>(
        &'a self,
        auth: Option<&'a RegistryAuth>,
        host: &'a str,
        path: &'a str,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(verify_digest(
            &self.http,
            &self.plain,
            auth,
            host,
            path,
            digest,
        ))
    }

    fn accepts<'a>(
        &'a self,
        auth: &'a RegistryAuth,
        host: &'a str,
    ) -> BoxFuture<'a, Result<bool, RegistryError>> {
        Box::pin(accepts(&self.http, &self.plain, auth, host))
    }
}

#[cfg(test)]
mod tests;
