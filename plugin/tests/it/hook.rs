//! `kubectl mosaic hook` against the local fake GitHub (request bodies checked
//! against GitHub's documented schemas) with the webhook secret read from the real
//! test API server: creates a push/JSON hook signed with the cluster's secret,
//! updates it in place on rerun, hooks every bound repository with --all-bound,
//! and names the repositories it could not hook.

use std::process::Output;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, PostParams};
use mosaic_core::{Binding, BindingSpec, names};
use mosaic_tests::fake_github::FakeGitHub;

const URL: &str = "https://mosaic.example.com/webhooks/github";

async fn hook(kubeconfig: &std::path::Path, token: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"))
        .arg("hook")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("GITHUB_TOKEN", token)
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run kubectl-mosaic")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn binding(name: &str, repo: &str) -> Binding {
    Binding::new(
        name,
        BindingSpec {
            deployment: name.into(),
            container: None,
            repo: repo.into(),
            branch: "main".into(),
            image: format!("registry.example/{repo}"),
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
    )
}

#[tokio::test]
async fn hook_creates_then_updates_and_hooks_every_bound_repo() {
    let k = mosaic_tests::kube().await;
    mosaic_tests::install_crds(&k.client).await;
    let ns = k.namespace.as_str();
    let secret_value = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let secrets: Api<Secret> = Api::namespaced(k.client.clone(), ns);
    let s = Secret {
        metadata: ObjectMeta {
            name: Some(names::WEBHOOK_SECRET_NAME.into()),
            ..Default::default()
        },
        data: Some(
            [(
                names::WEBHOOK_SECRET_KEY.to_string(),
                ByteString(secret_value.into()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &s)
        .await
        .expect("webhook secret");

    let gh = FakeGitHub::start("ghp_hooks").await;
    gh.add_repo("acme/api", false);
    gh.add_repo("acme/web", false);
    let base = [
        "--system-namespace",
        ns,
        "-n",
        ns,
        "--github-api-url",
        gh.url.as_str(),
        "--url",
        URL,
    ];

    // Create.
    let mut args = vec!["--repo", "acme/api"];
    args.extend(base);
    let first = hook(&k.kubeconfig, "ghp_hooks", &args).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(
        text(&first.stdout),
        format!("acme/api: webhook 1000 created for {URL}\n")
    );
    let hooks = gh.hooks("acme/api");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].events, ["push"]);
    assert!(hooks[0].active);
    assert_eq!(hooks[0].config["url"], URL);
    assert_eq!(hooks[0].config["content_type"], "json");
    assert_eq!(hooks[0].config["secret"], secret_value);
    assert_eq!(hooks[0].config["insecure_ssl"], "0");
    assert!(
        !text(&first.stdout).contains(secret_value) && !text(&first.stderr).contains(secret_value)
    );

    // Rerun: the same hook is updated, not duplicated.
    let again = hook(&k.kubeconfig, "ghp_hooks", &args).await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(
        text(&again.stdout),
        format!("acme/api: webhook 1000 updated for {URL}\n")
    );
    assert_eq!(gh.hooks("acme/api").len(), 1);

    // --all-bound: every repository bound in the namespace; an unknown one is named.
    let bindings: Api<Binding> = Api::namespaced(k.client.clone(), ns);
    for (n, r) in [
        ("api", "acme/api"),
        ("web", "acme/web"),
        ("gone", "acme/gone"),
    ] {
        bindings
            .create(&PostParams::default(), &binding(n, r))
            .await
            .expect("Binding");
    }
    let mut args = vec!["--all-bound"];
    args.extend(base);
    let all = hook(&k.kubeconfig, "ghp_hooks", &args).await;
    let (out, err) = (text(&all.stdout), text(&all.stderr));
    assert_eq!(all.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("acme/api: webhook 1000 updated")
            && out.contains("acme/web: webhook 1001 created"),
        "{out}"
    );
    assert_eq!(gh.hooks("acme/web").len(), 1);
    assert!(err.contains("cannot list webhooks for acme/gone"), "{err}");
    assert!(
        err.contains("1 of 3 repositories were not hooked: acme/gone"),
        "{err}"
    );

    // Without a token: a usage error before anything is sent.
    let none = hook(&k.kubeconfig, "", &args).await;
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none.stderr).contains("GITHUB_TOKEN is not set"),
        "{}",
        text(&none.stderr)
    );
}
