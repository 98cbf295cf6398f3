//! `kubectl-mosaic explain` against the real test API server: a Deployment whose
//! newest ReplicaSet has one crash-looping pod and one pod that cannot pull its
//! image (statuses written through `/status`, plus matching core/v1 Events), and a
//! healthy Deployment in another namespace that must produce nothing.

use std::process::Output;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

async fn create<K>(client: &Client, ns: &str, body: Value) -> K
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let obj: K =
        serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("bad fixture {body}: {e}"));
    let created = api
        .create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create {body}: {e}"));
    if let Some(status) = body.get("status") {
        let name = created.meta().name.clone().unwrap();
        return api
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .unwrap_or_else(|e| panic!("status of {name}: {e}"));
    }
    created
}

fn uid<K: Resource>(o: &K) -> String {
    o.meta().uid.clone().expect("server sets uid")
}

fn owner(kind: &str, api_version: &str, name: &str, uid: &str) -> Value {
    json!([{"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}])
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Deployment `name` → ReplicaSet `name-<rev>` (with the revision annotation); returns the ReplicaSet's uid.
async fn deployment(client: &Client, ns: &str, name: &str, healthy: bool) -> (String, String) {
    let labels = json!({"app": name});
    let available = if healthy {
        json!({"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."})
    } else {
        json!({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."})
    };
    let replicas = if healthy { 1 } else { 2 };
    let dep: Deployment = create(client, ns, json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels, "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "example/app:2"}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "availableReplicas": if healthy { 1 } else { 0 },
            "readyReplicas": if healthy { 1 } else { 0 }, "updatedReplicas": replicas, "conditions": [available]},
    }))
    .await;
    let dep_uid = uid(&dep);
    // An older ReplicaSet scaled to zero, and the newest one.
    for (rev, count) in [("1", 0), ("2", replicas)] {
        let _: ReplicaSet = create(client, ns, json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("{name}-{rev}"), "labels": labels,
                "annotations": {"deployment.kubernetes.io/revision": rev},
                "ownerReferences": owner("Deployment", "apps/v1", name, &dep_uid)},
            "spec": {"replicas": count, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": format!("example/app:{rev}")}]}}},
            "status": {"replicas": count, "readyReplicas": if healthy { count } else { 0 }, "availableReplicas": if healthy { count } else { 0 }},
        }))
        .await;
    }
    let rs: ReplicaSet = Api::namespaced(client.clone(), ns)
        .get(&format!("{name}-2"))
        .await
        .unwrap();
    (format!("{name}-2"), uid(&rs))
}

async fn pod(
    client: &Client,
    ns: &str,
    name: &str,
    rs: (&str, &str),
    app: &str,
    image: &str,
    status: Value,
) -> String {
    let p: Pod = create(client, ns, json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}, "ownerReferences": owner("ReplicaSet", "apps/v1", rs.0, rs.1)},
        "spec": {"containers": [{"name": "app", "image": image}], "restartPolicy": "Always"},
        "status": status,
    }))
    .await;
    uid(&p)
}

async fn event(
    client: &Client,
    ns: &str,
    pod: (&str, &str),
    reason: &str,
    kind: &str,
    message: &str,
    count: i32,
) {
    let _: Event = create(client, ns, json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{}.{}", pod.0, reason.to_lowercase())},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod.0, "namespace": ns, "uid": pod.1, "fieldPath": "spec.containers{app}"},
        "reason": reason, "type": kind, "message": message, "count": count,
        "firstTimestamp": now(), "lastTimestamp": now(), "source": {"component": "kubelet"},
    }))
    .await;
}

fn explain(kubeconfig: &std::path::Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"))
        .arg("explain")
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run kubectl-mosaic")
}

fn findings(out: &Output) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["findings"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn explains_crash_loop_and_image_pull_through_the_deployment_chain() {
    let broken = mosaic_tests::kube().await;
    let (client, ns) = (&broken.client, broken.namespace.as_str());
    let (rs_name, rs_uid) = deployment(client, ns, "shop", false).await;
    let rs = (rs_name.as_str(), rs_uid.as_str());

    let crash = pod(client, ns, "shop-2-crash", rs, "shop", "example/app:2", json!({
        "phase": "Running", "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [{"name": "app", "image": "example/app:2", "imageID": "", "ready": false, "restartCount": 7,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=app pod=shop-2-crash"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now(), "finishedAt": now()}}}]})).await;
    event(
        client,
        ns,
        ("shop-2-crash", &crash),
        "BackOff",
        "Warning",
        "Back-off restarting failed container app in pod shop-2-crash",
        23,
    )
    .await;

    let image = "docker.io/library/shop-does-not-exist:2";
    let pull = pod(client, ns, "shop-2-pull", rs, "shop", image, json!({
        "phase": "Pending", "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [{"name": "app", "image": image, "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}}}]})).await;
    let failed = format!(
        "Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
    );
    event(
        client,
        ns,
        ("shop-2-pull", &pull),
        "Failed",
        "Warning",
        &failed,
        4,
    )
    .await;
    event(
        client,
        ns,
        ("shop-2-pull", &pull),
        "BackOff",
        "Normal",
        &format!("Back-off pulling image \"{image}\""),
        9,
    )
    .await;

    // A healthy Deployment in another namespace.
    let healthy = mosaic_tests::kube().await;
    let hns = healthy.namespace.as_str();
    let (hrs_name, hrs_uid) = deployment(&healthy.client, hns, "web", true).await;
    pod(&healthy.client, hns, "web-2-ok", (&hrs_name, &hrs_uid), "web", "example/app:2", json!({
        "phase": "Running", "podIP": "10.0.0.9", "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "app", "image": "example/app:2", "imageID": "", "ready": true, "restartCount": 0,
            "started": true, "state": {"running": {"startedAt": now()}}}]})).await;

    let out = explain(&broken.kubeconfig, &["deploy/shop", "-n", ns, "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "error findings exit 1; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = findings(&out);
    let on = |pod: &str| {
        found
            .iter()
            .find(|f| f["object"]["name"] == pod)
            .unwrap_or_else(|| panic!("no finding on {pod}: {found:#?}"))
    };
    let crash_f = on("shop-2-crash");
    assert!(
        crash_f["slug"]
            .as_str()
            .unwrap()
            .starts_with("pod.crash-loop"),
        "{crash_f:#}"
    );
    let pull_f = on("shop-2-pull");
    assert_eq!(
        pull_f["slug"], "pod.image-pull.not-found",
        "the cause survives in the Failed event: {pull_f:#}"
    );
    for f in [crash_f, pull_f] {
        let chain: Vec<String> = f["chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}/{}",
                    c["kind"].as_str().unwrap(),
                    c["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            chain[..2],
            [
                "Deployment/shop".to_string(),
                "ReplicaSet/shop-2".to_string()
            ],
            "{chain:?}"
        );
        assert_eq!(f["object"]["namespace"], ns);
    }
    assert!(
        crash_f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "BackOff" && e["count"] == 23),
        "{crash_f:#}"
    );
    assert!(
        !found.iter().any(|f| f["slug"] == "deployment.unavailable"),
        "the symptom is folded into its causes: {found:#?}"
    );

    // Text output for a human, same run.
    let text = explain(&broken.kubeconfig, &["deploy/shop", "-n", ns]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("chain: Deployment/shop → ReplicaSet/shop-2 → Pod/shop-2-crash"),
        "{stdout}"
    );

    // Whole namespace, no target: the same causes.
    let all = findings(&explain(&broken.kubeconfig, &["-n", ns, "-o", "json"]));
    assert!(
        all.iter().any(|f| f["object"]["name"] == "shop-2-pull"),
        "{all:#?}"
    );

    let ok = explain(
        &healthy.kubeconfig,
        &["deploy/web", "-n", hns, "-o", "json"],
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(findings(&ok), Vec::<Value>::new());
    assert!(String::from_utf8_lossy(&ok.stderr).contains("No problems found."));
    let ns_ok = explain(&healthy.kubeconfig, &["-n", hns, "-o", "json"]);
    assert_eq!(
        findings(&ns_ok),
        Vec::<Value>::new(),
        "stderr: {}",
        String::from_utf8_lossy(&ns_ok.stderr)
    );

    let missing = explain(&broken.kubeconfig, &["deploy/nope", "-n", ns]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("deployments.apps \"nope\" not found"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
