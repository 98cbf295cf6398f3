//! What watching a rollout reads, bounded (issue 13: a rollout used to list every Build of its
//! Binding, and its pods, twice a second, and a failure's diagnosis listed every ReplicaSet and
//! Event of the namespace):
//! - whether a newer Build took the Deployment over: from the Build watch cache (`BuildCache`),
//!   asking the API server only when the cache does not cover the Build or the Deployment's
//!   template names another Build than this one (then it matters, and the cache may lag);
//! - the new pods: by the Deployment's selector, narrowed to the new ReplicaSet's
//!   `pod-template-hash` once its pods show it;
//! - for a diagnosis: the Deployment's own ReplicaSets (by its selector) and the Events of the
//!   Deployment, those ReplicaSets and the new pods, each by `involvedObject`.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use mosaic_core::names;
use mosaic_core::resources::Build;

use crate::pipeline::Ctx;
use crate::pipeline::latest::{self, Newer, list_siblings};

/// The label the Deployment controller gives a ReplicaSet and its pods: its template's hash.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// Pods whose Events a diagnosis reads, at most.
const EVENT_PODS: usize = 8;

/// The newer Build of `me`'s Binding that reached the Deployment, if any.
pub async fn taken_over(
    ctx: &Ctx,
    me: &Build,
    dep: &Deployment,
) -> Result<Option<Newer>, kube::Error> {
    let cached = ctx
        .builds
        .newer_where(me, latest::Standing::reached_deployment);
    let applied_by = dep
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(names::ANNOTATION_BUILD));
    match cached {
        Some(Some(newer)) => Ok(Some(newer)),
        // The template is still this Build's, and the cache covers it: nothing to ask.
        Some(None) if applied_by.map(String::as_str) == Some(me.name_any().as_str()) => Ok(None),
        _ => {
            let all = list_siblings(&ctx.client, me).await?;
            Ok(latest::deployment_taken_by(me, &all).map(Newer::of))
        }
    }
}

/// The label selector of `dep`'s pods (`matchLabels`), narrowed to `hash` when known.
pub fn pod_selector(dep: &Deployment, hash: Option<&str>) -> String {
    let mut parts: Vec<String> = dep
        .spec
        .selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if let Some(h) = hash {
        parts.push(format!("{POD_TEMPLATE_HASH}={h}"));
    }
    parts.join(",")
}

/// The `pod-template-hash` all of `pods` share, if they share one.
pub fn shared_hash(pods: &[Pod]) -> Option<String> {
    let hashes: BTreeSet<&String> = pods
        .iter()
        .map(|p| p.labels().get(POD_TEMPLATE_HASH))
        .collect::<Option<_>>()?;
    (hashes.len() == 1).then(|| hashes.into_iter().next().cloned())?
}

/// The ReplicaSets `dep` owns, found by its selector; none when they cannot be read.
pub async fn replica_sets(client: &kube::Client, ns: &str, dep: &Deployment) -> Vec<ReplicaSet> {
    let uid = dep.metadata.uid.clone().unwrap_or_default();
    let lp = ListParams::default().labels(&pod_selector(dep, None));
    match Api::<ReplicaSet>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
    {
        Ok(l) => l
            .items
            .into_iter()
            .filter(|r| r.owner_references().iter().any(|o| o.uid == uid))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The Events about `dep`, `sets` and (the first few of) `pods`, each object's by field
/// selector; an object whose Events cannot be read adds none. An API server that serves no
/// `involvedObject` field selectors (400) is asked once for the namespace's Events instead,
/// kept only for those objects.
pub async fn events_of(
    client: &kube::Client,
    ns: &str,
    dep: &Deployment,
    sets: &[ReplicaSet],
    pods: &[Pod],
) -> Vec<Event> {
    let mut objects = vec![("Deployment", dep.name_any())];
    objects.extend(sets.iter().map(|r| ("ReplicaSet", r.name_any())));
    objects.extend(pods.iter().take(EVENT_PODS).map(|p| ("Pod", p.name_any())));
    let api = Api::<Event>::namespaced(client.clone(), ns);
    let mut out = Vec::new();
    for (kind, name) in &objects {
        let lp = ListParams::default().fields(&format!(
            "involvedObject.kind={kind},involvedObject.name={name}"
        ));
        match api.list(&lp).await {
            Ok(l) => out.extend(l.items),
            Err(kube::Error::Api(e)) if e.code == 400 => {
                let all = api.list(&ListParams::default()).await;
                let about = |e: &Event| {
                    let o = &e.involved_object;
                    objects.iter().any(|(k, n)| {
                        o.kind.as_deref() == Some(*k) && o.name.as_deref() == Some(n.as_str())
                    })
                };
                return all
                    .map(|l| l.items.into_iter().filter(about).collect())
                    .unwrap_or_default();
            }
            Err(_) => {}
        }
    }
    out
}
