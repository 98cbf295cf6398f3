//! Live gathering for `explain`: lists the namespace's objects of every kind the
//! engine reads (concurrently), then fetches the cluster-scoped objects they point
//! at (the pods' nodes, the claims' volumes, storage and ingress classes). Kinds the
//! server does not serve (404) are skipped; kinds it refuses (403 and other API
//! errors) become notes. The cluster is reached only through [`Fetch`].

use std::future::Future;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::Value;
use tokio::task::JoinSet;

use mosaic_core::explain::rules::node_facts::pod_unschedulable;

use super::kinds::{self, KINDS, KindInfo};
use crate::error::Error;

/// The result of listing one kind.
#[derive(Debug)]
pub enum Listed {
    Items(Vec<Value>),
    /// The server does not serve this resource (404).
    NotServed,
    /// The server refused or failed the request; the message says why.
    Refused(String),
}

/// Narrow read access to a cluster.
pub trait Fetch: Clone + Send + Sync + 'static {
    /// Every object of `kind` in `namespace` (all namespaces when `None`), with `kind`/`apiVersion` set.
    fn list(
        &self,
        kind: &'static KindInfo,
        namespace: Option<String>,
    ) -> impl Future<Output = Result<Listed, Error>> + Send;
    /// One cluster-scoped object by name; `None` when absent or not served.
    fn get(
        &self,
        kind: &'static KindInfo,
        name: String,
    ) -> impl Future<Output = Result<Option<Value>, Error>> + Send;
}

/// Everything gathered, and notes for stderr.
#[derive(Debug, Default)]
pub struct Gathered {
    pub objects: Vec<Value>,
    pub notes: Vec<String>,
}

/// Namespaced kinds listed per namespace, and cluster-scoped kinds listed whole.
const CLUSTER_LISTED: &[&str] = &["StorageClass", "IngressClass"];

/// Gather every object explain needs in `namespace` (`None` = all namespaces).
pub async fn gather<F: Fetch>(fetch: &F, namespace: Option<&str>) -> Result<Gathered, Error> {
    let mut set = JoinSet::new();
    for info in KINDS
        .iter()
        .filter(|k| k.namespaced || CLUSTER_LISTED.contains(&k.kind))
    {
        let (f, ns) = (
            fetch.clone(),
            namespace.filter(|_| info.namespaced).map(str::to_string),
        );
        set.spawn(async move { (info, f.list(info, ns).await) });
    }
    if namespace.is_none() {
        let f = fetch.clone();
        let node = kinds::by_kind("Node").expect("Node is a known kind");
        set.spawn(async move { (node, f.list(node, None).await) });
    }
    let mut out = Gathered::default();
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (info, res) =
            joined.map_err(|e| Error::Other(format!("gathering task failed: {e}")))?;
        results.push((KINDS.iter().position(|k| k.kind == info.kind), info, res?));
    }
    results.sort_by_key(|(pos, _, _)| *pos);
    for (_, info, listed) in results {
        match listed {
            Listed::Items(items) => out.objects.extend(items),
            Listed::NotServed => tracing::debug!(kind = info.kind, "resource not served; skipped"),
            Listed::Refused(why) => out
                .notes
                .push(format!("could not list {}: {why}", info.plural)),
        }
    }
    if namespace.is_some() {
        nodes_for_namespace(fetch, &mut out).await?;
    }
    fetch_referenced(fetch, &mut out, "PersistentVolume", claim_volume).await?;
    Ok(out)
}

/// The Nodes one namespace needs: every Node when a pod could not be scheduled
/// (the scheduler names none, yet their taints, cordons and capacity are the
/// cause), else the nodes the pods run on and are nominated for. A refused list
/// becomes a note saying what it costs, and the pods' own nodes are read instead.
async fn nodes_for_namespace<F: Fetch>(fetch: &F, out: &mut Gathered) -> Result<(), Error> {
    if out.objects.iter().any(|o| {
        o.get("kind").and_then(Value::as_str) == Some("Pod") && pod_unschedulable(&o.into())
    }) {
        let node = kinds::by_kind("Node").expect("Node is a known kind");
        match fetch.list(node, None).await? {
            Listed::Items(items) => {
                out.objects.extend(items);
                return Ok(());
            }
            Listed::NotServed => {}
            Listed::Refused(why) => out.notes.push(format!(
                "could not list nodes: {why}; a pod here cannot be scheduled, and without the nodes its cause is read from the scheduler's message alone (taints and cordons unnamed). Grant list on nodes to see them"
            )),
        }
    }
    fetch_referenced(fetch, out, "Node", pod_node).await
}

fn pod_node(o: &Value) -> Option<String> {
    (o.get("kind")?.as_str()? == "Pod").then_some(())?;
    o.pointer("/spec/nodeName")
        .or_else(|| o.pointer("/status/nominatedNodeName"))?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn claim_volume(o: &Value) -> Option<String> {
    (o.get("kind")?.as_str()? == "PersistentVolumeClaim").then_some(())?;
    Some(o.pointer("/spec/volumeName")?.as_str()?.to_string()).filter(|s| !s.is_empty())
}

/// Get the cluster-scoped objects of `kind` named by `name_of` over the gathered objects.
async fn fetch_referenced<F: Fetch>(
    fetch: &F,
    out: &mut Gathered,
    kind: &str,
    name_of: impl Fn(&Value) -> Option<String>,
) -> Result<(), Error> {
    let info = kinds::by_kind(kind).expect("known kind");
    let mut names: Vec<String> = out.objects.iter().filter_map(name_of).collect();
    names.sort();
    names.dedup();
    let mut set = JoinSet::new();
    for n in names {
        let f = fetch.clone();
        set.spawn(async move { f.get(info, n).await });
    }
    while let Some(joined) = set.join_next().await {
        if let Some(v) =
            joined.map_err(|e| Error::Other(format!("gathering task failed: {e}")))??
        {
            out.objects.push(v);
        }
    }
    Ok(())
}

/// [`Fetch`] over a real API server.
#[derive(Clone)]
pub struct KubeFetch {
    pub client: Client,
}

fn api_resource(info: &KindInfo) -> ApiResource {
    ApiResource {
        group: info.group.to_string(),
        version: info.version.to_string(),
        api_version: info.api_version(),
        kind: info.kind.to_string(),
        plural: info.plural.to_string(),
    }
}

/// A typed value with `kind`/`apiVersion` filled in (list items often lack them).
fn with_type(info: &KindInfo, v: impl serde::Serialize) -> Result<Value, Error> {
    let mut v = serde_json::to_value(v)
        .map_err(|e| Error::Other(format!("cannot encode {}: {e}", info.kind)))?;
    if let Some(m) = v.as_object_mut() {
        m.insert("kind".into(), Value::String(info.kind.to_string()));
        m.insert("apiVersion".into(), Value::String(info.api_version()));
    }
    Ok(v)
}

impl Fetch for KubeFetch {
    async fn list(
        &self,
        info: &'static KindInfo,
        namespace: Option<String>,
    ) -> Result<Listed, Error> {
        let ar = api_resource(info);
        let api: Api<DynamicObject> = match &namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        };
        let lp = ListParams::default();
        // Secrets: names only; their payload is never read.
        let res = if info.kind == "Secret" {
            api.list_metadata(&lp).await.map(|l| {
                l.items
                    .into_iter()
                    .map(|m| with_type(info, m))
                    .collect::<Result<Vec<_>, _>>()
            })
        } else {
            api.list(&lp).await.map(|l| {
                l.items
                    .into_iter()
                    .map(|o| with_type(info, o))
                    .collect::<Result<Vec<_>, _>>()
            })
        };
        match res {
            Ok(items) => Ok(Listed::Items(items?)),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(Listed::NotServed),
            Err(kube::Error::Api(s)) => Ok(Listed::Refused(format!(
                "{} ({} {})",
                s.message, s.code, s.reason
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn get(&self, info: &'static KindInfo, name: String) -> Result<Option<Value>, Error> {
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &api_resource(info));
        match api.get_opt(&name).await {
            Ok(Some(o)) => Ok(Some(with_type(info, o)?)),
            Ok(None) | Err(kube::Error::Api(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    /// A fake cluster: pods and PVCs in `ns`, nodes and volumes by name, HPAs refused, the rest not served.
    #[derive(Clone, Default)]
    struct Fake {
        calls: Arc<std::sync::Mutex<Vec<String>>>,
        nodes_refused: bool,
    }

    impl Fetch for Fake {
        async fn list(
            &self,
            info: &'static KindInfo,
            namespace: Option<String>,
        ) -> Result<Listed, Error> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("list {} {:?}", info.plural, namespace));
            Ok(match info.kind {
                "Pod" if namespace.as_deref() == Some("pending") => Listed::Items(vec![json!({
                    "kind": "Pod", "metadata": {"name": "p", "namespace": "pending"}, "spec": {},
                    "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                        "reason": "Unschedulable", "message": "0/2 nodes are available: 2 node(s) had untolerated taint(s)."}]}
                })]),
                "Node" if self.nodes_refused => Listed::Refused("nodes is forbidden: User \"dev\" cannot list resource \"nodes\" in API group \"\" at the cluster scope (403 Forbidden)".into()),
                "Node" => Listed::Items(vec![
                    json!({"kind": "Node", "metadata": {"name": "n1"}}),
                    json!({"kind": "Node", "metadata": {"name": "n2"}}),
                ]),
                "Pod" => Listed::Items(vec![
                    json!({"kind": "Pod", "metadata": {"name": "a"}, "spec": {"nodeName": "n1"}}),
                    json!({"kind": "Pod", "metadata": {"name": "b"}, "spec": {"nodeName": "n1"}}),
                ]),
                "PersistentVolumeClaim" => Listed::Items(vec![
                    json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": {"volumeName": "pv1"}}),
                ]),
                "HorizontalPodAutoscaler" => Listed::Refused("forbidden (403 Forbidden)".into()),
                _ => Listed::NotServed,
            })
        }
        async fn get(&self, info: &'static KindInfo, name: String) -> Result<Option<Value>, Error> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("get {} {name}", info.plural));
            Ok(Some(json!({"kind": info.kind, "metadata": {"name": name}})))
        }
    }

    #[tokio::test]
    async fn gathers_namespace_and_referenced_cluster_objects() {
        let fake = Fake::default();
        let g = gather(&fake, Some("ns")).await.unwrap();
        let kinds: Vec<&str> = g
            .objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "Pod",
                "Pod",
                "PersistentVolumeClaim",
                "Node",
                "PersistentVolume"
            ]
        );
        assert_eq!(
            g.notes,
            ["could not list horizontalpodautoscalers: forbidden (403 Forbidden)"]
        );
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.as_str() == "get nodes n1")
                .count(),
            1,
            "nodes fetched once: {calls:?}"
        );
        assert!(calls.contains(&"list pods Some(\"ns\")".to_string()));
        assert!(calls.contains(&"list storageclasses None".to_string()));
        assert!(
            !calls.iter().any(|c| c.starts_with("list nodes")),
            "nodes are fetched by name in one namespace"
        );
    }

    #[tokio::test]
    async fn an_unschedulable_pod_brings_every_node() {
        let fake = Fake::default();
        let g = gather(&fake, Some("pending")).await.unwrap();
        let nodes: Vec<&str> = g
            .objects
            .iter()
            .filter(|o| o["kind"] == "Node")
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(nodes, ["n1", "n2"]);
        assert!(
            fake.calls
                .lock()
                .unwrap()
                .contains(&"list nodes None".to_string())
        );
        // Without the right to list nodes: a note that says what is missing and why.
        let refused = Fake {
            nodes_refused: true,
            ..Fake::default()
        };
        let g = gather(&refused, Some("pending")).await.unwrap();
        assert!(
            g.notes.iter().any(
                |n| n.starts_with("could not list nodes: nodes is forbidden")
                    && n.contains("cannot be scheduled")
                    && n.contains("Grant list on nodes")
            ),
            "{:?}",
            g.notes
        );
    }

    #[tokio::test]
    async fn all_namespaces_lists_nodes() {
        let fake = Fake::default();
        gather(&fake, None).await.unwrap();
        let calls = fake.calls.lock().unwrap().clone();
        assert!(calls.contains(&"list nodes None".to_string()), "{calls:?}");
        assert!(calls.contains(&"list pods None".to_string()), "{calls:?}");
    }
}
