//! `kubectl mosaic hook --per-namespace [--rotate]` against the local fake GitHub and the real
//! test API server: each namespace that binds a repository gets its own key (created when
//! missing) and a hook to `<url>/<namespace>` signed with it; a rotation keeps the old key as
//! `previous` and updates the hook with the new one.

use std::process::Output;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use mosaic_core::{Binding, names};
use mosaic_tests::fake_github::FakeGitHub;

const URL: &str = "https://mosaic.example.com/webhooks/github";

async fn hook(kubeconfig: &std::path::Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"))
        .arg("hook")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("GITHUB_TOKEN", "ghp_hooks")
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run kubectl-mosaic")
}

fn key(s: &Secret, k: &str) -> Option<String> {
    s.data
        .as_ref()?
        .get(k)
        .map(|v| String::from_utf8(v.0.clone()).unwrap())
}

#[tokio::test]
async fn each_namespace_gets_its_own_key_and_route_and_a_rotation_keeps_the_old_key() {
    let k = mosaic_tests::kube().await;
    mosaic_tests::install_crds(&k.client).await;
    let ns = k.namespace.as_str();
    let b: Binding = serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
        "metadata": {"name": "api"},
        "spec": {"deployment": "api", "repo": "acme/api", "image": "registry.example/acme/api"}
    }))
    .unwrap();
    Api::<Binding>::namespaced(k.client.clone(), ns)
        .create(&PostParams::default(), &b)
        .await
        .unwrap();
    let gh = FakeGitHub::start("ghp_hooks").await;
    gh.add_repo("acme/api", false);
    let args = [
        "--per-namespace",
        "--repo",
        "acme/api",
        "-n",
        ns,
        "--github-api-url",
        gh.url.as_str(),
        "--url",
        URL,
    ];
    let out = hook(&k.kubeconfig, &args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secrets: Api<Secret> = Api::namespaced(k.client.clone(), ns);
    let s = secrets.get(names::WEBHOOK_SECRET_NAME).await.unwrap();
    let first = key(&s, names::WEBHOOK_SECRET_KEY).expect("a key was created");
    assert_eq!(first.len(), 64);
    let hooks = gh.hooks("acme/api");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].config["url"], format!("{URL}/{ns}"));
    assert_eq!(hooks[0].config["secret"], first.as_str());
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains(&first), "the key is never printed");

    // Rotate: a new key, the old one kept as `previous`, the same hook updated.
    let mut rotate = args.to_vec();
    rotate.push("--rotate");
    let out = hook(&k.kubeconfig, &rotate).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = secrets.get(names::WEBHOOK_SECRET_NAME).await.unwrap();
    let second = key(&s, names::WEBHOOK_SECRET_KEY).unwrap();
    assert_ne!(second, first);
    assert_eq!(key(&s, "previous").as_deref(), Some(first.as_str()));
    let hooks = gh.hooks("acme/api");
    assert_eq!(hooks.len(), 1, "updated in place");
    assert_eq!(hooks[0].config["secret"], second.as_str());
}
