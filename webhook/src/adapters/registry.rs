//! The registry over HTTP: checking that a registry really serves a manifest digest
//! (`HEAD /v2/<repo>/manifests/<digest>`, with Basic or token auth), retried with backoff while
//! the registry answers 5xx or cannot be reached, and whether it accepts credentials. What the
//! credentials are, where the API is and what a challenge asks for is `mosaic_core::registry_auth`.

use std::time::Duration;

use futures::future::BoxFuture;
pub use mosaic_core::registry_auth::RegistryAuth;
use mosaic_core::registry_auth::{Challenge, MANIFEST_ACCEPT, api_base, token_from_response};

use mosaic_core::BuildReason;

use crate::backoff::{Policy, retry};
use crate::pipeline::ports::{Kind, PortError, RegistryCheck};

mod tag;

/// Why a digest check or a credential check failed. No variant carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
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
    /// The token realm a challenge named may not receive credentials (`check_realm`).
    #[error("registry {host}: {why}")]
    Realm { host: String, why: String },
    #[error("{last} (gave up after {attempts} attempts)")]
    GaveUp {
        attempts: u32,
        last: Box<RegistryError>,
    },
}

/// Tries of the digest check while the registry answers 5xx/429 or cannot be reached: four,
/// 0.5, 1 and 2 s apart.
fn verify_policy() -> Policy {
    Policy::Doubling {
        first: Duration::from_millis(500),
        max: Duration::from_secs(2),
        tries: Some(4),
        budget: None,
    }
}

impl RegistryError {
    /// May trying again help? Transport errors and 5xx/429 answers; not a refusal or a 404.
    pub fn kind(&self) -> Kind {
        match self {
            RegistryError::Unreachable { .. } => Kind::Transient,
            RegistryError::NotServed { status, .. } if *status >= 500 || *status == 429 => {
                Kind::Transient
            }
            RegistryError::Unauthorized { .. } => Kind::Refused,
            RegistryError::Realm { .. } => Kind::Permanent,
            RegistryError::GaveUp { last, .. } => last.kind(),
            RegistryError::NotServed { .. } => Kind::Permanent,
        }
    }

    fn unreachable(host: &str, e: reqwest::Error) -> Self {
        RegistryError::Unreachable {
            host: host.to_string(),
            message: e.to_string(),
        }
    }

    /// A registry's answer other than the one asked for: a refusal of the credentials (401,
    /// 403) or not served.
    fn answered(host: &str, reference: String, status: u16) -> Self {
        let host = host.to_string();
        match status {
            401 | 403 => RegistryError::Unauthorized {
                host,
                reference,
                status,
            },
            _ => RegistryError::NotServed {
                host,
                reference,
                status,
            },
        }
    }

    /// The error as the pipeline sees it.
    pub(crate) fn port(self) -> PortError {
        PortError::new(self.kind(), BuildReason::DigestNotServed, self)
    }
}

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
    let tried = retry(
        &verify_policy(),
        RegistryError::kind,
        |e, pause| tracing::warn!(error = %e, retry_in = ?pause, "registry digest check failed; retrying"),
        || verify_once(http, plain, auth, host, path, digest),
    )
    .await;
    tried.map_err(|t| match t.tries {
        1 => t.error,
        attempts => RegistryError::GaveUp {
            attempts,
            last: Box::new(t.error),
        },
    })
}

async fn verify_once(
    http: &reqwest::Client,
    plain: &[String],
    auth: Option<&RegistryAuth>,
    host: &str,
    path: &str,
    digest: &str,
) -> Result<(), RegistryError> {
    let resp = head_manifest(http, plain, auth, host, path, digest).await?;
    match resp.status().as_u16() {
        200 => Ok(()),
        status => Err(RegistryError::answered(
            host,
            format!("{path}@{digest}"),
            status,
        )),
    }
}

/// `HEAD /v2/<path>/manifests/<reference>` (a digest or a tag) on `host`, authenticated
/// (`send_authed`); the answer, whatever its status.
async fn head_manifest(
    http: &reqwest::Client,
    plain: &[String],
    auth: Option<&RegistryAuth>,
    host: &str,
    path: &str,
    reference: &str,
) -> Result<reqwest::Response, RegistryError> {
    let url = format!("{}/v2/{path}/manifests/{reference}", api_base(host, plain));
    send_authed(http, auth, host, || {
        http.head(&url).header("Accept", MANIFEST_ACCEPT)
    })
    .await
}

/// Send the request `request` makes, with `auth` as Basic credentials; when the registry
/// answers with a `Bearer` challenge, send it again with a token from the realm it names. The
/// last answer, whatever its status; an error when the registry or its token service cannot be
/// reached, or the token service refuses `auth`.
async fn send_authed(
    http: &reqwest::Client,
    auth: Option<&RegistryAuth>,
    host: &str,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, RegistryError> {
    let send = |bearer: Option<String>| {
        let r = request();
        match (bearer, auth) {
            (Some(t), _) => r.bearer_auth(t),
            (None, Some(a)) => r.basic_auth(&a.username, Some(&a.password)),
            (None, None) => r,
        }
        .send()
    };
    let unreachable = |e| RegistryError::unreachable(host, e);
    let resp = send(None).await.map_err(unreachable)?;
    match bearer_token(http, auth, host, &resp).await? {
        Some(token) => send(Some(token)).await.map_err(unreachable),
        None => Ok(resp),
    }
}

/// When `resp` is a 401 with a `Bearer` challenge: a token from the realm it names, asked for
/// with `auth` (Basic) and the challenge's service and scope. `None` for any other answer.
async fn bearer_token(
    http: &reqwest::Client,
    auth: Option<&RegistryAuth>,
    host: &str,
    resp: &reqwest::Response,
) -> Result<Option<String>, RegistryError> {
    let Some(challenge) = (resp.status() == 401)
        .then(|| resp.headers().get("www-authenticate"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(Challenge::parse)
    else {
        return Ok(None);
    };
    let Challenge::Bearer { realm, .. } = &challenge else {
        return Ok(None);
    };
    let url = reqwest::Url::parse_with_params(realm, challenge.token_query()).map_err(|e| {
        RegistryError::Unreachable {
            host: host.to_string(),
            message: format!("bad token realm {realm:?}: {e}"),
        }
    })?;
    mosaic_core::registry_auth::check_realm(url.scheme(), url.host_str()).map_err(|why| {
        RegistryError::Realm {
            host: host.to_string(),
            why,
        }
    })?;
    let mut req = http.get(url);
    if let Some(a) = auth {
        req = req.basic_auth(&a.username, Some(&a.password));
    }
    let unreachable = |e| RegistryError::unreachable(host, e);
    let answer = req.send().await.map_err(unreachable)?;
    if matches!(answer.status().as_u16(), 401 | 403) {
        return Err(RegistryError::Unauthorized {
            host: host.to_string(),
            reference: "its token service".into(),
            status: answer.status().as_u16(),
        });
    }
    let status = answer.status().as_u16();
    let body = answer.bytes().await.map_err(unreachable)?;
    token_from_response(&body)
        .map(Some)
        .ok_or_else(|| RegistryError::Unreachable {
            host: host.to_string(),
            message: format!("its token service answered HTTP {status} without a token"),
        })
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
    let resp = match send_authed(http, Some(auth), host, || http.get(&url)).await {
        Ok(resp) => resp,
        Err(RegistryError::Unauthorized { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
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
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            verify_digest(&self.http, &self.plain, auth, host, path, digest)
                .await
                .map_err(RegistryError::port)
        })
    }

    fn accepts<'a>(
        &'a self,
        auth: &'a RegistryAuth,
        host: &'a str,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            accepts(&self.http, &self.plain, auth, host)
                .await
                .map_err(RegistryError::port)
        })
    }

    fn tag_digest<'a>(
        &'a self,
        auth: Option<&'a RegistryAuth>,
        host: &'a str,
        path: &'a str,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, PortError>> {
        Box::pin(async move {
            tag::tag_digest(&self.http, &self.plain, auth, host, path, tag)
                .await
                .map_err(RegistryError::port)
        })
    }
}

#[cfg(test)]
mod tests;
