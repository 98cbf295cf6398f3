//! The object index the rules query: objects by kind/namespace/name and by uid,
//! owner references in both directions, Events matched to the objects they concern,
//! label-selector matching and the reference time of the input.

use std::collections::{BTreeMap, HashMap};

use crate::explain::tree::Value;
use chrono::{DateTime, Utc};

pub use super::event::Event;
use super::finding::ObjectRef;
use super::input::Input;
use super::value::{self, str_at};

mod build;
mod hpa_v1;
mod notes;
mod obj;
mod selector;

pub(crate) use hpa_v1::hpa_v1_annotations;
pub use obj::Obj;
pub use selector::selector_matches;

/// Kinds the engine knows how to read (as rule targets or as context). Anything else
/// is kept for owner chains but reported in a note.
pub const KNOWN_KINDS: &[&str] = &[
    "Pod",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ControllerRevision",
    "Job",
    "CronJob",
    "ReplicationController",
    "Service",
    "Endpoints",
    "EndpointSlice",
    "Ingress",
    "IngressClass",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "Node",
    "Namespace",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "ResourceQuota",
    "LimitRange",
    "Event",
];

type Key = (String, Option<String>, String);

/// Every object of the input, cross-referenced.
#[derive(Debug, Default)]
pub struct Index {
    objs: Vec<Obj>,
    events: Vec<Event>,
    by_key: HashMap<Key, usize>,
    by_uid: HashMap<String, usize>,
    by_kind: HashMap<String, Vec<usize>>,
    by_kind_ns: HashMap<(String, Option<String>), Vec<usize>>,
    /// Pods by (namespace, label key, label value), for fast selector matching.
    pod_labels: HashMap<(Option<String>, String, String), Vec<usize>>,
    children: Vec<Vec<usize>>,
    events_of: Vec<Vec<usize>>,
    unmatched_events: usize,
    unknown_kinds: BTreeMap<String, usize>,
    skipped: usize,
    /// `Kind ns/name: path: what is wrong`, for the first few unreadable fields.
    unreadable: Vec<String>,
    unreadable_count: usize,
    newest: Option<DateTime<Utc>>,
}

impl Index {
    /// Builds the index. Objects without `kind` or `metadata.name` are skipped (and
    /// counted); Secret payloads are dropped so they can never reach a report.
    pub fn build(values: Vec<serde_json::Value>) -> Index {
        Index::from_input(Input::from(values))
    }

    fn owner_ids<'a>(&'a self, obj: &'a Obj) -> impl Iterator<Item = usize> + 'a {
        obj.arr("metadata.ownerReferences")
            .iter()
            .filter_map(move |r| self.resolve_owner(obj, r))
    }

    fn resolve_owner(&self, obj: &Obj, r: &Value) -> Option<usize> {
        if let Some(id) = str_at(r, "uid").and_then(|u| self.by_uid.get(u)) {
            return Some(*id);
        }
        let key = (
            str_at(r, "kind")?.to_string(),
            obj.namespace.clone(),
            str_at(r, "name")?.to_string(),
        );
        self.by_key
            .get(&key)
            .or_else(|| self.by_key.get(&(key.0, None, key.2)))
            .copied()
    }

    /// All objects (Events excluded), in input order.
    pub fn objects(&self) -> &[Obj] {
        &self.objs
    }

    /// All Events of the input.
    pub fn all_events(&self) -> &[Event] {
        &self.events
    }

    /// Objects of one kind, in input order.
    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Obj> + 'a {
        self.by_kind
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|&i| &self.objs[i])
    }

    /// Objects of one kind in one namespace. To find the pods a selector matches,
    /// use [`Index::pods_selected`] (indexed by label) rather than scanning this with
    /// [`selector_matches`]: a scan per Service is quadratic on large dumps.
    pub fn of_kind_in<'a>(
        &'a self,
        kind: &str,
        namespace: Option<&str>,
    ) -> impl Iterator<Item = &'a Obj> + 'a {
        self.by_kind_ns
            .get(&(kind.to_string(), namespace.map(str::to_string)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|&i| &self.objs[i])
    }

    /// Looks an object up by kind, namespace (None for cluster-scoped) and name.
    pub fn get(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&Obj> {
        self.by_key
            .get(&(
                kind.to_string(),
                namespace.map(str::to_string),
                name.to_string(),
            ))
            .map(|&i| &self.objs[i])
    }

    /// Looks an object up by `metadata.uid`.
    pub fn by_uid(&self, uid: &str) -> Option<&Obj> {
        self.by_uid.get(uid).map(|&i| &self.objs[i])
    }

    /// Owners of `obj` that are present in the input.
    pub fn owners<'a>(&'a self, obj: &'a Obj) -> impl Iterator<Item = &'a Obj> + 'a {
        self.owner_ids(obj).map(|i| &self.objs[i])
    }

    /// The controlling owner reference (`controller: true`, else the first one).
    pub fn controller_ref<'a>(&self, obj: &'a Obj) -> Option<&'a Value> {
        let refs = obj.arr("metadata.ownerReferences");
        refs.iter()
            .find(|r| value::bool_at(r, "controller") == Some(true))
            .or_else(|| refs.first())
    }

    /// Objects in the input that name `obj` as an owner.
    pub fn children<'a>(&'a self, obj: &Obj) -> impl Iterator<Item = &'a Obj> + 'a {
        self.children
            .get(obj.id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|&i| &self.objs[i])
    }

    /// Events about `obj` (matched by involvedObject.uid, else kind/namespace/name),
    /// oldest first by last-seen time.
    pub fn events(&self, obj: &Obj) -> Vec<&Event> {
        let mut ev: Vec<&Event> = self
            .events_of
            .get(obj.id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|&i| &self.events[i])
            .collect();
        ev.sort_by_key(|e| e.last_seen_time);
        ev
    }

    /// Events about `obj` with one of the given reasons, oldest first.
    pub fn events_with(&self, obj: &Obj, reasons: &[&str]) -> Vec<&Event> {
        self.events(obj)
            .into_iter()
            .filter(|e| reasons.contains(&e.reason.as_str()))
            .collect()
    }

    /// The chain from the top-most owner down to `obj`, e.g.
    /// Deployment → ReplicaSet → Pod. Owners absent from the input still appear
    /// (from the owner reference) but end the walk.
    pub fn chain(&self, obj: &Obj) -> Vec<ObjectRef> {
        let mut chain = vec![obj.object_ref()];
        let mut cur = obj;
        for _ in 0..8 {
            let Some(r) = self.controller_ref(cur) else {
                break;
            };
            match self.resolve_owner(cur, r) {
                Some(id) if id != cur.id && !chain.contains(&self.objs[id].object_ref()) => {
                    cur = &self.objs[id];
                    chain.push(cur.object_ref());
                }
                Some(_) => break,
                None => {
                    if let (Some(kind), Some(name)) = (str_at(r, "kind"), str_at(r, "name")) {
                        chain.push(ObjectRef {
                            kind: kind.to_string(),
                            namespace: cur.namespace.clone(),
                            name: name.to_string(),
                        });
                    }
                    break;
                }
            }
        }
        chain.reverse();
        chain
    }

    /// Pods in `namespace` whose labels satisfy `selector` (a Service selector map or
    /// a LabelSelector with matchLabels/matchExpressions).
    pub fn pods_selected<'a>(
        &'a self,
        namespace: Option<&str>,
        selector: &Value,
    ) -> impl Iterator<Item = &'a Obj> + 'a {
        // Candidates: the pods carrying the rarest required label (exact-match part of
        // the selector); every pod of the namespace when the selector has none.
        let exact = selector.get("matchLabels").unwrap_or(selector).as_object();
        let ns = namespace.map(str::to_string);
        let candidates: Vec<usize> =
            match exact.filter(|m| !m.is_empty() && !m.contains_key("matchExpressions")) {
                Some(m) => m
                    .iter()
                    .map(|(k, v)| {
                        let key = (
                            ns.clone(),
                            k.to_string(),
                            v.as_str().unwrap_or_default().to_string(),
                        );
                        self.pod_labels.get(&key).map(Vec::as_slice).unwrap_or(&[])
                    })
                    .min_by_key(|ids| ids.len())
                    .unwrap_or(&[])
                    .to_vec(),
                None => self.of_kind_in("Pod", namespace).map(|o| o.id).collect(),
            };
        let selector = selector.clone();
        candidates
            .into_iter()
            .map(move |i| &self.objs[i])
            .filter(move |p| selector_matches(&selector, p.labels()))
    }

    /// The reference time: the newest timestamp anywhere in the input.
    pub fn newest_timestamp(&self) -> Option<DateTime<Utc>> {
        self.newest
    }
}

#[cfg(test)]
mod tests;
