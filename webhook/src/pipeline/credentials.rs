//! The GitHub token and registry credentials of one Build: the Secrets its Binding names, in
//! the Binding's namespace; for a Binding that names none, the install's defaults
//! (`--default-github-secret`, `--default-registry-secret`, the Secrets `kubectl mosaic
//! install` stores). A default that does not exist means none; one that exists but is
//! malformed stops the Build with a message naming it, never its value.

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use mosaic_core::BuildReason;
use mosaic_core::names::{GITHUB_TOKEN_KEY, REGISTRY_CONFIG_KEY};
use mosaic_core::registry_auth::{CredentialsError, credentials_for};
use mosaic_core::resources::BindingSpec;

use super::{Ctx, Stop, fail};
use crate::pipeline::ports::Token;
use mosaic_core::registry_auth::RegistryAuth;

/// A Secret named with its namespace, `NAMESPACE/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
}

impl SecretRef {
    pub(crate) fn parse(s: &str) -> Result<SecretRef, String> {
        let ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 253
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        };
        match s.split_once('/') {
            Some((ns, name)) if ok(ns) && ok(name) => Ok(SecretRef {
                namespace: ns.into(),
                name: name.into(),
            }),
            _ => Err(format!(
                "{s:?} is not NAMESPACE/NAME of a Secret (in a pod, set POD_NAMESPACE from metadata.namespace to use $(POD_NAMESPACE))"
            )),
        }
    }
}

/// Defaults for Bindings that name no Secret.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub github: Option<SecretRef>,
    pub registry: Option<SecretRef>,
}

/// A default Secret's `key`, or `None` when the Secret does not exist.
async fn default_value(
    client: &kube::Client,
    r: &SecretRef,
    key: &str,
) -> Result<Option<Vec<u8>>, Stop> {
    let (ns, name) = (&r.namespace, &r.name);
    let found = Api::<Secret>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(|e| {
            fail(
                BuildReason::SecretUnreadable,
                format!(
                    "default Secret {ns}/{name}: {}",
                    mosaic_core::permission::kube_error(&e)
                ),
            )
        })?;
    match found {
        None => Ok(None),
        Some(_) => secret_value(client, ns, name, key).await.map(Some),
    }
}

fn token_of(bytes: Vec<u8>, ns: &str, name: &str) -> Result<Token, Stop> {
    let text = String::from_utf8(bytes).map_err(|_| {
        fail(
            BuildReason::SecretUnreadable,
            format!("Secret {ns}/{name} key token is not UTF-8"),
        )
    })?;
    Ok(Token(text.trim().to_string()))
}

/// The GitHub token for a Binding in `ns`.
pub async fn token(ctx: &Ctx, ns: &str, spec: &BindingSpec) -> Result<Option<Token>, Stop> {
    github_token(&ctx.client, &ctx.defaults, ns, spec).await
}

/// The GitHub token for a Binding in `ns`, for callers without a `Ctx` (the resync).
pub async fn github_token(
    client: &kube::Client,
    defaults: &Defaults,
    ns: &str,
    spec: &BindingSpec,
) -> Result<Option<Token>, Stop> {
    if let Some(s) = &spec.github_secret {
        let v = secret_value(client, ns, s, GITHUB_TOKEN_KEY).await?;
        return token_of(v, ns, s).map(Some);
    }
    let Some(d) = &defaults.github else {
        return Ok(None);
    };
    match default_value(client, d, GITHUB_TOKEN_KEY).await? {
        Some(v) => token_of(v, &d.namespace, &d.name).map(Some),
        None => Ok(None),
    }
}

/// The push credentials for `host` for a Binding in `ns`. A Secret the Binding names must
/// hold `host`; the default may not (the registry may need none).
pub async fn registry_auth(
    ctx: &Ctx,
    ns: &str,
    spec: &BindingSpec,
    host: &str,
) -> Result<Option<RegistryAuth>, Stop> {
    if let Some(s) = &spec.registry_secret {
        let cfg = secret_value(&ctx.client, ns, s, REGISTRY_CONFIG_KEY).await?;
        return credentials_for(&cfg, host).map(Some).map_err(|e| {
            fail(
                BuildReason::RegistryCredentials,
                format!("Secret {ns}/{s}: {e}"),
            )
        });
    }
    let Some(d) = &ctx.defaults.registry else {
        return Ok(None);
    };
    let Some(cfg) = default_value(&ctx.client, d, REGISTRY_CONFIG_KEY).await? else {
        return Ok(None);
    };
    match credentials_for(&cfg, host) {
        Ok(a) => Ok(Some(a)),
        Err(CredentialsError::NoCredentials(_)) => Ok(None),
        Err(e) => Err(fail(
            BuildReason::RegistryCredentials,
            format!("default Secret {}/{}: {e}", d.namespace, d.name),
        )),
    }
}

/// Read one key of a Secret in `ns`. Errors name the Secret and key, never the value.
async fn secret_value(
    client: &kube::Client,
    ns: &str,
    name: &str,
    key: &str,
) -> Result<Vec<u8>, Stop> {
    let s = Api::<Secret>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .map_err(|e| {
            fail(
                BuildReason::SecretUnreadable,
                format!(
                    "Secret {ns}/{name}: {}",
                    mosaic_core::permission::kube_error(&e)
                ),
            )
        })?;
    s.data
        .and_then(|mut d| d.remove(key))
        .map(|b| b.0)
        .ok_or_else(|| {
            fail(
                BuildReason::SecretKeyMissing,
                format!("Secret {ns}/{name} has no key {key:?}"),
            )
        })
}
