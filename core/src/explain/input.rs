//! The engine's input, gathered one object at a time ([`Input::push`]). Events, most of
//! a cluster dump, are normalised as they arrive ([`Event`]) and their JSON dropped;
//! Secret payloads are dropped; every other object is kept as a compact
//! [`tree::Value`](super::tree::Value), a fraction of a `serde_json::Value`'s size. A
//! large dump is thus held once, and small.

use chrono::{DateTime, Utc};

use crate::explain::tree::Value;

use super::event::Event;
use super::index::hpa_v1_annotations;
use super::value::{self, str_at};

/// Objects and Events for [`super::explain_input`] / [`super::Index::from_input`].
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub(crate) objects: Vec<Value>,
    pub(crate) events: Vec<Gathered>,
    /// Events that name no object (no `involvedObject` nor `regarding`): their
    /// namespace and newest timestamp.
    pub(crate) unreadable_events: Vec<(Option<String>, Option<DateTime<Utc>>)>,
}

/// An Event as gathered: normalised, with the newest timestamp of its JSON.
#[derive(Debug, Clone)]
pub(crate) struct Gathered {
    pub(crate) event: Event,
    pub(crate) newest: Option<DateTime<Utc>>,
}

impl Input {
    /// An empty input.
    pub fn new() -> Input {
        Input::default()
    }

    /// Adds one object (any kind; a core/v1 or events.k8s.io/v1 Event is normalised).
    pub fn push(&mut self, v: serde_json::Value) {
        self.push_tree(Value::from(v));
    }

    /// [`Input::push`] of an object already read into a compact tree.
    pub fn push_tree(&mut self, mut v: Value) {
        if str_at(&v, "kind") == Some("Event") {
            let newest = value::newest_object_time(&v);
            match Event::from_value(&v) {
                Some(event) => self.events.push(Gathered { event, newest }),
                None => self.unreadable_events.push((
                    value::nonempty_at(&v, "metadata.namespace").map(str::to_string),
                    newest,
                )),
            }
            return;
        }
        if str_at(&v, "kind") == Some("Secret")
            && let Some(m) = v.as_object_mut()
        {
            m.remove("data");
            m.remove("stringData");
        }
        if str_at(&v, "kind") == Some("HorizontalPodAutoscaler") {
            hpa_v1_annotations(&mut v);
        }
        self.objects.push(v);
    }

    /// The objects other than Events, in input order.
    pub fn objects(&self) -> &[Value] {
        &self.objects
    }

    /// The Events that name an object, in input order.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().map(|g| &g.event)
    }

    /// How many items were pushed.
    pub fn len(&self) -> usize {
        self.objects.len() + self.events.len() + self.unreadable_events.len()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the objects for which `object` holds and the Events for which `event`
    /// holds (an Event that names no object is kept when `unreadable_event` holds
    /// for its namespace).
    pub fn retain(
        &mut self,
        mut object: impl FnMut(&Value) -> bool,
        mut event: impl FnMut(&Event) -> bool,
        mut unreadable_event: impl FnMut(Option<&str>) -> bool,
    ) {
        self.objects.retain(|v| object(v));
        self.events.retain(|g| event(&g.event));
        self.unreadable_events
            .retain(|(ns, _)| unreadable_event(ns.as_deref()));
    }

    /// Takes the objects out, leaving the Events.
    pub fn take_objects(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.objects)
    }

    /// Replaces the objects, keeping the Events.
    pub fn with_objects(self, objects: Vec<Value>) -> Input {
        Input { objects, ..self }
    }
}

impl Extend<serde_json::Value> for Input {
    fn extend<I: IntoIterator<Item = serde_json::Value>>(&mut self, iter: I) {
        for v in iter {
            self.push(v);
        }
    }
}

impl FromIterator<serde_json::Value> for Input {
    fn from_iter<I: IntoIterator<Item = serde_json::Value>>(iter: I) -> Input {
        let mut input = Input::new();
        input.extend(iter);
        input
    }
}

impl From<Vec<serde_json::Value>> for Input {
    fn from(values: Vec<serde_json::Value>) -> Input {
        values.into_iter().collect()
    }
}
