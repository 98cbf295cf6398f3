//! The worker's view of sibling Builds for latest-wins checks: read from the Build
//! controllers' watch caches, so a run that is superseded (most of them, when pushes come
//! quickly) never asks the API server to list (and serialise) every Build of its Binding. With
//! thousands of Builds per Binding that list made each run cost megabytes of JSON and capped
//! the whole server's throughput (issue 7's load drill).
//!
//! Each cache has an index beside it, fed from the same watch events: per namespace and
//! Binding, the Builds' names in latest-wins order. A check walks it from the newest push down
//! and stops at the first newer Build that still counts, reading that Build's current state
//! from the cache. Scanning the whole cache instead cost about a quarter of the webhook's CPU at
//! 200 pushes/s with thousands of Builds per Binding (`perf`, docs/benchmarks.md).
//!
//! A cache lags the API server, by seconds when the controller is busy (seen in the replicas
//! drill). So it may only say "superseded": a newer Build it shows exists. "Not superseded"
//! is confirmed against the API server (`check_latest`), and the rollout's guarded
//! apply (`rollout::apply`) reads the API server too.
//!
//! The bounded history (`worker::history`) reads a Binding's Builds from here too, and waits
//! here (`until`) for the cache to show the ends it decides on.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::Event;
use mosaic_core::names::LABEL_BINDING;
use mosaic_core::resources::Build;

use super::order::{order_key, supersedes};

/// The Build caches of every controller this process runs (one per watched namespace, or one
/// for all namespaces), each with its sibling index. Empty until the controllers start; then
/// [`BuildCache::newer`] answers from memory.
#[derive(Clone)]
pub struct BuildCache {
    caches: Arc<RwLock<Vec<Cached>>>,
    /// Told after every watch event any cache applied.
    changed: Arc<tokio::sync::watch::Sender<()>>,
}

impl Default for BuildCache {
    fn default() -> Self {
        BuildCache {
            caches: Default::default(),
            changed: Arc::new(tokio::sync::watch::Sender::new(())),
        }
    }
}

/// One controller's store and its sibling index.
type Cached = (Store<Build>, Arc<SiblingIndex>);

impl BuildCache {
    /// Add one controller's store; feed the returned index the same watch events as the store.
    pub fn add(&self, store: Store<Build>) -> Arc<SiblingIndex> {
        let index = Arc::new(SiblingIndex {
            changed: Some(self.changed.clone()),
            ..Default::default()
        });
        self.caches
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((store, index.clone()));
        index
    }

    /// Latest wins, from memory: `Some(Some(newer))` when the cache shows a Build of the same
    /// Binding pushed after `build` that still counts, `Some(None)` when it shows none, and
    /// `None` when no started cache covers `build` yet (the caller then asks the API server).
    pub fn newer(&self, build: &Build) -> Option<Option<Arc<Build>>> {
        self.newer_where(build, supersedes)
    }

    /// As [`BuildCache::newer`], for the newest later Build of the same Binding that `pick`
    /// accepts (given that Build and `build`), e.g. one that reached the Deployment.
    pub fn newer_where(
        &self,
        build: &Build,
        pick: impl Fn(&Build, &Build) -> bool,
    ) -> Option<Option<Arc<Build>>> {
        let caches = self
            .caches
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let me = ObjectRef::from_obj(build);
        let (store, index) = caches.iter().find(|(s, _)| s.get(&me).is_some())?;
        let ns = build.metadata.namespace.as_deref().unwrap_or_default();
        Some(
            index.find_newer(ns, &build.spec.binding, &order(build), |name| {
                store
                    .get(&ObjectRef::new(name).within(ns))
                    .filter(|b| same_binding(b, build) && pick(b, build))
            }),
        )
    }

    /// Every cached Build of Binding `binding` in namespace `ns` (labelled and specified for
    /// it, as the API server's label-selected list answers), in no particular order.
    pub fn of_binding(&self, ns: &str, binding: &str) -> Vec<Arc<Build>> {
        let caches = self
            .caches
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = Vec::new();
        for (store, index) in caches.iter() {
            out.extend(
                index
                    .names(ns, binding)
                    .into_iter()
                    .filter_map(|name| store.get(&ObjectRef::new(&name).within(ns)))
                    .filter(|b| b.spec.binding == binding && labelled_as(b, binding)),
            );
        }
        out
    }

    /// Build `name` in `ns` as a cache has it, if any does.
    pub fn get(&self, ns: &str, name: &str) -> Option<Arc<Build>> {
        let caches = self
            .caches
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = ObjectRef::new(name).within(ns);
        caches.iter().find_map(|(store, _)| store.get(&key))
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

/// A Build's place in latest-wins order (see `order_key`).
type Order = (Option<DateTime<Utc>>, String);

fn order(b: &Build) -> Order {
    let (at, name) = order_key(b);
    (at, name.unwrap_or_default())
}

/// Per (namespace, Binding): the Builds in latest-wins order. Only Builds whose Binding label
/// matches their spec are indexed, as only those are siblings (see [`same_binding`]).
#[derive(Default)]
struct Siblings {
    by_binding: HashMap<(String, String), BTreeSet<Order>>,
    /// Where each Build is filed, so an update or a delete finds it: (namespace, name) →
    /// (Binding, order).
    filed: HashMap<(String, String), (String, Order)>,
}

impl Siblings {
    fn remove(&mut self, ns: &str, name: &str) {
        if let Some((binding, order)) = self.filed.remove(&(ns.to_owned(), name.to_owned()))
            && let Some(set) = self.by_binding.get_mut(&(ns.to_owned(), binding.clone()))
        {
            set.remove(&order);
            if set.is_empty() {
                self.by_binding.remove(&(ns.to_owned(), binding));
            }
        }
    }

    fn put(&mut self, b: &Build) {
        let (Some(ns), Some(name)) = (&b.metadata.namespace, &b.metadata.name) else {
            return;
        };
        self.remove(ns, name);
        if !labelled_as(b, &b.spec.binding) {
            return;
        }
        let order = order(b);
        self.by_binding
            .entry((ns.clone(), b.spec.binding.clone()))
            .or_default()
            .insert(order.clone());
        self.filed
            .insert((ns.clone(), name.clone()), (b.spec.binding.clone(), order));
    }
}

/// One cache's sibling index, fed from its watcher's events the way the store is: a relist
/// (`Init` … `InitDone`) builds a new index that replaces the old one when it is complete.
#[derive(Default)]
pub struct SiblingIndex {
    live: RwLock<Siblings>,
    relist: Mutex<Option<Siblings>>,
    /// Told after each event (see [`BuildCache::until`]).
    changed: Option<Arc<tokio::sync::watch::Sender<()>>>,
}

impl SiblingIndex {
    /// Apply one watch event (after the store has applied it).
    pub fn apply(&self, event: &Event<Build>) {
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
        drop(relist);
        if let Some(changed) = &self.changed {
            changed.send_replace(());
        }
    }

    /// The names of the Builds filed under `binding` in `ns`.
    fn names(&self, ns: &str, binding: &str) -> Vec<String> {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner());
        live.by_binding
            .get(&(ns.to_owned(), binding.to_owned()))
            .map(|set| set.iter().map(|(_, name)| name.clone()).collect())
            .unwrap_or_default()
    }

    /// Walk the Builds of `binding` in `ns` filed after `after` in latest-wins order, newest
    /// first, and return the first that `pick` accepts. A check usually ends at the first name;
    /// its cost is the number of newer Builds that no longer count, not the Binding's history.
    fn find_newer<R>(
        &self,
        ns: &str,
        binding: &str,
        after: &Order,
        mut pick: impl FnMut(&str) -> Option<R>,
    ) -> Option<R> {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner());
        let set = live.by_binding.get(&(ns.to_owned(), binding.to_owned()))?;
        set.range((Bound::Excluded(after), Bound::Unbounded))
            .rev()
            .find_map(|(_, name)| pick(name))
    }
}

/// The same Binding: by spec, and by the label the API list selects on, so the cache answers
/// exactly what `GET …/builds?labelSelector=` would.
fn same_binding(b: &Build, of: &Build) -> bool {
    b.spec.binding == of.spec.binding && labelled_as(b, &of.spec.binding)
}

fn labelled_as(b: &Build, binding: &str) -> bool {
    b.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_BINDING))
        .is_some_and(|v| v == binding)
}

#[cfg(test)]
mod tests;
