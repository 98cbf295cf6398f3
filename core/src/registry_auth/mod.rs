//! Registry authentication, the pure part that the plugin (reading image labels) and the
//! webhook (checking a pushed digest) share: which host an image or an `auths` key names
//! (Docker Hub's aliases, loopback over plain HTTP), the credentials a dockerconfigjson
//! document holds for a host, what a `WWW-Authenticate` challenge asks for, and the manifest
//! types to accept. The HTTP calls stay in each adapter; nothing here performs IO.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use crate::reference::ImageRef;

mod config_error;
mod realm;
pub use realm::{check_realm, is_loopback_host};

/// The manifest media types a registry may answer with: image indexes and manifests, OCI and
/// Docker. Sent as `Accept` on every manifest request.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// Docker Hub's host, as image references and Mosaic's lookups name it.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API is served.
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// Other spellings of Docker Hub in `auths` keys and image references.
const DOCKER_HUB_ALIASES: [&str; 4] = [
    DOCKER_HUB,
    "index.docker.io",
    DOCKER_HUB_API,
    "registry.hub.docker.com",
];

/// The host an image reference, a registry URL or an `auths` key names, as one spelling:
/// no scheme, no path, lower case, and `docker.io` for every alias of Docker Hub.
/// `https://index.docker.io/v1/` and `docker.io` are the same host; a port stays.
pub fn canonical_host(name: &str) -> String {
    let h = name.trim();
    let h = h
        .strip_prefix("https://")
        .or_else(|| h.strip_prefix("http://"))
        .unwrap_or(h);
    let h = h.split('/').next().unwrap_or(h).to_ascii_lowercase();
    if DOCKER_HUB_ALIASES.contains(&h.as_str()) {
        DOCKER_HUB.to_string()
    } else {
        h
    }
}

/// The host part of `host[:port]`, brackets kept for IPv6 (`[::1]:5000` → `[::1]`).
fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Is `host[:port]` this machine (`localhost`, `127.x.x.x`, `[::1]`), which Docker reaches
/// over plain HTTP without being told?
pub fn is_loopback(host: &str) -> bool {
    is_loopback_host(host_without_port(host))
}

/// Is `host` reached over plain HTTP: loopback, or listed as an insecure registry?
pub fn plain_http(host: &str, insecure: &[String]) -> bool {
    is_loopback(host) || insecure.iter().any(|r| r == host)
}

/// Base URL of a registry's API: plain HTTP for loopback and the `insecure` hosts (as Docker
/// allows), HTTPS otherwise; Docker Hub's API host for Docker Hub.
pub fn api_base(host: &str, insecure: &[String]) -> String {
    let scheme = if plain_http(host, insecure) {
        "http"
    } else {
        "https"
    };
    let host = if canonical_host(host) == DOCKER_HUB {
        DOCKER_HUB_API
    } else {
        host
    };
    format!("{scheme}://{host}")
}

/// The repository path as the registry knows it: `library/` before Docker Hub's official
/// images (`nginx` is `library/nginx`).
pub fn repository_path(image: &ImageRef) -> String {
    if canonical_host(image.registry_host()) == DOCKER_HUB && !image.path.contains('/') {
        format!("library/{}", image.path)
    } else {
        image.path.clone()
    }
}

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

impl RegistryAuth {
    /// The `Authorization` header value for HTTP Basic.
    pub fn basic_authorization(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// Why a dockerconfigjson document gives no credentials. No variant carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("registry secret is not a valid .dockerconfigjson: {0}")]
    BadConfig(String),
    #[error("registry secret has no credentials for {0}; add an `auths` entry for that host")]
    NoCredentials(String),
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

/// A parsed dockerconfigjson document (`{"auths": {HOST: {auth | username, password}}}`):
/// a `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson`, or `~/.docker/config.json`.
pub struct DockerConfig {
    auths: BTreeMap<String, AuthEntry>,
}

impl DockerConfig {
    /// Parse a document; a file without `auths` has no credentials.
    pub fn parse(json: &[u8]) -> Result<Self, CredentialsError> {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(default)]
            auths: BTreeMap<String, AuthEntry>,
        }
        // serde's own message may quote the document (`invalid type: string "…"`): never use it.
        let doc: Doc = serde_json::from_slice(json)
            .map_err(|e| CredentialsError::BadConfig(config_error::describe(&e)))?;
        Ok(Self { auths: doc.auths })
    }

    /// The credentials for `host` (any spelling [`canonical_host`] unifies). Of several keys
    /// naming the host, the first (in key order) with usable credentials wins; when none has
    /// any, the first one's defect is the error.
    pub fn credentials_for(&self, host: &str) -> Result<RegistryAuth, CredentialsError> {
        let wanted = canonical_host(host);
        let mut first_error = None;
        for (key, entry) in &self.auths {
            if canonical_host(key) != wanted {
                continue;
            }
            match entry.user_password(host) {
                Ok((username, password)) => {
                    return Ok(RegistryAuth {
                        host: host.to_string(),
                        username,
                        password,
                    });
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| CredentialsError::NoCredentials(host.to_string())))
    }
}

impl AuthEntry {
    /// `username`/`password` when both are given, else the base64 `auth` (`user:password`,
    /// split at the first colon: passwords may hold colons).
    fn user_password(&self, host: &str) -> Result<(String, String), CredentialsError> {
        let bad = |why: &str| CredentialsError::BadConfig(format!("auth for {host} {why}"));
        match (&self.username, &self.password, &self.auth) {
            (Some(u), Some(p), _) => Ok((u.clone(), p.clone())),
            (_, _, Some(a)) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(a.trim())
                    .map_err(|_| bad("is not base64"))?;
                let text = String::from_utf8(raw).map_err(|_| bad("is not UTF-8"))?;
                let (u, p) = text
                    .split_once(':')
                    .ok_or_else(|| bad("is not user:password"))?;
                Ok((u.to_string(), p.to_string()))
            }
            _ => Err(CredentialsError::BadConfig(format!(
                "entry for {host} has neither auth nor username/password"
            ))),
        }
    }
}

/// Credentials for `host` from one dockerconfigjson document.
pub fn credentials_for(json: &[u8], host: &str) -> Result<RegistryAuth, CredentialsError> {
    DockerConfig::parse(json)?.credentials_for(host)
}

/// What a registry's `WWW-Authenticate` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// Send the credentials as HTTP Basic.
    Basic,
    /// Fetch a token from `realm` (with `service` and `scope` as query parameters, and the
    /// credentials as Basic), then send it as `Bearer`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parse `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. Values may be
    /// quoted (and then hold commas, as a scope with several actions does) or bare; names are
    /// case-insensitive. `None` for another scheme, or a Bearer challenge without a realm.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Self::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut params = auth_params(rest);
        Some(Self::Bearer {
            realm: params.remove("realm")?,
            service: params.remove("service"),
            scope: params.remove("scope"),
        })
    }

    /// The query parameters of a token request (`service`, `scope`); empty for Basic.
    pub fn token_query(&self) -> Vec<(&'static str, &str)> {
        match self {
            Self::Basic => vec![],
            Self::Bearer { service, scope, .. } => [("service", service), ("scope", scope)]
                .into_iter()
                .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
                .collect(),
        }
    }
}

/// `name=value, name="quoted, \"value\""` pairs, names lower-cased.
fn auth_params(mut s: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    loop {
        s = s.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some((name, after)) = s.split_once('=') else {
            return params;
        };
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, rest) = match after.strip_prefix('"') {
            Some(quoted) => unquote(quoted),
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            }
        };
        params.entry(name).or_insert(value);
        s = rest;
    }
}

/// The text of a quoted string whose opening quote is gone, and what follows its closing
/// quote. A backslash escapes the next character; an unclosed string runs to the end.
fn unquote(s: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &s[i + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            c => value.push(c),
        }
    }
    (value, "")
}

/// The token in a token service's answer: `token`, else `access_token` (Docker Hub sends
/// both; OAuth2 servers only the second). `None` when the body holds neither.
pub fn token_from_response(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Answer {
        token: Option<String>,
        access_token: Option<String>,
    }
    let a: Answer = serde_json::from_slice(body).ok()?;
    a.token.or(a.access_token).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests;
