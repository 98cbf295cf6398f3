//! One webhook secret per namespace: Secret `mosaic-webhook-secret` in the namespace of the
//! Bindings, keys `secret` and, during a rotation, `previous`. A delivery to
//! `/webhooks/github/{namespace}` is verified with that namespace's keys and can only match
//! Bindings in it. The keys are read through a cache that forgets after a few seconds, so a
//! rotation takes effect without a restart. The cluster-wide secret of `/webhooks/github` no
//! longer reaches a namespace that has a secret of its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use mosaic_core::names;
use mosaic_core::resources::Build;

use crate::intake::signature::WebhookSecret;

/// Key of the key that is being rotated out.
pub const PREVIOUS_KEY: &str = "previous";
/// How long a namespace's keys are kept before they are read again.
pub const TTL: Duration = Duration::from_secs(5);

/// The keys in a namespace's Secret: `secret`, then `previous` (either may be missing or empty).
pub fn keys(secret: &Secret) -> Vec<WebhookSecret> {
    let data = secret.data.clone().unwrap_or_default();
    [names::WEBHOOK_SECRET_KEY, PREVIOUS_KEY]
        .iter()
        .filter_map(|k| data.get(*k))
        .filter_map(|v| WebhookSecret::new(&v.0))
        .collect()
}

/// Is `ns` a namespace name (a DNS label)?
pub fn valid_namespace(ns: &str) -> bool {
    (1..=63).contains(&ns.len())
        && ns
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !ns.starts_with('-')
        && !ns.ends_with('-')
}

type Entry = (Instant, Option<Vec<WebhookSecret>>);

/// Namespaces' keys, read from the API server and kept for [`TTL`].
pub struct NamespaceSecrets {
    client: kube::Client,
    cache: Mutex<HashMap<String, Entry>>,
}

impl NamespaceSecrets {
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The keys of `ns`; `None` when it has no such Secret (or it holds no key).
    pub async fn get(&self, ns: &str) -> Result<Option<Vec<WebhookSecret>>, kube::Error> {
        if let Some((at, keys)) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(ns)
            && at.elapsed() < TTL
        {
            return Ok(keys.clone());
        }
        let found = Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(names::WEBHOOK_SECRET_NAME)
            .await?;
        let keys = found.as_ref().map(keys).filter(|k| !k.is_empty());
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(ns.to_string(), (Instant::now(), keys.clone()));
        Ok(keys)
    }
}

/// Why a namespace's keys could not be used: the HTTP status and the one-line error.
pub type Refusal = (StatusCode, String);

fn unreadable(ns: &str, e: &kube::Error) -> Refusal {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "cannot read namespace {ns}'s webhook secret: {}; redeliver once the cluster API answers",
            mosaic_core::permission::kube_error(e)
        ),
    )
}

impl NamespaceSecrets {
    /// The keys that verify `/webhooks/github/{ns}`, or why there are none.
    pub async fn route_keys(&self, ns: &str) -> Result<Vec<WebhookSecret>, Refusal> {
        if !valid_namespace(ns) {
            return Err((
                StatusCode::NOT_FOUND,
                format!("{ns:?} is not a namespace name"),
            ));
        }
        match self.get(ns).await {
            Ok(Some(keys)) => Ok(keys),
            Ok(None) => Err((
                StatusCode::NOT_FOUND,
                format!(
                    "namespace {ns} has no webhook secret (Secret {} with key {}): run `kubectl mosaic hook -n {ns}`, or deliver to {}",
                    names::WEBHOOK_SECRET_NAME,
                    names::WEBHOOK_SECRET_KEY,
                    names::WEBHOOK_PATH
                ),
            )),
            Err(e) => Err(unreadable(ns, &e)),
        }
    }

    /// On the cluster route: keep only the Builds of namespaces without a secret of their own
    /// (the cluster's secret must not reach the others).
    pub async fn outside_own(&self, builds: Vec<Build>) -> Result<Vec<Build>, Refusal> {
        let mut own: HashMap<String, bool> = HashMap::new();
        let mut kept = Vec::new();
        for b in builds {
            let ns = b.metadata.namespace.clone().unwrap_or_default();
            let has = match own.get(&ns) {
                Some(h) => *h,
                None => {
                    let h = self
                        .get(&ns)
                        .await
                        .map_err(|e| unreadable(&ns, &e))?
                        .is_some();
                    own.insert(ns.clone(), h);
                    h
                }
            };
            if !has {
                kept.push(b);
            }
        }
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_keys_count_during_a_rotation() {
        let s: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "mosaic-webhook-secret"},
            "data": {"secret": "bmV3", "previous": "b2xk"}
        }))
        .unwrap();
        let k = keys(&s);
        assert_eq!(k.len(), 2);
        let body = b"{}";
        let sig = |key: &str| crate::intake::signature::sign(key.as_bytes(), body);
        assert!(crate::intake::signature::verify(&k, Some(sig("new").as_bytes()), body).is_ok());
        assert!(crate::intake::signature::verify(&k, Some(sig("old").as_bytes()), body).is_ok());
        assert!(crate::intake::signature::verify(&k, Some(sig("other").as_bytes()), body).is_err());
        let empty: Secret =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "x"}})).unwrap();
        assert!(keys(&empty).is_empty());
        assert!(valid_namespace("team-a1"));
        for bad in ["", "Team", "-a", "a-", "a/b", "..", &"a".repeat(64)] {
            assert!(!valid_namespace(bad), "{bad}");
        }
    }
}
