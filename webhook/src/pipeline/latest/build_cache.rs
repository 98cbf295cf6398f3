//! The worker's view of sibling Builds for latest-wins checks: kept from the Build
//! controllers' watch events, so a run that is superseded (most of them, when pushes come
//! quickly) never asks the API server to list (and serialise) every Build of its Binding. With
//! thousands of Builds per Binding that list made each run cost megabytes of JSON and capped
//! the whole server's throughput (issue 7's load drill).
//!
//! Each controller's watch feeds one index: per namespace and Binding, the Builds in
//! latest-wins order, each with only what latest-wins reads of it (its name, commit and
//! [`Standing`]), not the whole object. The controllers' stores keep whole objects only for
//! the Builds still to run (`worker::controller`), so a finished Build costs a few hundred
//! bytes here instead of about 3 KiB in a store (50,000 of them: the history drill,
//! docs/reliability.md). A check walks the index from the newest push down and stops at the
//! first newer Build that still counts; its cost is the number of newer Builds that no longer
//! count, not the Binding's history (a full scan cost about a quarter of the webhook's CPU at
//! 200 pushes/s: `perf`, docs/benchmarks.md).
//!
//! A cache lags the API server, by seconds when the controller is busy (seen in the replicas
//! drill). So it may only say "superseded": a newer Build it shows exists. "Not superseded"
//! is confirmed against the API server (`check_latest`), and the rollout's guarded
//! apply (`rollout::apply`) reads the API server too.
//!
//! The bounded history (`worker::history`) reads a Binding's Builds from here too (each with
//! its creation time and phase), and waits here ([`BuildCache::until`]) for the cache to show
//! the ends it decides on.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::watcher::Event;
use mosaic_core::history;
use mosaic_core::names::LABEL_BINDING;
use mosaic_core::resources::Build;

use super::order::{Standing, push_time};
use crate::pipeline::Stop;

/// The sibling indexes of every controller this process runs (one per watched namespace, or
/// one for all namespaces). Empty until the controllers start; then [`BuildCache::newer`]
/// answers from memory.
#[derive(Clone)]
pub struct BuildCache {
    indexes: Arc<RwLock<Vec<Arc<SiblingIndex>>>>,
    /// Told after every watch event any index applied.
    changed: Arc<tokio::sync::watch::Sender<()>>,
}

impl Default for BuildCache {
    fn default() -> Self {
        BuildCache {
            indexes: Arc::default(),
            changed: Arc::new(tokio::sync::watch::Sender::new(())),
        }
    }
}

/// A newer Build the cache shows: enough to say what superseded a Build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Newer {
    pub build: String,
    pub commit: String,
}

impl Newer {
    pub fn of(b: &Build) -> Newer {
        Newer {
            build: b.metadata.name.clone().unwrap_or_default(),
            commit: b.spec.commit.clone(),
        }
    }
}

impl From<Newer> for Stop {
    fn from(n: Newer) -> Stop {
        Stop::Superseded {
            build: n.build,
            commit: n.commit,
        }
    }
}

impl BuildCache {
    /// Add one controller's index; feed it that controller's watch events.
    pub fn add(&self) -> Arc<SiblingIndex> {
        let index = Arc::new(SiblingIndex {
            changed: Some(self.changed.clone()),
            ..Default::default()
        });
        self.indexes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(index.clone());
        index
    }

    /// Latest wins, from memory: `Some(Some(newer))` when the cache shows a Build of the same
    /// Binding pushed after `build` that still counts, `Some(None)` when it shows none, and
    /// `None` when no started cache covers `build` yet (the caller then asks the API server).
    pub fn newer(&self, build: &Build) -> Option<Option<Newer>> {
        self.newer_where(build, Standing::still_counts)
    }

    /// As [`BuildCache::newer`], for the newest later Build of the same Binding whose standing
    /// `pick` accepts, e.g. one that reached the Deployment.
    pub fn newer_where(
        &self,
        build: &Build,
        pick: impl Fn(Standing) -> bool,
    ) -> Option<Option<Newer>> {
        let indexes = self
            .indexes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let ns = build.metadata.namespace.as_deref().unwrap_or_default();
        let name = build.metadata.name.as_deref().unwrap_or_default();
        let index = indexes.iter().find(|i| i.covers(ns, name))?;
        let after = (push_time(build), Arc::from(name));
        Some(index.find_newer(ns, &build.spec.binding, &after, pick))
    }

    /// What the bounded history reads of every cached Build of Binding `binding` in `ns`
    /// (labelled and specified for it, as the API server's label-selected list answers).
    pub fn history_of(&self, ns: &str, binding: &str) -> Vec<history::Entry> {
        let indexes = self
            .indexes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = Vec::new();
        for index in indexes.iter() {
            let live = index.live.read().unwrap_or_else(|e| e.into_inner());
            let Some(set) = live
                .namespaces
                .get(ns)
                .and_then(|space| space.by_binding.get(binding))
            else {
                continue;
            };
            out.extend(set.iter().map(|((_, name), s)| history::Entry {
                name: name.to_string(),
                created: s.created.clone(),
                phase: s.standing.map(|st| st.phase),
            }));
        }
        out
    }

    /// Does the cache show Build `name` in `ns` ended, or gone (not shown at all)?
    pub fn ended_or_gone(&self, ns: &str, name: &str) -> bool {
        let indexes = self
            .indexes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        indexes.iter().all(|index| {
            let live = index.live.read().unwrap_or_else(|e| e.into_inner());
            let Some(space) = live.namespaces.get(ns) else {
                return true;
            };
            match space.filed.get(name) {
                None | Some((None, _)) => true,
                Some((Some(binding), order)) => space
                    .by_binding
                    .get(binding)
                    .and_then(|set| set.get(order))
                    .and_then(|s| s.standing)
                    .is_some_and(|st| st.phase.is_terminal()),
            }
        })
    }

    /// Wait until `done` holds, asking it again after each watch event, for at most `within`.
    /// Returns whether it held.
    pub async fn until(&self, mut done: impl FnMut(&Self) -> bool, within: Duration) -> bool {
        let mut events = self.changed.subscribe();
        let waited = tokio::time::timeout(within, async {
            // The sender lives in `self`, so `changed` cannot fail while this waits.
            while !done(self) && events.changed().await.is_ok() {}
        })
        .await;
        waited.is_ok() || done(self)
    }
}

/// A Build's place in latest-wins order (see `order_key`): push time, then name.
type Order = (Option<DateTime<Utc>>, Arc<str>);

/// What the index keeps of one Build besides its place.
struct Sibling {
    commit: Box<str>,
    /// `None` without a status.
    standing: Option<Standing>,
    /// When the API server created it (the bounded history keeps the newest).
    created: Option<Time>,
}

/// One namespace's Builds.
#[derive(Default)]
struct Namespace {
    /// Binding → its Builds in latest-wins order. Only Builds whose Binding label matches
    /// their spec are here, as only those are siblings (see [`labelled_as`]).
    by_binding: HashMap<Arc<str>, BTreeMap<Order, Sibling>>,
    /// Every Build seen, by name: where it is filed (its Binding, when it is a sibling at
    /// all), so an update or a delete finds it.
    filed: HashMap<Arc<str>, (Option<Arc<str>>, Order)>,
}

impl Namespace {
    fn remove(&mut self, name: &str) {
        let Some((Some(binding), order)) = self.filed.remove(name) else {
            return;
        };
        if let Some(set) = self.by_binding.get_mut(&binding) {
            set.remove(&order);
            if set.is_empty() {
                self.by_binding.remove(&binding);
            }
        }
    }

    fn put(&mut self, name: &str, b: &Build) {
        self.remove(name);
        let name: Arc<str> = Arc::from(name);
        let order = (push_time(b), name.clone());
        let binding = labelled_as(b, &b.spec.binding).then(|| {
            // One allocation per Binding, shared by its Builds.
            let key = self
                .by_binding
                .get_key_value(b.spec.binding.as_str())
                .map_or_else(|| Arc::from(b.spec.binding.as_str()), |(k, _)| k.clone());
            let sibling = Sibling {
                commit: b.spec.commit.as_str().into(),
                standing: Standing::of(b),
                created: b.metadata.creation_timestamp.clone(),
            };
            self.by_binding
                .entry(key.clone())
                .or_default()
                .insert(order.clone(), sibling);
            key
        });
        self.filed.insert(name, (binding, order));
    }
}

/// Per namespace, the Builds one watch has shown.
#[derive(Default)]
struct Siblings {
    namespaces: HashMap<String, Namespace>,
}

impl Siblings {
    fn remove(&mut self, ns: &str, name: &str) {
        if let Some(space) = self.namespaces.get_mut(ns) {
            space.remove(name);
            if space.filed.is_empty() {
                self.namespaces.remove(ns);
            }
        }
    }

    fn put(&mut self, b: &Build) {
        let (Some(ns), Some(name)) = (&b.metadata.namespace, &b.metadata.name) else {
            return;
        };
        if !self.namespaces.contains_key(ns) {
            self.namespaces.insert(ns.clone(), Namespace::default());
        }
        if let Some(space) = self.namespaces.get_mut(ns) {
            space.put(name, b);
        }
    }
}

/// One watch's sibling index, fed from its events the way a store is: a relist (`Init` …
/// `InitDone`) builds a new index that replaces the old one when it is complete.
#[derive(Default)]
pub struct SiblingIndex {
    live: RwLock<Siblings>,
    relist: Mutex<Option<Siblings>>,
    /// The cache's "an event was applied" signal (`None` for an index on its own).
    changed: Option<Arc<tokio::sync::watch::Sender<()>>>,
}

impl SiblingIndex {
    /// Apply one watch event.
    pub fn apply(&self, event: &Event<Build>) {
        self.apply_event(event);
        if let Some(changed) = &self.changed {
            changed.send_replace(());
        }
    }

    fn apply_event(&self, event: &Event<Build>) {
        let mut relist = self.relist.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Init => *relist = Some(Siblings::default()),
            Event::InitApply(b) => relist.get_or_insert_with(Siblings::default).put(b),
            Event::InitDone => {
                let fresh = relist.take().unwrap_or_default();
                *self.live.write().unwrap_or_else(|e| e.into_inner()) = fresh;
            }
            Event::Apply(b) => self.live.write().unwrap_or_else(|e| e.into_inner()).put(b),
            Event::Delete(b) => {
                if let (Some(ns), Some(name)) = (&b.metadata.namespace, &b.metadata.name) {
                    self.live
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(ns, name);
                }
            }
        }
    }

    /// Has this watch shown the Build `ns`/`name` (and not its deletion)?
    fn covers(&self, ns: &str, name: &str) -> bool {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner());
        live.namespaces
            .get(ns)
            .is_some_and(|space| space.filed.contains_key(name))
    }

    /// Walk the Builds of `binding` in `ns` filed after `after` in latest-wins order, newest
    /// first, and return the first (but the one `after` names) whose standing `pick` accepts.
    /// A check usually ends at the first name.
    fn find_newer(
        &self,
        ns: &str,
        binding: &str,
        after: &Order,
        pick: impl Fn(Standing) -> bool,
    ) -> Option<Newer> {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner());
        let set = live.namespaces.get(ns)?.by_binding.get(binding)?;
        set.range((Bound::Excluded(after), Bound::Unbounded))
            .rev()
            .find(|((_, name), s)| *name != after.1 && s.standing.is_some_and(&pick))
            .map(|((_, name), s)| Newer {
                build: name.to_string(),
                commit: s.commit.to_string(),
            })
    }
}

/// Is `b` labelled as a Build of `binding`? A Build is a sibling of another only by spec and
/// by the label the API list selects on, so the cache answers exactly what
/// `GET …/builds?labelSelector=` would.
fn labelled_as(b: &Build, binding: &str) -> bool {
    b.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_BINDING))
        .is_some_and(|v| v == binding)
}

#[cfg(test)]
mod tests;
