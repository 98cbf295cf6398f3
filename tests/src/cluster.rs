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

/// Connect to the cluster and create a fresh namespace for one test; panics with the reason
/// when the node cannot run pods.
pub async fn kube() -> TestKube {
    let kube = crate::kube_at(&kubeconfig()).await;
    assert_node_can_run_pods(&kube).await;
    kube
}

/// Panic with what is wrong when the cluster's node cannot run pods: not Ready, or under
/// memory, disk or PID pressure (the kubelet then taints the node and the scheduler places
/// nothing, so every test would only time out waiting for its pods).
pub async fn assert_node_can_run_pods(kube: &TestKube) {
    let problems = node_problems(kube).await;
    assert!(
        problems.is_empty(),
        "the real test cluster's node cannot run pods: {}. Free disk or memory on this \
         machine (`df -h /`), then `scripts/cluster down && scripts/cluster up`",
        problems.join("; ")
    );
}

/// Each node condition that stops pods from running, as "node NAME Type=Status: message".
pub async fn node_problems(kube: &TestKube) -> Vec<String> {
    let nodes = kube::Api::<k8s_openapi::api::core::v1::Node>::all(kube.client.clone())
        .list(&Default::default())
        .await
        .expect("list the cluster's nodes");
    problems_of(&nodes.items)
}

/// The conditions of `nodes` that stop pods from running: Ready not True, or any pressure
/// condition (MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable) True.
pub fn problems_of(nodes: &[k8s_openapi::api::core::v1::Node]) -> Vec<String> {
    let mut problems = Vec::new();
    for node in nodes {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
        for c in conditions.into_iter().flatten() {
            let bad = if c.type_ == "Ready" {
                c.status != "True"
            } else {
                c.status == "True"
            };
            if bad {
                problems.push(format!(
                    "node {name} {}={}: {}",
                    c.type_,
                    c.status,
                    c.message.as_deref().unwrap_or_default()
                ));
            }
        }
    }
    problems
}

/// What the cluster shows for namespace `ns`, for a test that timed out waiting on it: the
/// node's problems, each pod's phase and container states, and the namespace's warning Events.
pub async fn describe(kube: &TestKube, ns: &str) -> String {
    use k8s_openapi::api::core::v1::{Event, Pod};
    let mut out = String::new();
    for p in node_problems(kube).await {
        out.push_str(&format!("\n  {p}"));
    }
    let lp = kube::api::ListParams::default();
    if let Ok(pods) = kube::Api::<Pod>::namespaced(kube.client.clone(), ns)
        .list(&lp)
        .await
    {
        for pod in pods.items {
            let status = pod.status.unwrap_or_default();
            out.push_str(&format!(
                "\n  pod {} {}",
                pod.metadata.name.unwrap_or_default(),
                status.phase.unwrap_or_default()
            ));
            for c in status.container_statuses.unwrap_or_default() {
                out.push_str(&format!(
                    "\n    {} restarts={} state={}",
                    c.name,
                    c.restart_count,
                    serde_json::to_string(&c.state).unwrap_or_default()
                ));
            }
        }
    }
    if let Ok(events) = kube::Api::<Event>::namespaced(kube.client.clone(), ns)
        .list(&lp)
        .await
    {
        for e in events
            .items
            .iter()
            .filter(|e| e.type_.as_deref() == Some("Warning"))
        {
            out.push_str(&format!(
                "\n  event {} {}: {}",
                e.involved_object.name.as_deref().unwrap_or_default(),
                e.reason.as_deref().unwrap_or_default(),
                e.message.as_deref().unwrap_or_default()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
