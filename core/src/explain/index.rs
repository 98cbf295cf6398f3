//! The object index the rules query: objects by kind/namespace/name and by uid,
//! owner references in both directions, Events matched to the objects they concern,
//! label-selector matching and the reference time of the input.

use std::collections::{BTreeMap, HashMap};

use crate::explain::tree::Value;
use chrono::{DateTime, Utc};

pub use super::event::Event;
use super::finding::{Evidence, ObjectRef};
use super::input::Input;
use super::value::{self, arr_at, get, str_at};

mod hpa_v1;
mod notes;
mod selector;

pub(crate) use hpa_v1::hpa_v1_annotations;
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

/// One indexed object: identity plus the raw value.
#[derive(Debug, Clone)]
pub struct Obj {
    /// Position in the index; stable for the life of the index.
    pub id: usize,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: Option<String>,
    pub value: Value,
}

impl Obj {
    /// The value at a dotted path of this object.
    pub fn get(&self, path: &str) -> Option<&Value> {
        get(&self.value, path)
    }
    /// The string at a dotted path of this object.
    pub fn str(&self, path: &str) -> Option<&str> {
        str_at(&self.value, path)
    }
    /// The array at a dotted path of this object (empty when absent).
    pub fn arr(&self, path: &str) -> &[Value] {
        arr_at(&self.value, path)
    }
    /// `status.conditions[type=<ty>]`.
    pub fn condition(&self, ty: &str) -> Option<&Value> {
        value::condition(&self.value, ty)
    }
    /// `{kind, namespace, name}` of this object.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
    /// `Kind/name`, as used in evidence.
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
    /// Evidence naming a field of this object and its value.
    pub fn field(&self, field: impl Into<String>, value: impl ToString) -> Evidence {
        Evidence::field(self.display(), field, value)
    }
    /// `-n <ns> ` for kubectl commands (empty for cluster-scoped objects).
    pub fn ns_flag(&self) -> String {
        self.namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default()
    }
    /// `metadata.creationTimestamp`.
    pub fn created(&self) -> Option<DateTime<Utc>> {
        value::time_at(&self.value, "metadata.creationTimestamp")
    }
    /// `metadata.labels` (null when absent).
    pub fn labels(&self) -> &Value {
        self.get("metadata.labels").unwrap_or(&Value::Null)
    }
}

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

    /// Builds the index from an [`Input`] (its Events already normalised).
    pub fn from_input(input: Input) -> Index {
        let mut ix = Index::default();
        let Input {
            objects,
            events,
            unreadable_events,
        } = input;
        ix.skipped += unreadable_events.len();
        for t in events.iter().map(|g| g.newest) {
            ix.newest = ix.newest.max(t);
        }
        for (_, t) in &unreadable_events {
            ix.newest = ix.newest.max(*t);
        }
        ix.events = events.into_iter().map(|g| g.event).collect();
        for v in objects {
            if let Some(t) = value::newest_object_time(&v) {
                ix.newest = ix.newest.max(Some(t));
            }
            let kind = str_at(&v, "kind").unwrap_or_default().to_string();
            let Some(name) = value::nonempty_at(&v, "metadata.name").map(str::to_string) else {
                ix.skipped += 1;
                continue;
            };
            if kind.is_empty() {
                ix.skipped += 1;
                continue;
            }
            if !KNOWN_KINDS.contains(&kind.as_str()) {
                *ix.unknown_kinds.entry(kind.clone()).or_default() += 1;
            }
            let bad = super::shape::unreadable(&v, &kind);
            ix.unreadable_count += bad.len();
            for b in bad
                .into_iter()
                .take(20usize.saturating_sub(ix.unreadable.len()))
            {
                let ns = value::nonempty_at(&v, "metadata.namespace")
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default();
                ix.unreadable.push(format!("{kind} {ns}{name}: {b}"));
            }
            let id = ix.objs.len();
            let namespace = value::nonempty_at(&v, "metadata.namespace").map(str::to_string);
            let uid = value::nonempty_at(&v, "metadata.uid").map(str::to_string);
            if let Some(u) = &uid {
                ix.by_uid.insert(u.clone(), id);
            }
            ix.by_key
                .insert((kind.clone(), namespace.clone(), name.clone()), id);
            ix.by_kind.entry(kind.clone()).or_default().push(id);
            ix.by_kind_ns
                .entry((kind.clone(), namespace.clone()))
                .or_default()
                .push(id);
            if kind == "Pod"
                && let Some(labels) = value::get(&v, "metadata.labels").and_then(Value::as_object)
            {
                for (k, l) in labels.iter() {
                    if let Some(l) = l.as_str() {
                        ix.pod_labels
                            .entry((namespace.clone(), k.to_string(), l.to_string()))
                            .or_default()
                            .push(id);
                    }
                }
            }
            ix.objs.push(Obj {
                id,
                kind,
                namespace,
                name,
                uid,
                value: v,
            });
        }
        ix.children = vec![Vec::new(); ix.objs.len()];
        for id in 0..ix.objs.len() {
            let owners: Vec<usize> = ix.owner_ids(&ix.objs[id]).collect();
            for o in owners {
                ix.children[o].push(id);
            }
        }
        ix.events_of = vec![Vec::new(); ix.objs.len()];
        for (eid, e) in ix.events.iter().enumerate() {
            let target = e
                .involved_uid
                .as_ref()
                .and_then(|u| ix.by_uid.get(u))
                .or_else(|| {
                    ix.by_key.get(&(
                        e.involved_kind.clone(),
                        e.involved_namespace.clone(),
                        e.involved_name.clone(),
                    ))
                })
                .copied();
            match target {
                Some(id) => ix.events_of[id].push(eid),
                None => ix.unmatched_events += 1,
            }
        }
        ix
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
