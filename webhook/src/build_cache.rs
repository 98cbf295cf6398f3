//! The worker's view of sibling Builds for latest-wins checks: read from the Build
//! controllers' watch caches, so a run that is superseded (most of them, when pushes come
//! quickly) never asks the API server to list (and serialise) every Build of its Binding. With
//! thousands of Builds per Binding that list made each run cost megabytes of JSON and capped
//! the whole server's throughput (issue 7's load drill).
//!
//! A cache lags the API server, by seconds when the controller is busy (seen in the replicas
//! drill). So it may only say "superseded": a newer Build it shows exists. "Not superseded"
//! is confirmed against the API server (`pipeline::check_latest`), and the rollout's guarded
//! apply (`rollout.rs`) reads the API server too.

use std::sync::{Arc, RwLock};

use kube::runtime::reflector::{ObjectRef, Store};
use mosaic_core::names::LABEL_BINDING;
use mosaic_core::resources::Build;

/// The Build caches of every controller this process runs (one per watched namespace, or one
/// for all namespaces). Empty until the controllers start; then [`BuildCache::siblings`]
/// answers from memory.
#[derive(Clone, Default)]
pub struct BuildCache {
    stores: Arc<RwLock<Vec<Store<Build>>>>,
}

impl BuildCache {
    /// Add one controller's store.
    pub fn add(&self, store: Store<Build>) {
        self.stores
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(store);
    }

    /// The Builds of `build`'s Binding in its namespace, or `None` when no started cache
    /// covers it yet (the caller then asks the API server). Shared, not copied: a Binding can
    /// have thousands of Builds, and this runs for every Build a worker picks up.
    pub fn siblings(&self, build: &Build) -> Option<Vec<Arc<Build>>> {
        let stores = self
            .stores
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let me = ObjectRef::from_obj(build);
        let covering = stores.iter().find(|s| s.get(&me).is_some())?;
        let ns = build.metadata.namespace.as_deref();
        Some(
            covering
                .state_filter(|b| b.metadata.namespace.as_deref() == ns && same_binding(b, build)),
        )
    }
}

/// The same Binding: by spec, and by the label the API list selects on, so the cache answers
/// exactly what `GET …/builds?labelSelector=` would.
fn same_binding(b: &Build, of: &Build) -> bool {
    b.spec.binding == of.spec.binding
        && b.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_BINDING))
            .is_some_and(|v| *v == of.spec.binding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::reflector::store;
    use kube::runtime::watcher::Event;

    fn build(ns: &str, name: &str, binding: &str) -> Build {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
            "metadata": {"name": name, "namespace": ns,
                "labels": {LABEL_BINDING: binding}},
            "spec": {"binding": binding, "commit": "a".repeat(40), "ref": "refs/heads/main",
                "trigger": {"type": "manual", "user": "t"}}
        }))
        .expect("a valid Build")
    }

    fn cache_with(builds: Vec<Build>) -> BuildCache {
        let (reader, mut writer) = store::<Build>();
        writer.apply_watcher_event(&Event::Init);
        for b in builds {
            writer.apply_watcher_event(&Event::InitApply(b));
        }
        writer.apply_watcher_event(&Event::InitDone);
        let cache = BuildCache::default();
        cache.add(reader);
        cache
    }

    #[test]
    fn siblings_are_the_same_binding_in_the_same_namespace() {
        let me = build("a", "web-1", "web");
        let cache = cache_with(vec![
            me.clone(),
            build("a", "web-2", "web"),
            build("a", "api-1", "api"),
            build("b", "web-9", "web"),
        ]);
        let mut names: Vec<_> = cache
            .siblings(&me)
            .expect("the cache covers its own Build")
            .into_iter()
            .filter_map(|b| b.metadata.name.clone())
            .collect();
        names.sort();
        assert_eq!(names, ["web-1", "web-2"]);
    }

    #[test]
    fn a_build_the_cache_has_not_seen_falls_back_to_the_api() {
        let cache = cache_with(vec![build("a", "web-1", "web")]);
        assert!(cache.siblings(&build("a", "web-2", "web")).is_none());
        assert!(
            BuildCache::default()
                .siblings(&build("a", "web-1", "web"))
                .is_none()
        );
    }
}
