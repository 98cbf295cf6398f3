//! Live Node scope on the real test API server: with `-n NS`, a pod the scheduler
//! could not place names no node, so explain reads every Node and names the taint
//! and the cordon that keep the pod off them (scheduler 1.36 wording: "had
//! untolerated taint(s)", with no taint named). `explain node/NAME` names the pods
//! its cordon leaves Pending.

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn explain(kubeconfig: &std::path::Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"))
        .arg("explain")
        .args(args)
        .args(["-o", "json"])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run kubectl-mosaic");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (out.status.code(), v, stderr)
}

fn summaries(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{} {}",
                f["slug"].as_str().unwrap_or(""),
                f["summary"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test]
async fn unschedulable_pod_reads_every_node_and_names_taint_and_cordon() {
    let k = mosaic_tests::kube().await;
    let ns = k.namespace.as_str();
    let nodes: Api<Node> = Api::all(k.client.clone());
    let (cp, worker) = (format!("{ns}-cp"), format!("{ns}-w1"));
    for (name, spec) in [
        (
            &cp,
            json!({"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}),
        ),
        (
            &worker,
            json!({"unschedulable": true, "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]}),
        ),
    ] {
        let n: Node = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name}, "spec": spec}))
        .unwrap();
        nodes.create(&PostParams::default(), &n).await.unwrap();
        nodes
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"status": {"conditions": [{"type": "Ready", "status": "True",
                    "reason": "KubeletReady", "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": chrono::Utc::now().to_rfc3339()}]}}),
                ),
            )
            .await
            .unwrap();
    }
    let pods: Api<Pod> = Api::namespaced(k.client.clone(), ns);
    let p: Pod = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "api"},
        "spec": {"containers": [{"name": "app", "image": "example/app:1"}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    pods.patch_status("api", &PatchParams::default(), &Patch::Merge(json!({"status": {
        "phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "lastTransitionTime": chrono::Utc::now().to_rfc3339(),
            "message": "0/2 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."}]}})))
        .await
        .unwrap();

    let (code, v, stderr) = explain(&k.kubeconfig, &["pod/api", "-n", ns]);
    assert_eq!(code, Some(1), "{stderr}");
    let s = summaries(&v);
    assert!(
        s.iter().any(|x| x.starts_with("pod.unschedulable.taints")
            && x.contains("node-role.kubernetes.io/control-plane:NoSchedule")),
        "the taint is read from the Node: {s:#?}"
    );
    assert!(
        s.iter()
            .any(|x| x.starts_with("pod.unschedulable.nodes-cordoned") && x.contains(&worker)),
        "the cordoned node is named: {s:#?}"
    );
    assert!(
        !s.iter().any(|x| x.starts_with("node.")),
        "the nodes are context for the pod, not findings of its own: {s:#?}"
    );

    // From the node's side: its cordon leaves the pod Pending.
    let (_, v, stderr) = explain(&k.kubeconfig, &[&format!("node/{worker}")]);
    let s = summaries(&v);
    assert!(
        s.iter()
            .any(|x| x.starts_with("node.cordoned") && x.contains("Pending because of it")),
        "{s:#?}; stderr: {stderr}"
    );
    assert!(
        v.to_string().contains(&format!("{ns}/api")),
        "the pending pod is named: {v:#}"
    );

    let _ = pods.delete("api", &DeleteParams::default()).await;
    for n in [&cp, &worker] {
        let _ = nodes.delete(n, &DeleteParams::default()).await;
    }
}
