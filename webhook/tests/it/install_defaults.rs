//! Real-stack tests of what `kubectl mosaic install` relies on in the webhook:
//! - a Binding that names no Secret is served by the install's default credentials (the
//!   `mosaic-github` and `mosaic-registry` Secrets of the install namespace): authenticated
//!   GitHub calls against the fake GitHub, which refuses anonymous ones, and an authenticated
//!   push to the stack's htpasswd registry; without the defaults the same Build fails;
//! - the webhook waits for the Docker engine's socket at start instead of exiting, for a
//!   bounded time, and an intake-only replica (`--concurrency 0`) needs no engine at all.

use std::process::{Command, Stdio};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use mosaic_core::names;
use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;
use serde_json::json;

/// Copy `w`'s GitHub and registry Secrets into a namespace of their own under the names
/// `install` gives them, and make the Binding name none. Returns that namespace.
async fn move_credentials_to_install_namespace(w: &World) -> String {
    let sys = format!("{}-sys", w.ns());
    let namespaces: Api<Namespace> = Api::all(w.kube.client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": sys}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("create the install namespace");
    let from: Api<Secret> = Api::namespaced(w.kube.client.clone(), w.ns());
    let to: Api<Secret> = Api::namespaced(w.kube.client.clone(), &sys);
    for (old, new) in [
        ("github", names::GITHUB_SECRET_NAME),
        ("registry", names::REGISTRY_SECRET_NAME),
    ] {
        let s = from.get(old).await.expect("world Secret");
        let copy = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(new.into()),
                ..Default::default()
            },
            type_: s.type_.clone(),
            data: s.data.clone(),
            ..Default::default()
        };
        to.create(&PostParams::default(), &copy)
            .await
            .expect("create install Secret");
        from.delete(old, &Default::default()).await.expect("delete");
    }
    let unnamed = json!({"spec": {"githubSecret": null, "registrySecret": null}});
    w.bindings()
        .patch("web", &PatchParams::default(), &Patch::Merge(&unnamed))
        .await
        .expect("Binding names no Secret");
    sys
}

#[tokio::test]
async fn a_binding_naming_no_secret_uses_the_install_defaults() {
    let w = world(None, true).await;
    let sys = move_credentials_to_install_namespace(&w).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);

    // Without defaults: anonymous calls, which the fake GitHub refuses.
    let anonymous = start(&w, "anon", &["--retry-pauses", "1"]).await;
    let first = w.commit("defaults: anonymous\n");
    let (s, j) = push(&anonymous, &w, "d-anon", &first).await;
    assert_eq!(s, 201, "{j}");
    let b = terminal(&w, &build_name("web", &first), 120).await;
    assert_eq!(phase(&b), BuildPhase::Failed, "{:?}", b.status);
    let st = b.status.clone().unwrap_or_default();
    assert_eq!(
        st.reason.as_deref(),
        Some("GitHubForbidden"),
        "the anonymous request for the branch head (git decides before anything is built) is refused: {st:?}"
    );
    drop(anonymous);

    // With the install's defaults (the flags the manifests give): authenticated throughout.
    let github = format!(
        "--default-github-secret={sys}/{}",
        names::GITHUB_SECRET_NAME
    );
    let registry = format!(
        "--default-registry-secret={sys}/{}",
        names::REGISTRY_SECRET_NAME
    );
    let server = start(&w, "defaults", &[&github, &registry]).await;
    let second = w.commit("defaults: authenticated\n");
    let (s, j) = push(&server, &w, "d-auth", &second).await;
    assert_eq!(s, 201, "{j}");
    let b = terminal(&w, &build_name("web", &second), 120).await;
    assert_eq!(phase(&b), BuildPhase::Succeeded, "{:?}", b.status);
    let states: Vec<String> =
        w.gh.statuses(&second)
            .into_iter()
            .map(|s| s.state)
            .collect();
    assert_eq!(
        states.last().map(String::as_str),
        Some("success"),
        "statuses are posted with the default token: {states:?}"
    );
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains(GITHUB_TOKEN), "the token is never logged");
}

/// Start the binary without waiting for it to be ready.
fn spawn(w: &World, listen: &str, extra: &[&str], log: &std::path::Path) -> std::process::Child {
    Command::new(webhook_bin())
        .args(["--listen", listen, "--namespace", w.ns()])
        .args(["--webhook-secret-file", w.secret_file().to_str().unwrap()])
        .args(["--github-api-url", &w.gh.url, "--log-format", "json"])
        .args(extra)
        .env("RUST_LOG", "info")
        .envs(mosaic_tests::stack_vars())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start mosaic-webhook")
}

#[tokio::test]
async fn the_webhook_waits_for_the_engine_then_serves() {
    let w = world(None, true).await;
    // The engine's socket appears after the webhook started, as when both containers start
    // together: the webhook says what it waits for, keeps running, then serves.
    let socket = w.dir.path().join("engine").join("docker.sock");
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    let host = format!("unix://{}", socket.display());
    let log = w.dir.path().join("late-engine.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = spawn(&w, &listen, &["--docker-host", &host], &log);
    mosaic_tests::eventually("the webhook to say it waits for the engine", 30, || {
        let log = log.clone();
        async move {
            let text = std::fs::read_to_string(&log).ok()?;
            text.contains("waiting for the Docker engine")
                .then_some(text)
        }
    })
    .await;
    assert!(child.try_wait().unwrap().is_none(), "it did not exit");
    let real = mosaic_tests::stack().docker_host.clone();
    std::os::unix::fs::symlink(real.trim_start_matches("unix://"), &socket).unwrap();
    let url = format!("http://{listen}/readyz");
    mosaic_tests::eventually("the webhook ready once the engine is there", 30, || {
        let url = url.clone();
        async move { (reqwest::get(&url).await.ok()?.status() == 200).then_some(()) }
    })
    .await;
    assert!(child.try_wait().unwrap().is_none(), "still running");
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Docker engine answered"), "{text}");
    assert!(text.contains(&host), "the log names the socket: {text}");
}

#[tokio::test]
async fn the_engine_wait_is_bounded_and_intake_needs_no_engine() {
    let w = world(None, true).await;
    let absent = format!("unix://{}/absent/docker.sock", w.dir.path().display());
    // A worker replica gives up after --engine-wait, with one clear line.
    let log = w.dir.path().join("bounded.log");
    let mut child = spawn(
        &w,
        "127.0.0.1:0",
        &["--docker-host", &absent, "--engine-wait", "1"],
        &log,
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&absent) && text.contains("--engine-wait"),
        "{text}"
    );
    // An intake-only replica starts and is ready with no engine at all.
    let server = start(
        &w,
        "intake",
        &["--concurrency", "0", "--docker-host", &absent],
    )
    .await;
    let r = reqwest::get(format!("{}/readyz", server.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = std::fs::read_to_string(&server.log).unwrap();
    assert!(!text.contains("waiting for the Docker engine"), "{text}");
}
