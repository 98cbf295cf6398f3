//! `kubectl mosaic explain svc/NAME --probe` on the real cluster of `scripts/cluster` (a real
//! kubelet starts the probe pod; no kube-proxy and no cluster DNS there, so the pods are reached
//! directly on the node's bridge). The probe image is made without Docker Hub by
//! `scripts/probe-image` (Debian's curl and a static busybox, `FROM scratch`, pushed into the
//! stack's registry) and pulled with the namespace's default ServiceAccount's imagePullSecret, as
//! an air-gapped cluster would; the same image serves HTTP as the app. A Service whose targetPort
//! is wrong gets `service.target-port-mismatch`, made certain by the probe's evidence (the pod
//! does not answer on the target port but does on the port it declares); a Service whose
//! targetPort is right gets no such finding, and the probe shows its pod answering. No probe
//! pod is left. `#[ignore]`d: scripts/test's cluster phase runs it with `--ignored`.

use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Secret, Service, ServiceAccount};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const LABEL: &str = "mosaic.nectar.dev/probe";

/// Build and push the probe image (cached by content); its name as the node pulls it.
fn probe_image() -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/probe-image");
    let out = Command::new(&script)
        .envs(mosaic_tests::stack_vars())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scripts/probe-image failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("export MOSAIC_CLUSTER_PROBE_IMAGE="))
        .unwrap_or_else(|| panic!("scripts/probe-image printed no image: {stdout}"))
        .to_string()
}

async fn create<K>(client: &kube::Client, ns: &str, v: Value)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let obj: K = serde_json::from_value(v).unwrap();
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", K::kind(&Default::default())));
}

#[tokio::test]
#[ignore = "needs the real cluster: eval \"$(scripts/cluster up)\"; run by scripts/test's cluster phase"]
async fn cluster_probe_makes_a_wrong_target_port_certain_and_passes_a_right_one() {
    let image = probe_image();
    let k = mosaic_tests::cluster::kube().await;
    let (client, ns) = (k.client.clone(), k.namespace.as_str());

    // Pull credentials on the default ServiceAccount: the probe pod names none of its own.
    let reg = mosaic_tests::registry();
    let host = image.split('/').next().unwrap().to_string();
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let auth = b64(&format!("{}:{}", reg.user, reg.password));
    let dockercfg = json!({"auths": {host: {"auth": auth}}}).to_string();
    create::<Secret>(
        &client,
        ns,
        json!({"metadata": {"name": "registry"}, "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": b64(&dockercfg)}}),
    )
    .await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    mosaic_tests::eventually("the namespace's default ServiceAccount", 30, || {
        let sas = sas.clone();
        async move { sas.get_opt("default").await.ok().flatten() }
    })
    .await;
    sas.patch(
        "default",
        &PatchParams::default(),
        &Patch::Merge(json!({"imagePullSecrets": [{"name": "registry"}]})),
    )
    .await
    .unwrap();

    // The app: busybox httpd on 8080 (declared), Ready when it answers.
    create::<Deployment>(
        &client,
        ns,
        json!({"metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"terminationGracePeriodSeconds": 1, "enableServiceLinks": false,
                        "containers": [{"name": "app", "image": image,
                            "command": ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"],
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}}]}}}}),
    )
    .await;
    for (name, target) in [("right", 8080), ("wrong", 9090)] {
        create::<Service>(
            &client,
            ns,
            json!({"metadata": {"name": name},
                "spec": {"selector": {"app": "web"},
                    "ports": [{"name": "http", "port": 80, "targetPort": target}]}}),
        )
        .await;
    }
    let eps: Api<Endpoints> = Api::namespaced(client.clone(), ns);
    let pod_ip = mosaic_tests::eventually("a ready endpoint behind Service wrong", 180, || {
        let eps = eps.clone();
        async move {
            let ep = eps.get_opt("wrong").await.ok().flatten()?;
            let ip = ep.subsets?.first()?.addresses.as_ref()?.first()?.ip.clone();
            let right = eps.get_opt("right").await.ok().flatten()?;
            right.subsets?.first()?.addresses.as_ref()?.first()?;
            Some(ip)
        }
    })
    .await;

    // The wrong targetPort: certain, from the probe's evidence.
    let out = mosaic_tests::webhook::explain_at(
        &k.kubeconfig,
        &[
            "svc/wrong",
            "-n",
            ns,
            "--probe",
            "--probe-image",
            &image,
            "--probe-timeout",
            "150s",
            "-o",
            "json",
            "--fail-on",
            "never",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("explain's stdout is not JSON ({e}); stderr: {stderr}"));
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let f = findings
        .iter()
        .find(|f| f["slug"] == "service.target-port-mismatch")
        .unwrap_or_else(|| panic!("no target-port finding: {report:#}\n{stderr}"));
    assert_eq!(f["object"]["name"], "wrong", "{f:#}");
    assert_eq!(f["confidence"], "certain", "{f:#}\n{stderr}");
    let notes: Vec<&str> = f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["note"].as_str())
        .collect();
    let answered_elsewhere = format!(
        "probe: the pods do not answer on the Service's target port, but one answers at http://{pod_ip}:8080/: the targetPort is wrong"
    );
    assert!(
        notes.contains(&answered_elsewhere.as_str()),
        "{notes:#?}\n{stderr}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with(&format!(
            "probe: endpoint http://{pod_ip}:9090/: TCP connection refused"
        ))),
        "{notes:#?}"
    );

    // The right targetPort: no finding, and the probe shows the pod answering on it.
    let out = mosaic_tests::webhook::explain_at(
        &k.kubeconfig,
        &[
            "svc/right",
            "-n",
            ns,
            "--probe",
            "--probe-image",
            &image,
            "--probe-timeout",
            "150s",
            "-o",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["findings"].as_array().is_none_or(|f| f
            .iter()
            .all(|f| f["slug"] != "service.target-port-mismatch")),
        "{report:#}"
    );
    assert!(
        stderr.contains(&format!(
            "probe: endpoint http://{pod_ip}:8080/: answers HTTP 200"
        )),
        "{stderr}"
    );

    // Every probe pod was deleted.
    let left = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&format!("{LABEL}=true")))
        .await
        .unwrap();
    assert!(
        left.items.is_empty(),
        "probe pods left: {}",
        left.items.len()
    );
}
