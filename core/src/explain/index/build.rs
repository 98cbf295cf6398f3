//! Building the [`Index`]: each object's identity and lookup keys, the unreadable
//! fields and unknown kinds noted on the way, the newest time of the input, then the
//! owner links and the Events matched to the objects they concern.

use super::{Index, KNOWN_KINDS, Obj};
use crate::explain::input::{Gathered, Input};
use crate::explain::shape;
use crate::explain::tree::Value;
use crate::explain::value::{self, str_at};

/// Unreadable fields spelt out in the notes; the rest are only counted.
const UNREADABLE_SHOWN: usize = 20;

impl Index {
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
        ix.events = events.into_iter().map(|g: Gathered| g.event).collect();
        for v in objects {
            ix.add(v);
        }
        ix.link_owners();
        ix.match_events();
        ix
    }

    /// Adds one object, or counts it as skipped when it has no kind or name.
    fn add(&mut self, v: Value) {
        if let Some(t) = value::newest_object_time(&v) {
            self.newest = self.newest.max(Some(t));
        }
        let kind = str_at(&v, "kind").unwrap_or_default().to_string();
        let Some(name) = value::nonempty_at(&v, "metadata.name").map(str::to_string) else {
            self.skipped += 1;
            return;
        };
        if kind.is_empty() {
            self.skipped += 1;
            return;
        }
        if !KNOWN_KINDS.contains(&kind.as_str()) {
            *self.unknown_kinds.entry(kind.clone()).or_default() += 1;
        }
        self.note_unreadable(&v, &kind, &name);
        let obj = Obj {
            id: self.objs.len(),
            namespace: value::nonempty_at(&v, "metadata.namespace").map(str::to_string),
            uid: value::nonempty_at(&v, "metadata.uid").map(str::to_string),
            kind,
            name,
            value: v,
        };
        self.add_keys(&obj);
        self.objs.push(obj);
    }

    /// Notes the fields of `v` the rules cannot read (the first few spelt out).
    fn note_unreadable(&mut self, v: &Value, kind: &str, name: &str) {
        let bad = shape::unreadable(v, kind);
        self.unreadable_count += bad.len();
        let room = UNREADABLE_SHOWN.saturating_sub(self.unreadable.len());
        for b in bad.into_iter().take(room) {
            let ns = value::nonempty_at(v, "metadata.namespace")
                .map(|n| format!("{n}/"))
                .unwrap_or_default();
            self.unreadable.push(format!("{kind} {ns}{name}: {b}"));
        }
    }

    /// Files `obj` under its uid, its key, its kind (and namespace), and a Pod under
    /// each of its labels.
    fn add_keys(&mut self, obj: &Obj) {
        let (id, kind, namespace) = (obj.id, &obj.kind, &obj.namespace);
        if let Some(u) = &obj.uid {
            self.by_uid.insert(u.clone(), id);
        }
        self.by_key
            .insert((kind.clone(), namespace.clone(), obj.name.clone()), id);
        self.by_kind.entry(kind.clone()).or_default().push(id);
        self.by_kind_ns
            .entry((kind.clone(), namespace.clone()))
            .or_default()
            .push(id);
        if kind != "Pod" {
            return;
        }
        let labels = obj.get("metadata.labels").and_then(Value::as_object);
        for (k, l) in labels.into_iter().flat_map(|m| m.iter()) {
            if let Some(l) = l.as_str() {
                self.pod_labels
                    .entry((namespace.clone(), k.to_string(), l.to_string()))
                    .or_default()
                    .push(id);
            }
        }
    }

    /// Each object's children: the objects that name it as an owner.
    fn link_owners(&mut self) {
        self.children = vec![Vec::new(); self.objs.len()];
        for id in 0..self.objs.len() {
            let owners: Vec<usize> = self.owner_ids(&self.objs[id]).collect();
            for o in owners {
                self.children[o].push(id);
            }
        }
    }

    /// Each Event to the object it concerns: by uid, else by kind, namespace and name.
    fn match_events(&mut self) {
        self.events_of = vec![Vec::new(); self.objs.len()];
        for (eid, e) in self.events.iter().enumerate() {
            let target = e
                .involved_uid
                .as_ref()
                .and_then(|u| self.by_uid.get(u))
                .or_else(|| {
                    self.by_key.get(&(
                        e.involved_kind.clone(),
                        e.involved_namespace.clone(),
                        e.involved_name.clone(),
                    ))
                })
                .copied();
            match target {
                Some(id) => self.events_of[id].push(eid),
                None => self.unmatched_events += 1,
            }
        }
    }
}
