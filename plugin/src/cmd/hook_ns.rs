//! `kubectl mosaic hook --per-namespace`: one webhook secret per namespace. For each
//! repository, every namespace with a Binding of it gets Secret `mosaic-webhook-secret` (created
//! with 32 random bytes when missing), and the repository a hook to `<url>/<namespace>` signed
//! with that namespace's key, so a key can only reach that namespace's Bindings. `--rotate`
//! makes a new key first, keeping the old one as `previous` (the webhook accepts both), then
//! updates the hooks; drop `previous` once GitHub's Recent Deliveries show the new signature.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use mosaic_core::{Binding, names};

use crate::error::{Error, Outcome};
use crate::github_hook::{self, HookApi};

/// Key of the key being rotated out (the webhook reads it too).
pub const PREVIOUS_KEY: &str = "previous";

/// Namespaces per repository, from the Bindings (`only`: just that repository).
pub fn namespaces_by_repo(
    bindings: &[Binding],
    only: Option<&str>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for b in bindings {
        let repo = b.spec.repo.to_ascii_lowercase();
        if only.is_some_and(|o| !o.eq_ignore_ascii_case(&repo)) {
            continue;
        }
        if let Some(ns) = &b.metadata.namespace {
            out.entry(b.spec.repo.clone())
                .or_default()
                .insert(ns.clone());
        }
    }
    out
}

fn random_key() -> String {
    let mut raw = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_of(s: &Secret, key: &str) -> Option<String> {
    let v = s.data.as_ref()?.get(key)?;
    String::from_utf8(v.0.clone())
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The namespace's key: created when missing; with `rotate`, replaced (the old one kept as
/// `previous`). Never printed.
async fn namespace_key(client: &kube::Client, ns: &str, rotate: bool) -> Result<String, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let current = api.get_opt(names::WEBHOOK_SECRET_NAME).await?;
    let old = current
        .as_ref()
        .and_then(|s| key_of(s, names::WEBHOOK_SECRET_KEY));
    if let (Some(k), false) = (&old, rotate) {
        return Ok(k.clone());
    }
    let new = random_key();
    let mut data = BTreeMap::from([(
        names::WEBHOOK_SECRET_KEY.to_string(),
        ByteString(new.clone().into_bytes()),
    )]);
    if let Some(o) = old {
        data.insert(PREVIOUS_KEY.to_string(), ByteString(o.into_bytes()));
    }
    if current.is_some() {
        let patch = serde_json::json!({ "data": data });
        api.patch(
            names::WEBHOOK_SECRET_NAME,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    } else {
        let s = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(names::WEBHOOK_SECRET_NAME.to_string()),
                namespace: Some(ns.to_string()),
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            data: Some(data),
            ..Default::default()
        };
        api.create(&PostParams::default(), &s).await?;
    }
    Ok(new)
}

/// Hook every (repository, namespace) pair with that namespace's key and route.
pub async fn run(
    client: &kube::Client,
    github: &impl HookApi,
    scope: Option<&str>,
    repo: Option<&str>,
    url: &str,
    rotate: bool,
) -> Result<Outcome, Error> {
    let api: Api<Binding> = match scope {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let bindings = api.list(&ListParams::default()).await?.items;
    let pairs = namespaces_by_repo(&bindings, repo);
    if pairs.is_empty() {
        return Err(Error::Input(format!(
            "no Binding{} in scope: --per-namespace hooks a repository for the namespaces that bind it; bind a Deployment first",
            repo.map(|r| format!(" of {r}")).unwrap_or_default()
        )));
    }
    let base = url.trim_end_matches('/');
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut failed = 0;
    for (repo, namespaces) in &pairs {
        for ns in namespaces {
            if !keys.contains_key(ns) {
                let k = namespace_key(client, ns, rotate).await?;
                keys.insert(ns.clone(), k);
            }
            let to = format!("{base}/{ns}");
            let r = github_hook::hook_all(github, std::slice::from_ref(repo), &to, &keys[ns]).await;
            if r.is_err() {
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(Error::Other(format!(
            "{failed} (repository, namespace) pairs were not hooked"
        )));
    }
    if rotate {
        eprintln!(
            "rotated: the old keys stay valid as `{PREVIOUS_KEY}` in each namespace's {}; delete that key once GitHub's Recent Deliveries succeed",
            names::WEBHOOK_SECRET_NAME
        );
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn b(ns: &str, repo: &str) -> Binding {
        testing::binding(ns, "web", repo, "r.io/a")
    }

    #[test]
    fn each_repository_is_hooked_for_each_namespace_that_binds_it() {
        let all = [b("a", "acme/api"), b("b", "acme/api"), b("b", "acme/web")];
        let m = namespaces_by_repo(&all, None);
        assert_eq!(m["acme/api"], BTreeSet::from(["a".into(), "b".into()]));
        assert_eq!(m["acme/web"], BTreeSet::from(["b".into()]));
        let only = namespaces_by_repo(&all, Some("Acme/Web"));
        assert_eq!(only.keys().collect::<Vec<_>>(), ["acme/web"]);
        assert_eq!(random_key().len(), 64);
    }
}
