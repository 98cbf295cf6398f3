//! `kubectl apply -k manifests/` and `kubectl mosaic install`/`uninstall` on the real
//! test API server: install applies everything, creates the secrets, waits for the
//! webhook (readiness simulated through /status: the server runs no controllers),
//! changes nothing when run again, and uninstall keeps the user's Bindings and CRDs.
//! Both tests touch the same cluster-scoped objects, so they run one at a time.

use std::collections::BTreeMap;
use std::process::Output;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use mosaic_core::{Binding, BindingSpec, names};

/// Serialises the tests of this file (shared ClusterRole, ClusterRoleBinding and CRDs).
static CLUSTER_SCOPED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn plugin(kubeconfig: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"));
    c.args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_TOKEN");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().await.expect("run kubectl-mosaic")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every object install manages in `ns` (bundle objects + secrets):
/// display name -> (resourceVersion, content without resourceVersion and managedFields).
async fn snapshot(client: &Client, ns: &str) -> BTreeMap<String, (String, serde_json::Value)> {
    fn entry<T: serde::Serialize + ResourceExt>(o: &T) -> (String, serde_json::Value) {
        let mut v = serde_json::to_value(o).expect("serialisable");
        let m = v["metadata"].as_object_mut().expect("metadata");
        m.remove("resourceVersion");
        m.remove("managedFields");
        (o.resource_version().expect("rv"), v)
    }
    let mut out = BTreeMap::new();
    for item in kubectl_mosaic::bundle::objects(ns).expect("bundle") {
        let api: Api<DynamicObject> = if item.kind.namespaced {
            Api::namespaced_with(client.clone(), ns, &item.kind.resource)
        } else {
            Api::all_with(client.clone(), &item.kind.resource)
        };
        let o = api
            .get(item.name())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", item.display()));
        out.insert(item.display(), entry(&o));
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    for name in [
        names::WEBHOOK_SECRET_NAME,
        names::GITHUB_SECRET_NAME,
        names::REGISTRY_SECRET_NAME,
    ] {
        let s = secrets
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("secret/{name}: {e}"));
        out.insert(format!("secret/{name}"), entry(&s));
    }
    out
}

fn versions(s: &BTreeMap<String, (String, serde_json::Value)>) -> BTreeMap<&String, &String> {
    s.iter().map(|(k, (rv, _))| (k, rv)).collect()
}

fn contents(
    s: &BTreeMap<String, (String, serde_json::Value)>,
) -> BTreeMap<&String, &serde_json::Value> {
    s.iter().map(|(k, (_, c))| (k, c)).collect()
}

/// What a Deployment controller would report once every replica is up.
async fn mark_webhook_ready(client: &Client, ns: &str) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let d = mosaic_tests::eventually("install to create the webhook Deployment", 60, || {
        let api = api.clone();
        async move { api.get_opt(names::WEBHOOK_NAME).await.ok().flatten() }
    })
    .await;
    let generation = d.metadata.generation.unwrap_or(1);
    let status = serde_json::json!({"status": {
        "observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
        "readyReplicas": 2, "availableReplicas": 2
    }});
    api.patch_status(
        names::WEBHOOK_NAME,
        &PatchParams::default(),
        &Patch::Merge(&status),
    )
    .await
    .expect("patch Deployment status");
}

#[tokio::test]
async fn install_waits_is_idempotent_and_uninstall_keeps_bindings() {
    let _one = CLUSTER_SCOPED.lock().await;
    let k = mosaic_tests::kube().await;
    let ns = k.namespace.as_str();
    let dir = tempfile::tempdir().unwrap();
    let docker_config = dir.path().join("config.json");
    std::fs::write(
        &docker_config,
        r#"{"auths":{"registry.example":{"auth":"dTpw"}},"credsStore":"","HttpHeaders":{"User-Agent":"x"}}"#,
    )
    .unwrap();
    let cfg = docker_config.to_str().unwrap();
    let args = [
        "install",
        "-n",
        ns,
        "--github-token-from-env",
        "MOSAIC_TEST_TOKEN",
        "--registry-credentials-from",
        cfg,
        "--timeout",
        "60s",
        "--image",
        "registry.example/mosaic-webhook:test",
    ];
    let env = [("MOSAIC_TEST_TOKEN", "ghp_test_token")];

    // First run: applies everything, then waits until the Deployment reports ready.
    let (first, ()) = tokio::join!(
        plugin(&k.kubeconfig, &args, &env),
        mark_webhook_ready(&k.client, ns)
    );
    let (out, err) = (text(&first.stdout), text(&first.stderr));
    assert!(first.status.success(), "install failed: {err}");
    assert!(err.contains("deployment/mosaic-webhook created"), "{err}");
    assert!(
        err.contains("webhook ready: 2 of 2 webhook replicas available"),
        "{err}"
    );
    assert!(
        out.contains(names::WEBHOOK_PATH) && out.contains("kubectl mosaic hook --repo"),
        "{out}"
    );
    assert!(
        !out.contains("ghp_test_token") && !err.contains("ghp_test_token"),
        "token leaked"
    );

    // The secrets: a fresh random webhook secret, the token, only the registry auths.
    let secrets: Api<Secret> = Api::namespaced(k.client.clone(), ns);
    let data = |s: Secret, key: &str| s.data.unwrap_or_default().remove(key).expect("key").0;
    let hook = data(
        secrets.get(names::WEBHOOK_SECRET_NAME).await.unwrap(),
        names::WEBHOOK_SECRET_KEY,
    );
    assert_eq!(hook.len(), 64, "32 random bytes, hex");
    assert!(hook.iter().all(u8::is_ascii_hexdigit));
    let token = data(
        secrets.get(names::GITHUB_SECRET_NAME).await.unwrap(),
        names::GITHUB_TOKEN_KEY,
    );
    assert_eq!(token, b"ghp_test_token");
    let reg = secrets.get(names::REGISTRY_SECRET_NAME).await.unwrap();
    assert_eq!(reg.type_.as_deref(), Some("kubernetes.io/dockerconfigjson"));
    let reg: serde_json::Value = serde_json::from_slice(&data(reg, ".dockerconfigjson")).unwrap();
    assert_eq!(
        reg,
        serde_json::json!({"auths": {"registry.example": {"auth": "dTpw"}}})
    );
    // The webhook runs the image asked for.
    let d: Api<Deployment> = Api::namespaced(k.client.clone(), ns);
    let pod = d
        .get(names::WEBHOOK_NAME)
        .await
        .unwrap()
        .spec
        .template
        .spec
        .unwrap();
    assert_eq!(
        pod.containers[0].image.as_deref(),
        Some("registry.example/mosaic-webhook:test")
    );
    // The ClusterRoleBinding follows the namespace.
    let crb: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(k.client.clone());
    let subject = crb
        .get(names::WEBHOOK_NAME)
        .await
        .unwrap()
        .subjects
        .unwrap()
        .remove(0);
    assert_eq!(subject.namespace.as_deref(), Some(ns));

    // Second run: a no-op, down to every resourceVersion, and it says so.
    let before = snapshot(&k.client, ns).await;
    let second = plugin(&k.kubeconfig, &args, &env).await;
    let err = text(&second.stderr);
    assert!(second.status.success(), "second install failed: {err}");
    let after = snapshot(&k.client, ns).await;
    assert_eq!(
        contents(&after),
        contents(&before),
        "second install changed something: {err}"
    );
    assert_eq!(versions(&after), versions(&before), "{err}");
    assert!(
        !err.contains(" created") && !err.contains(" configured"),
        "{err}"
    );

    // A user's Binding, then uninstall: everything else goes, Bindings and CRDs stay.
    let bindings: Api<Binding> = Api::namespaced(k.client.clone(), ns);
    let b = Binding::new(
        "api",
        BindingSpec {
            deployment: "api".into(),
            container: None,
            repo: "acme/api".into(),
            branch: "main".into(),
            image: "registry.example/acme/api".into(),
            dockerfile: "Dockerfile".into(),
            context: ".".into(),
            registry_secret: None,
            github_secret: None,
            rollback_on_failure: true,
            paused: false,
            take_ownership: false,
        },
    );
    bindings
        .create(&PostParams::default(), &b)
        .await
        .expect("create Binding");
    let un = plugin(&k.kubeconfig, &["uninstall", "-n", ns], &[]).await;
    assert!(
        un.status.success(),
        "uninstall failed: {}",
        text(&un.stderr)
    );
    assert!(
        text(&un.stdout).contains("deployment/mosaic-webhook deleted"),
        "{}",
        text(&un.stdout)
    );
    let deployments: Api<Deployment> = Api::namespaced(k.client.clone(), ns);
    assert!(
        deployments
            .get_opt(names::WEBHOOK_NAME)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        secrets
            .get_opt(names::WEBHOOK_SECRET_NAME)
            .await
            .unwrap()
            .is_none()
    );
    assert!(crb.get_opt(names::WEBHOOK_NAME).await.unwrap().is_none());
    assert!(
        bindings.get_opt("api").await.unwrap().is_some(),
        "the user's Binding was deleted"
    );
    let crds: Api<CustomResourceDefinition> = Api::all(k.client.clone());
    assert!(
        crds.get_opt("bindings.mosaic.nectar.dev")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        text(&un.stderr).contains(&format!("keeping namespace {ns}")),
        "{}",
        text(&un.stderr)
    );
}

#[tokio::test]
async fn kubectl_apply_k_applies_the_manifests() {
    let _one = CLUSTER_SCOPED.lock().await;
    let _ = mosaic_tests::client().await;
    let dir = mosaic_tests::workspace_root().join("manifests");
    let kubeconfig = &mosaic_tests::stack().kubeconfig;
    for round in ["first", "second"] {
        let out = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["apply", "-k"])
            .arg(&dir)
            .output()
            .await
            .expect("kubectl is installed");
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{round} kubectl apply -k failed: {}",
            text(&out.stderr)
        );
        for obj in [
            "namespace/mosaic-system",
            "customresourcedefinition.apiextensions.k8s.io/bindings.mosaic.nectar.dev",
            "clusterrole.rbac.authorization.k8s.io/mosaic-webhook",
            "deployment.apps/mosaic-webhook",
            "poddisruptionbudget.policy/mosaic-webhook",
            "networkpolicy.networking.k8s.io/mosaic-webhook",
        ] {
            assert!(
                stdout.contains(obj),
                "{round} apply did not apply {obj}: {stdout}"
            );
        }
        assert!(
            !stdout.contains("ingress"),
            "the example Ingress is not applied by default"
        );
    }
}
