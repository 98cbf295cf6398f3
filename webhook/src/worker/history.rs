//! Bounded history on the API server: once Builds have ended, the builder that ended them
//! deletes their Binding's older finished Builds beyond its limits (`spec.history`, else
//! `--history-succeeded`/`--history-failed`; the choice is `mosaic_core::history`).
//!
//! Decided from the watch caches the worker already keeps (the Build controllers' sibling index, which keeps a few fields of every Build, and
//! the Binding reflectors), not from a list per ended Build: under a backlog that list grew with
//! the backlog and cost every ended Build a label-selected list of all its siblings (finding 19,
//! docs/reliability.md). A prune runs in the background once the Build cache shows the ends it
//! is for (so the last end of a burst sees every earlier one, and the bound holds exactly once
//! the Builds settle), coalescing the ends of one Binding that come meanwhile; it asks the API
//! server nothing unless the Binding is over its bound, and then reads the Binding once (its
//! deployed Build and limits as they are now) and deletes what is over. Best effort: a Build
//! that cannot be deleted now is logged, and goes at the next prune.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{Api, DeleteParams};
use kube::runtime::reflector::{ObjectRef, Store};
use mosaic_core::history;
use mosaic_core::resources::{Binding, Build};
use tokio_util::sync::CancellationToken;

use crate::pipeline::Ctx;
use crate::pipeline::latest::BuildCache;

/// How long a prune waits for the Build cache to show the ends it is for, before it decides on
/// what the cache shows (a later end prunes again).
const CATCH_UP: Duration = Duration::from_secs(10);

/// A (namespace, Binding).
type Key = (String, String);

/// The history pruner of one worker.
pub struct Pruner {
    client: kube::Client,
    builds: BuildCache,
    bindings: Vec<Store<Binding>>,
    keep: history::Defaults,
    shutdown: CancellationToken,
    /// Per Binding with a prune on its way: the Builds that ended here since it was asked for,
    /// which the Build cache must show ended (or gone) before it decides.
    pending: Mutex<HashMap<Key, Vec<String>>>,
}

impl Pruner {
    /// A pruner over `ctx`'s Build cache and the Binding caches `bindings` (a Binding missing
    /// from them is read from the API server).
    pub fn new(ctx: &Ctx, bindings: Vec<Store<Binding>>) -> Self {
        Pruner {
            client: ctx.client.clone(),
            builds: ctx.builds.clone(),
            bindings,
            keep: ctx.limits.keep,
            shutdown: ctx.shutdown.clone(),
            pending: Mutex::default(),
        }
    }

    /// `build` has just ended (its terminal status is written): prune its Binding once the
    /// Build cache shows that, in the background. Ends of the same Binding that come before
    /// that prune starts join it.
    pub fn ended(self: &Arc<Self>, build: &Build) {
        let (Some(ns), Some(name)) = (&build.metadata.namespace, &build.metadata.name) else {
            return;
        };
        let key = (ns.clone(), build.spec.binding.clone());
        match self.lock().entry(key.clone()) {
            Entry::Occupied(mut waiting) => {
                waiting.get_mut().push(name.clone());
                return;
            }
            Entry::Vacant(new) => {
                new.insert(vec![name.clone()]);
            }
        }
        let me = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = me.prune(key) => {}
                () = me.shutdown.cancelled() => {}
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<String>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the ends waiting for `key` once the cache shows every one of them ended or gone.
    fn take_when_shown(&self, key: &Key, cache: &BuildCache) -> bool {
        let mut pending = self.lock();
        let shown = pending
            .get(key)
            .is_none_or(|names| names.iter().all(|name| cache.ended_or_gone(&key.0, name)));
        if shown {
            pending.remove(key);
        }
        shown
    }

    async fn prune(&self, key: Key) {
        if !self
            .builds
            .until(|cache| self.take_when_shown(&key, cache), CATCH_UP)
            .await
        {
            self.lock().remove(&key);
            tracing::debug!(namespace = %key.0, binding = %key.1, "history: the Build cache is behind; deciding on what it shows");
        }
        let (ns, binding) = (&key.0, &key.1);
        let builds = self.builds.history_of(ns, binding);
        if builds.is_empty() {
            return;
        }
        let cached = self.cached_binding(ns, binding);
        if let Some(b) = &cached {
            let limits = history::limits(b.spec.history.as_ref(), self.keep);
            if history::to_delete(Some(b), &builds, limits).is_empty() {
                return;
            }
        }
        // Over the bound (or the Binding is not cached): decide on the Binding as the API
        // server has it now, so a cache behind it never deletes what the Binding just deployed.
        let found = match Api::<Binding>::namespaced(self.client.clone(), ns)
            .get_opt(binding)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(namespace = %ns, binding = %binding, error = %e, "history: cannot read the Binding");
                return;
            }
        };
        let limits = history::limits(
            found.as_ref().and_then(|b| b.spec.history.as_ref()),
            self.keep,
        );
        let api = Api::<Build>::namespaced(self.client.clone(), ns);
        for name in history::to_delete(found.as_ref(), &builds, limits) {
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => {
                    tracing::info!(namespace = %ns, build = %name, "history: deleted an old Build")
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => {
                    tracing::warn!(namespace = %ns, build = %name, error = %e, "history: cannot delete an old Build")
                }
            }
        }
    }

    fn cached_binding(&self, ns: &str, name: &str) -> Option<Arc<Binding>> {
        let key = ObjectRef::new(name).within(ns);
        self.bindings.iter().find_map(|s| s.get(&key))
    }
}
