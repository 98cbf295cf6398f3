//! The node check of the real-cluster tests, on Node objects shaped as the kubelet writes them.

use super::problems_of;

/// A node as the kubelet reports it, with `disk` as its DiskPressure status.
fn node(ready: &str, disk: &str) -> k8s_openapi::api::core::v1::Node {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "mosaic-node"},
        "status": {"conditions": [
            {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
             "message": "kubelet has sufficient memory available"},
            {"type": "DiskPressure", "status": disk, "reason": "KubeletHasDiskPressure",
             "message": "kubelet has disk pressure"},
            {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
             "message": "kubelet has sufficient PID available"},
            {"type": "Ready", "status": ready, "reason": "KubeletReady",
             "message": "kubelet is posting ready status"}
        ]}
    }))
    .unwrap()
}

#[test]
fn a_healthy_node_has_no_problem_and_pressure_or_not_ready_is_named() {
    assert!(problems_of(&[node("True", "False")]).is_empty());
    assert_eq!(
        problems_of(&[node("True", "True")]),
        ["node mosaic-node DiskPressure=True: kubelet has disk pressure"]
    );
    assert_eq!(
        problems_of(&[node("Unknown", "False")]),
        ["node mosaic-node Ready=Unknown: kubelet is posting ready status"]
    );
}
