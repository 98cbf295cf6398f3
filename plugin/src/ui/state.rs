//! The UI's view of the cluster: one watch per kind (Bindings, Builds, Deployments) in the
//! scope of `-n`/`-A`, each feeding an in-memory store the pages render from, and a channel
//! that names which overview rows a watch event touched (for the live updates).

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, reflector as reflect};
use kube::{Api, Client, Resource, ResourceExt};
use mosaic_core::{Binding, Build};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

/// What a watch event touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The row of this Binding (namespace, name).
    Binding(String, String),
    /// Every row of this Deployment (namespace, name), bound or not.
    Deployment(String, String),
    /// A watch (re)listed: every row.
    All,
}

/// The stores and the change channel, shared by every request.
#[derive(Clone)]
pub struct View {
    pub bindings: Store<Binding>,
    pub builds: Store<Build>,
    pub deployments: Store<Deployment>,
    pub changes: broadcast::Sender<Change>,
    /// The latest error of each watch (a refusal by RBAC, an unreachable API), shown in pages.
    pub errors: Arc<Mutex<Vec<(&'static str, String)>>>,
}

/// The scope of the watches: one namespace, or all.
fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Start the watches (`namespace` None: all namespaces).
pub fn start(client: &Client, namespace: Option<&str>) -> View {
    let (changes, _) = broadcast::channel(4096);
    let errors = Arc::new(Mutex::new(vec![]));
    let bindings = watch::<Binding>(
        api(client, namespace),
        "bindings",
        changes.clone(),
        errors.clone(),
        |b| Change::Binding(b.namespace().unwrap_or_default(), b.name_any()),
    );
    let builds = watch::<Build>(
        api(client, namespace),
        "builds",
        changes.clone(),
        errors.clone(),
        |b| Change::Binding(b.namespace().unwrap_or_default(), b.spec.binding.clone()),
    );
    let deployments = watch::<Deployment>(
        api(client, namespace),
        "deployments",
        changes.clone(),
        errors.clone(),
        |d| Change::Deployment(d.namespace().unwrap_or_default(), d.name_any()),
    );
    View {
        bindings,
        builds,
        deployments,
        changes,
        errors,
    }
}

fn watch<K>(
    api: Api<K>,
    what: &'static str,
    tx: broadcast::Sender<Change>,
    errors: Arc<Mutex<Vec<(&'static str, String)>>>,
    touched: fn(&K) -> Change,
) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (reader, writer) = reflector::store();
    let stream = reflect(
        writer,
        watcher::watcher(api, watcher::Config::default()).default_backoff(),
    );
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(ev) = stream.next().await {
            let change = match ev {
                Ok(Event::Apply(o) | Event::Delete(o)) => Some(touched(&o)),
                Ok(Event::InitDone) => {
                    if let Ok(mut e) = errors.lock() {
                        e.retain(|(w, _)| *w != what);
                    }
                    Some(Change::All)
                }
                Ok(_) => None,
                Err(e) => {
                    let msg = match &e {
                        watcher::Error::InitialListFailed(k)
                        | watcher::Error::WatchStartFailed(k)
                        | watcher::Error::WatchFailed(k) => {
                            crate::error::Error::from(clone_kube(k)).to_string()
                        }
                        other => other.to_string(),
                    };
                    if let Ok(mut errs) = errors.lock() {
                        errs.retain(|(w, _)| *w != what);
                        errs.push((what, format!("watching {what}: {msg}")));
                    }
                    Some(Change::All)
                }
            };
            if let Some(c) = change {
                let _ = tx.send(c);
            }
        }
    });
    reader
}

/// A watch error's API status, rebuilt so the plugin's own error wording applies.
fn clone_kube(e: &kube::Error) -> kube::Error {
    match e {
        kube::Error::Api(s) => kube::Error::Api(s.clone()),
        other => kube::Error::Service(other.to_string().into()),
    }
}

impl View {
    /// Wait (bounded) until every store has its first list, so the first paint is complete.
    pub async fn ready(&self, within: Duration) -> bool {
        let all = async {
            let _ = self.bindings.wait_until_ready().await;
            let _ = self.builds.wait_until_ready().await;
            let _ = self.deployments.wait_until_ready().await;
        };
        tokio::time::timeout(within, all).await.is_ok()
    }

    /// The watch errors, for a page banner.
    pub fn errors(&self) -> Vec<String> {
        self.errors
            .lock()
            .map(|e| e.iter().map(|(_, m)| m.clone()).collect())
            .unwrap_or_default()
    }

    /// Every Binding, sorted by namespace and name.
    pub fn bindings(&self) -> Vec<Arc<Binding>> {
        let mut v = self.bindings.state();
        v.sort_by_key(|b| (b.namespace(), b.name_any()));
        v
    }

    /// One Binding.
    pub fn binding(&self, ns: &str, name: &str) -> Option<Arc<Binding>> {
        self.bindings
            .get(&reflector::ObjectRef::new(name).within(ns))
    }

    /// One Deployment.
    pub fn deployment(&self, ns: &str, name: &str) -> Option<Arc<Deployment>> {
        self.deployments
            .get(&reflector::ObjectRef::new(name).within(ns))
    }

    /// One Build.
    pub fn build(&self, ns: &str, name: &str) -> Option<Arc<Build>> {
        self.builds.get(&reflector::ObjectRef::new(name).within(ns))
    }

    /// The Builds of a Binding, newest first.
    pub fn builds_of(&self, ns: &str, binding: &str) -> Vec<Build> {
        let mut v: Vec<Build> = self
            .builds
            .state_filter(|b| b.namespace().as_deref() == Some(ns) && b.spec.binding == binding)
            .iter()
            .map(|b| (**b).clone())
            .collect();
        v.sort_by_key(|b| {
            std::cmp::Reverse(
                b.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.as_second()),
            )
        });
        v
    }
}
