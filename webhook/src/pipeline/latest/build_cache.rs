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

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::Event;
use mosaic_core::names::LABEL_BINDING;
use mosaic_core::resources::Build;

use super::order::{order_key, supersedes};

/// The Build caches of every controller this process runs (one per watched namespace, or one
/// for all namespaces), each with its sibling index. Empty until the controllers start; then
/// [`BuildCache::newer`] answers from memory.
#[derive(Clone, Default)]
pub struct BuildCache {
    caches: Arc<RwLock<Vec<Cached>>>,
}

/// One controller's store and its sibling index.
type Cached = (Store<Build>, Arc<SiblingIndex>);

impl BuildCache {
    /// Add one controller's store; feed the returned index the same watch events as the store.
    pub fn add(&self, store: Store<Build>) -> Arc<SiblingIndex> {
        let index = Arc::new(SiblingIndex::default());
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
mod tests {
    use super::*;
    use kube::runtime::reflector::{store, store::Writer};
    use mosaic_core::names::ANNOTATION_PUSHED_AT;
    use mosaic_core::resources::BuildPhase;

    /// A Build of `binding` pushed `at` seconds into the day, in `phase` (Pending when `None`).
    fn build(ns: &str, name: &str, binding: &str, at: u32, phase: Option<BuildPhase>) -> Build {
        let mut b: Build = serde_json::from_value(serde_json::json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
            "metadata": {"name": name, "namespace": ns,
                "labels": {LABEL_BINDING: binding},
                "annotations": {ANNOTATION_PUSHED_AT:
                    format!("2026-12-03T{:02}:{:02}:{:02}Z", at / 3600 % 24, at / 60 % 60, at % 60)}},
            "spec": {"binding": binding, "commit": "a".repeat(40), "ref": "refs/heads/main",
                "trigger": {"type": "manual", "user": "t"}}
        }))
        .expect("a valid Build");
        if let Some(phase) = phase {
            b.status = Some(mosaic_core::resources::BuildStatus {
                phase,
                ..Default::default()
            });
        }
        b
    }

    struct Cache {
        cache: BuildCache,
        writer: Writer<Build>,
        index: Arc<SiblingIndex>,
    }

    impl Cache {
        fn new() -> Self {
            let (reader, writer) = store::<Build>();
            let cache = BuildCache::default();
            let index = cache.add(reader);
            Cache {
                cache,
                writer,
                index,
            }
        }

        fn event(&mut self, e: Event<Build>) {
            self.writer.apply_watcher_event(&e);
            self.index.apply(&e);
        }

        fn list(&mut self, builds: Vec<Build>) {
            self.event(Event::Init);
            for b in builds {
                self.event(Event::InitApply(b));
            }
            self.event(Event::InitDone);
        }

        fn newer(&self, b: &Build) -> Option<String> {
            self.cache
                .newer(b)
                .expect("the cache covers its own Build")
                .and_then(|n| n.metadata.name.clone())
        }

        /// What a full scan of the cache answers (the check before the index).
        fn scanned(&self, b: &Build) -> Option<String> {
            let (store, _) = self.cache.caches.read().unwrap()[0].clone();
            let siblings: Vec<Arc<Build>> = store.state_filter(|s| {
                s.metadata.namespace == b.metadata.namespace && same_binding(s, b)
            });
            crate::pipeline::latest::newer_build(b, &siblings).and_then(|n| n.metadata.name.clone())
        }
    }

    #[test]
    fn newer_is_the_newest_sibling_that_still_counts() {
        let mut c = Cache::new();
        let me = build("a", "web-1", "web", 10, None);
        c.list(vec![
            me.clone(),
            build("a", "web-2", "web", 20, Some(BuildPhase::Building)),
            build("a", "web-3", "web", 30, Some(BuildPhase::Superseded)),
            build("a", "web-4", "web", 40, Some(BuildPhase::Failed)),
            build("a", "api-9", "api", 90, None),
            build("b", "web-9", "web", 90, None),
        ]);
        assert_eq!(c.newer(&me).as_deref(), Some("web-2"));
        // The newest counts once it is Succeeded; a Build is never newer than itself.
        c.event(Event::Apply(build(
            "a",
            "web-4",
            "web",
            40,
            Some(BuildPhase::Succeeded),
        )));
        assert_eq!(c.newer(&me).as_deref(), Some("web-4"));
        assert_eq!(c.newer(&build("a", "web-4", "web", 40, None)), None);
        // Deleted, it is gone from the answer.
        c.event(Event::Delete(build("a", "web-4", "web", 40, None)));
        assert_eq!(c.newer(&me).as_deref(), Some("web-2"));
        // A Build labelled for another Binding is not a sibling, whatever its spec says.
        let mut mislabelled = build("a", "web-5", "web", 50, None);
        mislabelled
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(LABEL_BINDING.into(), "api".into());
        c.event(Event::Apply(mislabelled));
        assert_eq!(c.newer(&me).as_deref(), Some("web-2"));
    }

    #[test]
    fn the_index_answers_what_a_full_scan_of_the_cache_answers() {
        // A deterministic mix of creates, updates (phase, push time), deletes and relists over
        // two namespaces and two Bindings, with equal push times (the name decides).
        let mut c = Cache::new();
        let mut seed: u64 = 0x5eed;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let phases = [
            None,
            Some(BuildPhase::Building),
            Some(BuildPhase::Superseded),
            Some(BuildPhase::Failed),
            Some(BuildPhase::Succeeded),
            Some(BuildPhase::Cancelled),
        ];
        let mut all: HashMap<(String, String), Build> = HashMap::new();
        for step in 0..600 {
            let ns = ["a", "b"][next(2) as usize];
            let binding = ["web", "api"][next(2) as usize];
            let name = format!("{binding}-{}", next(40));
            let mut b = build(
                ns,
                &name,
                binding,
                next(30) as u32,
                phases[next(6) as usize],
            );
            if b.status
                .as_ref()
                .is_some_and(|s| s.phase == BuildPhase::Failed)
                && next(2) == 0
            {
                b.status.as_mut().unwrap().phase_times.rolling_out =
                    Some(crate::cluster::claim::now_time());
            }
            // The name fixes the Binding: an update keeps it, as on the API server.
            let key = (ns.to_owned(), name.clone());
            if let Some(old) = all.get(&key) {
                b.spec.binding = old.spec.binding.clone();
                b.metadata.labels = old.metadata.labels.clone();
            }
            match next(10) {
                0 => {
                    if let Some(old) = all.remove(&key) {
                        c.event(Event::Delete(old));
                    }
                }
                1 if step % 50 == 0 => {
                    all.insert(key, b);
                    c.list(all.values().cloned().collect());
                }
                _ => {
                    all.insert(key, b.clone());
                    c.event(Event::Apply(b));
                }
            }
            for b in all.values() {
                assert_eq!(
                    c.newer(b),
                    c.scanned(b),
                    "step {step}, {:?}",
                    b.metadata.name
                );
            }
        }
    }

    #[test]
    fn a_relist_replaces_the_whole_index() {
        let mut c = Cache::new();
        c.list(
            (0..50)
                .map(|i| build("a", &format!("web-{i}"), "web", i, None))
                .collect(),
        );
        c.list(vec![build("a", "web-7", "web", 7, None)]);
        let live = c.index.live.read().unwrap();
        assert_eq!(live.filed.len(), 1);
        assert_eq!(
            live.by_binding.values().map(BTreeSet::len).sum::<usize>(),
            1
        );
    }

    #[test]
    fn a_build_the_cache_has_not_seen_falls_back_to_the_api() {
        let mut c = Cache::new();
        c.list(vec![build("a", "web-1", "web", 1, None)]);
        assert!(
            c.cache
                .newer(&build("a", "web-2", "web", 2, None))
                .is_none()
        );
        assert!(
            BuildCache::default()
                .newer(&build("a", "web-1", "web", 1, None))
                .is_none()
        );
    }
}
