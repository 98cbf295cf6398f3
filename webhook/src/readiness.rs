//! Readiness inputs, shared by the roles: the Binding watches (wiring) and the Build controllers
//! (`worker`) flip them as they sync, and the intake's `/readyz` reads them. With several
//! watched namespaces there is one Build store each, and the Builds count as synced only once
//! the last of them has.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Readiness inputs, flipped by the watches as they sync.
#[derive(Default)]
pub struct Readiness {
    pub bindings_synced: AtomicBool,
    pub builds_synced: AtomicBool,
    /// Build stores started and not synced yet.
    builds_pending: AtomicUsize,
}

impl Readiness {
    /// `n` Build stores start now; the Builds are synced once each has said so (at once when
    /// `n` is 0: an intake-only replica watches no Builds).
    pub fn expect_build_stores(&self, n: usize) {
        self.builds_pending.store(n, Ordering::SeqCst);
        if n == 0 {
            self.builds_synced.store(true, Ordering::SeqCst);
        }
    }

    /// One Build store has synced; the last one makes the Builds synced.
    pub fn build_store_synced(&self) {
        let before = self
            .builds_pending
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_sub(1))
            })
            .unwrap_or(0);
        if before <= 1 {
            self.builds_synced.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests;
