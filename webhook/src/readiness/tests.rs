use std::sync::atomic::Ordering;

use super::Readiness;

#[test]
fn builds_are_synced_only_once_every_namespace_store_has_synced() {
    let r = Readiness::default();
    r.expect_build_stores(3);
    r.build_store_synced();
    r.build_store_synced();
    assert!(!r.builds_synced.load(Ordering::SeqCst));
    r.build_store_synced();
    assert!(r.builds_synced.load(Ordering::SeqCst));
}

#[test]
fn an_intake_only_replica_has_no_build_store_to_wait_for() {
    let r = Readiness::default();
    assert!(!r.builds_synced.load(Ordering::SeqCst));
    r.expect_build_stores(0);
    assert!(r.builds_synced.load(Ordering::SeqCst));
}
