//! `kubectl apply -k manifests/` and `kubectl mosaic install`/`uninstall` on the real
//! test API server: install applies everything, creates the secrets, waits for the
//! webhook (readiness simulated through /status: the server runs no controllers),
//! changes nothing when run again, and uninstall keeps the user's Bindings and CRDs.
//! These tests, and `install_autoscale`'s, touch the same cluster-scoped objects, so they run
//! one at a time.

use std::collections::BTreeMap;
use std::process::Output;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use mosaic_core::{Binding, BindingSpec, names};

/// Serialises the tests of this file (shared ClusterRole, ClusterRoleBinding and CRDs).
pub(crate) static CLUSTER_SCOPED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) async fn plugin(
    kubeconfig: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
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

pub(crate) fn text(b: &[u8]) -> String {
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

/// Remove the ClusterRoleBinding another test may have left with another namespace as its
/// subject, applied by another manager (`kubectl apply -k`): install would rightly report
/// that as a change made by other means instead of taking it over.
pub(crate) async fn forget_other_installs(client: &Client) {
    let crb: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(client.clone());
    for name in [names::WEBHOOK_NAME, names::INTAKE_NAME, names::BUILDER_NAME] {
        match crb.delete(name, &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => panic!("delete the ClusterRoleBinding {name}: {e}"),
        }
    }
}

/// What a Deployment controller would report once every replica of the intake and the
/// builders is up.
async fn mark_webhook_ready(client: &Client, ns: &str) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    for name in [names::INTAKE_NAME, names::BUILDER_NAME] {
        let d = mosaic_tests::eventually("install to create the Deployments", 60, || {
            let api = api.clone();
            async move { api.get_opt(name).await.ok().flatten() }
        })
        .await;
        let generation = d.metadata.generation.unwrap_or(1);
        let status = serde_json::json!({"status": {
            "observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": 2, "availableReplicas": 2
        }});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("patch Deployment status");
    }
}

#[tokio::test]
async fn install_waits_is_idempotent_and_uninstall_keeps_bindings() {
    let _one = CLUSTER_SCOPED.lock().await;
    let k = mosaic_tests::kube().await;
    forget_other_installs(&k.client).await;
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
    assert!(err.contains("deployment/mosaic-intake created"), "{err}");
    assert!(err.contains("deployment/mosaic-builder created"), "{err}");
    assert!(
        err.contains("webhook ready: 2 of 2 mosaic-intake replicas available (2 updated); 2 of 2 mosaic-builder replicas available"),
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
    // Both parts run the image asked for.
    let d: Api<Deployment> = Api::namespaced(k.client.clone(), ns);
    for name in [names::INTAKE_NAME, names::BUILDER_NAME] {
        let pod = d.get(name).await.unwrap().spec.template.spec.unwrap();
        assert_eq!(
            pod.containers[0].image.as_deref(),
            Some("registry.example/mosaic-webhook:test")
        );
    }
    // Each ClusterRoleBinding follows the namespace.
    let crb: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(k.client.clone());
    for name in [names::INTAKE_NAME, names::BUILDER_NAME] {
        let subject = crb.get(name).await.unwrap().subjects.unwrap().remove(0);
        assert_eq!(subject.namespace.as_deref(), Some(ns));
        assert_eq!(subject.name, name);
    }

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
            verify: None,
            take_ownership: false,
            history: None,
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
        text(&un.stdout).contains("deployment/mosaic-builder deleted"),
        "{}",
        text(&un.stdout)
    );
    let deployments: Api<Deployment> = Api::namespaced(k.client.clone(), ns);
    for name in [names::INTAKE_NAME, names::BUILDER_NAME] {
        assert!(deployments.get_opt(name).await.unwrap().is_none());
    }
    assert!(
        secrets
            .get_opt(names::WEBHOOK_SECRET_NAME)
            .await
            .unwrap()
            .is_none()
    );
    assert!(crb.get_opt(names::BUILDER_NAME).await.unwrap().is_none());
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
            "clusterrole.rbac.authorization.k8s.io/mosaic-intake",
            "clusterrole.rbac.authorization.k8s.io/mosaic-builder",
            "deployment.apps/mosaic-intake",
            "deployment.apps/mosaic-builder",
            "service/mosaic-webhook",
            "poddisruptionbudget.policy/mosaic-intake",
            "networkpolicy.networking.k8s.io/mosaic-intake",
            "networkpolicy.networking.k8s.io/mosaic-builder",
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

fn container<'a>(d: &'a Deployment, name: &str) -> &'a k8s_openapi::api::core::v1::Container {
    let pod = d.spec.template.spec.as_ref().unwrap();
    pod.containers.iter().find(|c| c.name == name).unwrap()
}

#[tokio::test]
async fn install_settings_reach_the_objects_are_kept_and_hand_changes_are_reported() {
    let _one = CLUSTER_SCOPED.lock().await;
    let k = mosaic_tests::kube().await;
    forget_other_installs(&k.client).await;
    let ns = k.namespace.as_str();
    let engine = "mirror.local/library/docker:28-dind";
    let api_url = "https://ghe.example/api/v3";
    let plain = "registry.kube-system.svc:5000";
    let settings = [
        "--engine-image",
        engine,
        "--github-api-url",
        api_url,
        "--insecure-registry",
        plain,
        "--insecure-registry",
        "10.0.0.5:5000",
        "--builders",
        "3",
    ];

    // --dry-run -o yaml shows them, with no cluster.
    let mut args = vec!["install", "-n", ns, "--dry-run", "-o", "yaml"];
    args.extend(settings);
    let dry = plugin(&k.kubeconfig, &args, &[]).await;
    let yaml = text(&dry.stdout);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    for want in [
        format!("image: {engine}"),
        format!("--github-api-url={api_url}"),
        format!("--insecure-registry={plain}"),
        "--insecure-registry=10.0.0.5:5000".to_string(),
        "replicas: 3".to_string(),
    ] {
        assert!(yaml.contains(&want), "{want} not in the dry run:\n{yaml}");
    }

    // The real install: the applied Deployment carries them, for both containers.
    let mut args = vec!["install", "-n", ns, "--wait=false"];
    args.extend(settings);
    let first = plugin(&k.kubeconfig, &args, &[]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let deployments: Api<Deployment> = Api::namespaced(k.client.clone(), ns);
    let d = deployments.get(names::BUILDER_NAME).await.unwrap();
    assert_eq!(d.spec.replicas, Some(3), "--builders 3");
    let engine_c = container(&d, "docker");
    assert_eq!(engine_c.image.as_deref(), Some(engine));
    let engine_args = engine_c.args.clone().unwrap();
    assert!(
        engine_args.contains(&format!("--insecure-registry={plain}")),
        "{engine_args:?}"
    );
    let web_args = container(&d, "webhook").args.clone().unwrap();
    for want in [
        format!("--github-api-url={api_url}"),
        format!("--insecure-registry={plain}"),
        format!(
            "--default-github-secret=$(POD_NAMESPACE)/{}",
            names::GITHUB_SECRET_NAME
        ),
        format!(
            "--default-registry-secret=$(POD_NAMESPACE)/{}",
            names::REGISTRY_SECRET_NAME
        ),
    ] {
        assert!(web_args.contains(&want), "{want} not in {web_args:?}");
    }

    // Again with the same flags, and with none: nothing changes; the remembered settings are
    // kept and said.
    let rv = d.metadata.resource_version.clone();
    let again = plugin(&k.kubeconfig, &args, &[]).await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("deployment/mosaic-builder unchanged"),
        "{}",
        text(&again.stderr)
    );
    let bare = plugin(&k.kubeconfig, &["install", "-n", ns, "--wait=false"], &[]).await;
    let err = text(&bare.stderr);
    assert!(bare.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "keeping --engine-image {engine} from the earlier install"
        )),
        "{err}"
    );
    let d = deployments.get(names::BUILDER_NAME).await.unwrap();
    assert_eq!(d.metadata.resource_version, rv, "{err}");

    // --show names them.
    let show = plugin(
        &k.kubeconfig,
        &["install", "-n", ns, "--show", "-o", "json"],
        &[],
    )
    .await;
    assert!(show.status.success(), "{}", text(&show.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["engineImage"], engine);
    assert_eq!(shown["insecureRegistries"][0], plain);

    // `version -n` finds this install.
    let v = plugin(&k.kubeconfig, &["version", "-n", ns, "-o", "json"], &[]).await;
    let vj: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(
        vj["webhookVersion"],
        mosaic_core::install::VERSION,
        "{}",
        text(&v.stderr)
    );

    // Without -n, `version` finds a webhook by its label (the oldest install, when several).
    let v = plugin(&k.kubeconfig, &["version", "-o", "json"], &[]).await;
    let vj: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    let found = vj["webhookVersion"].as_str().unwrap_or_default();
    assert!(
        !found.is_empty() && found != "<not installed>",
        "{vj} {}",
        text(&v.stderr)
    );

    // `status` says when a Binding's registry is reached over plain HTTP.
    let bindings: Api<Binding> = Api::namespaced(k.client.clone(), ns);
    for (name, image) in [
        ("plain", format!("{plain}/acme/api")),
        ("tls", "ghcr.io/acme/api".to_string()),
    ] {
        let mut spec: BindingSpec = serde_json::from_value(
            serde_json::json!({"deployment": name, "repo": "acme/api", "image": image}),
        )
        .unwrap();
        spec.paused = true;
        bindings
            .create(&PostParams::default(), &Binding::new(name, spec))
            .await
            .expect("create Binding");
    }
    let st = plugin(&k.kubeconfig, &["status", "-n", ns], &[]).await;
    let out = text(&st.stdout);
    assert!(st.status.success(), "{}", text(&st.stderr));
    assert!(
        out.contains(&format!("Registry:    {plain} over plain HTTP")),
        "{out}"
    );
    assert_eq!(out.matches("plain HTTP").count(), 1, "{out}");
    bindings
        .delete_collection(&Default::default(), &Default::default())
        .await
        .expect("delete the Bindings");

    // A change made by hand: one to a field install does not set is kept; one to a field it
    // sets is reported, and the object is left as the user made it.
    let by_hand = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    let patch = serde_json::json!({
        "metadata": {"annotations": {"team.example/owner": "ops"}},
        "spec": {"template": {"spec": {"containers": [
            {"name": "docker", "image": "other.example/docker:29-dind"}]}}}
    });
    deployments
        .patch(names::BUILDER_NAME, &by_hand, &Patch::Strategic(&patch))
        .await
        .expect("hand patch");
    let conflicted = plugin(&k.kubeconfig, &["install", "-n", ns, "--wait=false"], &[]).await;
    let err = text(&conflicted.stderr);
    assert_eq!(conflicted.status.code(), Some(1), "{err}");
    assert!(
        err.contains("deployment/mosaic-builder not applied") && err.contains("kubectl-edit"),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    let d = deployments.get(names::BUILDER_NAME).await.unwrap();
    assert_eq!(
        container(&d, "docker").image.as_deref(),
        Some("other.example/docker:29-dind"),
        "the hand change is kept"
    );
    // Asked to, install takes the field back; the unrelated annotation stays either way.
    let forced = plugin(
        &k.kubeconfig,
        &["install", "-n", ns, "--wait=false", "--force-conflicts"],
        &[],
    )
    .await;
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    let d = deployments.get(names::BUILDER_NAME).await.unwrap();
    assert_eq!(container(&d, "docker").image.as_deref(), Some(engine));
    assert_eq!(
        d.metadata.annotations.unwrap().get("team.example/owner"),
        Some(&"ops".to_string())
    );

    let un = plugin(&k.kubeconfig, &["uninstall", "-n", ns], &[]).await;
    assert!(un.status.success(), "{}", text(&un.stderr));
}

#[tokio::test]
async fn install_namespaces_grants_secrets_by_roles_only_there() {
    let _one = CLUSTER_SCOPED.lock().await;
    let k = mosaic_tests::kube().await;
    let team = mosaic_tests::kube().await;
    forget_other_installs(&k.client).await;
    let ns = k.namespace.as_str();
    let args = [
        "install",
        "-n",
        ns,
        "--wait=false",
        "--namespaces",
        team.namespace.as_str(),
    ];
    let out = plugin(&k.kubeconfig, &args, &[]).await;
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
    let roles: Api<ClusterRole> = Api::all(k.client.clone());
    for name in [names::INTAKE_NAME, names::BUILDER_NAME] {
        let r = roles.get(name).await.unwrap();
        assert!(
            r.rules
                .unwrap_or_default()
                .iter()
                .all(|r| r.resources.as_deref() != Some(&["secrets".to_string()][..])),
            "{name} still grants Secrets cluster-wide"
        );
    }
    let in_team: Api<Role> = Api::namespaced(k.client.clone(), &team.namespace);
    let builder = in_team.get("mosaic-builder-secrets").await.unwrap();
    assert_eq!(builder.rules.unwrap()[0].verbs, ["get"]);
    let intake = in_team.get("mosaic-intake-secrets").await.unwrap();
    assert_eq!(
        intake.rules.unwrap()[0].resource_names,
        Some(vec![names::WEBHOOK_SECRET_NAME.to_string()])
    );
    let binding: Api<RoleBinding> = Api::namespaced(k.client.clone(), &team.namespace);
    let subject = binding
        .get("mosaic-builder-secrets")
        .await
        .unwrap()
        .subjects
        .unwrap()
        .remove(0);
    assert_eq!(
        (subject.name.as_str(), subject.namespace.as_deref()),
        (names::BUILDER_NAME, Some(ns))
    );
    let defaults: Api<Role> = Api::namespaced(k.client.clone(), ns);
    assert_eq!(
        defaults
            .get("mosaic-builder-secrets")
            .await
            .unwrap()
            .rules
            .unwrap()[0]
            .resource_names,
        Some(vec![
            names::GITHUB_SECRET_NAME.to_string(),
            names::REGISTRY_SECRET_NAME.to_string()
        ])
    );
    // Both parts watch only that namespace.
    let deployments: Api<Deployment> = Api::namespaced(k.client.clone(), ns);
    for name in [names::INTAKE_NAME, names::BUILDER_NAME] {
        let d = deployments.get(name).await.unwrap();
        let args = container(&d, "webhook").args.clone().unwrap();
        assert!(
            args.contains(&format!("--namespace={}", team.namespace)),
            "{args:?}"
        );
    }
    // Uninstall removes the Roles in the opted-in namespace too.
    let un = plugin(&k.kubeconfig, &["uninstall", "-n", ns], &[]).await;
    assert!(un.status.success(), "{}", text(&un.stderr));
    assert!(
        in_team
            .get_opt("mosaic-builder-secrets")
            .await
            .unwrap()
            .is_none()
    );
}
