//! Readiness inputs, shared by the roles: the Binding watches (wiring) and the Build controllers
//! (`worker`) flip them as they sync, and the intake's `/readyz` reads them.

use std::sync::atomic::AtomicBool;

/// Readiness inputs, flipped by the watches as they sync.
#[derive(Default)]
pub struct Readiness {
    pub bindings_synced: AtomicBool,
    pub builds_synced: AtomicBool,
}
