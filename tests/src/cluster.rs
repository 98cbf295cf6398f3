//! The real Kubernetes 1.20 cluster of `scripts/cluster` (real controller-manager, scheduler,
//! kubelet and containerd, built from Debian bookworm): tests whose verdict depends on what real
//! controllers and a real kubelet do run there. It is named by `MOSAIC_CLUSTER_KUBECONFIG`,
//! which `scripts/cluster up` prints. Those tests are `#[ignore]`d, so that only scripts/test's
//! cluster phase (which brings the cluster up) runs them, with `--ignored`; run there without
//! the cluster, they fail with the reason instead of skipping.

use std::path::PathBuf;

use crate::TestKube;

/// The variable naming the cluster's admin kubeconfig.
pub const KUBECONFIG_VAR: &str = "MOSAIC_CLUSTER_KUBECONFIG";

/// The cluster's admin kubeconfig, or a panic that says how to bring the cluster up.
pub fn kubeconfig() -> PathBuf {
    match std::env::var(KUBECONFIG_VAR) {
        Ok(v) if !v.is_empty() => PathBuf::from(v),
        _ => panic!(
            "the real test cluster is not up: {KUBECONFIG_VAR} is not set. Run \
             `eval \"$(scripts/cluster up)\"` first (scripts/test's cluster phase does)"
        ),
    }
}

/// Connect to the cluster and create a fresh namespace for one test.
pub async fn kube() -> TestKube {
    crate::kube_at(&kubeconfig()).await
}
