//! Shared set-up for the webhook's real-stack tests: a namespace with CRDs, Secrets, a
//! Deployment and a Binding; the fake GitHub; the real `mosaic-webhook` binary as a child
//! process; signed push deliveries; a stand-in for the Deployment controller (the test API
//! server runs none); and, for the real cluster of `scripts/cluster`, its own World and apps.

#![allow(dead_code)]

mod cluster;
mod rollouts;
#[allow(unused_imports)] // not every test uses the real cluster
pub use cluster::*;
#[allow(unused_imports)] // not every test uses the stand-in controller
pub use rollouts::*;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use mosaic_core::resources::{Binding, Build, BuildPhase};
use mosaic_tests::fake_github::{FakeGitHub, File};
use serde_json::json;

pub const WEBHOOK_SECRET: &str = "whsec-test-Xq7pL2vN9";
pub const GITHUB_TOKEN: &str = "ghp_testtoken_Zr5kW8mJ3";

/// One test's world.
pub struct World {
    pub kube: mosaic_tests::TestKube,
    pub gh: FakeGitHub,
    pub reg: mosaic_tests::Registry,
    pub repo: String,
    pub image: String,
    pub dir: tempfile::TempDir,
}

impl World {
    pub fn ns(&self) -> &str {
        &self.kube.namespace
    }
    pub fn builds(&self) -> Api<Build> {
        Api::namespaced(self.kube.client.clone(), self.ns())
    }
    pub fn bindings(&self) -> Api<Binding> {
        Api::namespaced(self.kube.client.clone(), self.ns())
    }
    pub fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.kube.client.clone(), self.ns())
    }
    pub fn secret_file(&self) -> PathBuf {
        self.dir.path().join("webhook-secret")
    }

    /// Commit a `FROM scratch` app whose file holds `marker`; returns the commit id.
    pub fn commit(&self, marker: &str) -> String {
        self.gh.commit(
            &self.repo,
            "main",
            vec![
                File::new("Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n"),
                File::new("hello.txt", marker),
            ],
        )
    }
}

/// Set up a namespace: CRDs, Secrets (`registry_password` may be wrong on purpose), a Deployment
/// `web` with container `app`, and a Binding `web` for `acme/<ns>` branch `main`.
pub async fn world(registry_password: Option<&str>, rollback: bool) -> World {
    world_at(None, registry_password, rollback).await
}

/// As `world`, with the image (and its registry credentials) at `registry_host` instead of the
/// stack's registry, e.g. a fault proxy in front of it.
pub async fn world_at(
    registry_host: Option<&str>,
    registry_password: Option<&str>,
    rollback: bool,
) -> World {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kube = mosaic_tests::kube().await;
    let dep = json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "example.com/web:before"}]}}}
    });
    world_in(kube, registry_host, registry_password, rollback, dep).await
}

/// As `world_at`, in `kube`'s namespace, with Deployment `dep` (named `web`).
pub async fn world_in(
    kube: mosaic_tests::TestKube,
    registry_host: Option<&str>,
    registry_password: Option<&str>,
    rollback: bool,
    dep: serde_json::Value,
) -> World {
    mosaic_tests::install_crds(&kube.client).await;
    let mut reg = mosaic_tests::registry();
    if let Some(h) = registry_host {
        reg.host = h.to_string();
    }
    let gh = FakeGitHub::start(GITHUB_TOKEN).await;
    let ns = kube.namespace.clone();
    let repo = format!("acme/{ns}");
    gh.add_repo(&repo, true);
    let image = format!("{}/mosaic-test/{ns}", reg.host);
    let client = kube.client.clone();

    let password = registry_password.unwrap_or(&reg.password);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let auth = b64(&format!("{}:{password}", reg.user));
    let dockercfg = json!({"auths": {reg.host.clone(): {"auth": auth}}}).to_string();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let reg_secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "registry"}, "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": b64(&dockercfg)}
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &reg_secret)
        .await
        .expect("create registry Secret");
    let gh_secret: Secret = serde_json::from_value(
        json!({"metadata": {"name": "github"}, "data": {"token": b64(GITHUB_TOKEN)}}),
    )
    .unwrap();
    secrets
        .create(&PostParams::default(), &gh_secret)
        .await
        .expect("create github Secret");

    let dep: Deployment = serde_json::from_value(dep).expect("a Deployment");
    Api::<Deployment>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &dep)
        .await
        .expect("create Deployment");

    let binding: Binding = serde_json::from_value(json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
        "metadata": {"name": "web"},
        "spec": {"deployment": "web", "repo": repo, "branch": "main", "image": image,
            "registrySecret": "registry", "githubSecret": "github", "rollbackOnFailure": rollback,
            // The test created the Deployment, so its client's field manager owns the image.
            "takeOwnership": true}
    }))
    .unwrap();
    Api::<Binding>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &binding)
        .await
        .expect("create Binding");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("webhook-secret"),
        format!("{WEBHOOK_SECRET}\n"),
    )
    .unwrap();
    World {
        kube,
        gh,
        reg,
        repo,
        image,
        dir,
    }
}

/// The real `mosaic-webhook` binary, running.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `mosaic-webhook` binary: cargo names it for integration tests; examples (which cargo
/// does not tell) find it in their profile directory, where their script builds it.
pub fn webhook_bin() -> PathBuf {
    option_env!("CARGO_BIN_EXE_mosaic-webhook")
        .map(PathBuf::from)
        .unwrap_or_else(|| mosaic_tests::bin_path("mosaic-webhook"))
}

/// Start the binary for `w` with `identity`; waits until `/readyz` answers 200.
pub async fn start(w: &World, identity: &str, extra: &[&str]) -> Server {
    start_with(w, identity, extra, &w.kube.kubeconfig).await
}

/// As `start`, talking to the API server with `kubeconfig` (e.g. one that impersonates a
/// ServiceAccount).
pub async fn start_with(
    w: &World,
    identity: &str,
    extra: &[&str],
    kubeconfig: &std::path::Path,
) -> Server {
    let port = free_port();
    let log = w.dir.path().join(format!("{identity}-{port}.log"));
    let stderr = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(webhook_bin());
    cmd.args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--namespace",
        w.ns(),
    ])
    .args(["--webhook-secret-file", w.secret_file().to_str().unwrap()])
    .args([
        "--github-api-url",
        &w.gh.url,
        "--identity",
        identity,
        "--log-format",
        "json",
    ])
    .args(extra);
    // Short test timings, each unless `extra` gives that flag itself. No resync unless asked
    // for: it would record a test's commits before the test delivers them.
    for (flag, value) in [
        ("--resync-interval", "0"),
        ("--heartbeat", "1"),
        ("--rollout-timeout", "60"),
        ("--claim-ttl", "3"),
        ("--retry-pauses", "1,2"),
        ("--verify-window", "1s"),
    ] {
        if !extra.contains(&flag) {
            cmd.args([flag, value]);
        }
    }
    cmd.env("RUST_LOG", "info,mosaic_webhook=debug")
        .envs(mosaic_tests::stack_vars())
        .env("KUBECONFIG", kubeconfig)
        .env("MOSAIC_DOCKER_HOST", &mosaic_tests::stack().docker_host)
        .stdout(Stdio::null())
        .stderr(stderr);
    let child = cmd.spawn().expect("start mosaic-webhook");
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
    };
    let http = reqwest::Client::new();
    let url = format!("{}/readyz", server.url);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut last;
    loop {
        match http.get(&url).send().await {
            Ok(r) if r.status() == 200 => break,
            Ok(r) => last = r.text().await.unwrap_or_default(),
            Err(e) => last = e.to_string(),
        }
        if std::time::Instant::now() > deadline {
            let log = std::fs::read_to_string(&server.log).unwrap_or_default();
            panic!("mosaic-webhook not ready after 30 s (last answer: {last})\nserver log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

/// A push payload (octokit's example, re-aimed) for `repo` `main` at `sha`.
pub fn push_body(repo: &str, sha: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/push-branch.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["ref"] = "refs/heads/main".into();
    v["after"] = sha.into();
    v["head_commit"]["id"] = sha.into();
    v["repository"]["full_name"] = repo.into();
    v["repository"]["html_url"] = format!("https://github.com/{repo}").into();
    serde_json::to_vec(&v).unwrap()
}

/// Deliver `body` as event `event` with delivery id `delivery`, signed with `secret`.
pub async fn deliver(
    server: &Server,
    event: &str,
    delivery: &str,
    body: &[u8],
    secret: &str,
) -> (u16, serde_json::Value) {
    let sig = mosaic_webhook::signature::sign(secret.as_bytes(), body);
    let resp = reqwest::Client::new()
        .post(format!("{}/webhooks/github", server.url))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", sig)
        .body(body.to_vec())
        .send()
        .await
        .expect("webhook answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// Deliver a signed `push` of `w`'s repository at `sha` with delivery id `delivery`.
pub async fn push(
    server: &Server,
    w: &World,
    delivery: &str,
    sha: &str,
) -> (u16, serde_json::Value) {
    deliver(
        server,
        "push",
        delivery,
        &push_body(&w.repo, sha),
        WEBHOOK_SECRET,
    )
    .await
}

/// Wait until Build `name` reaches a terminal phase; returns it.
pub async fn terminal(w: &World, name: &str, secs: u64) -> Build {
    let api = w.builds();
    mosaic_tests::eventually(&format!("Build {name} to finish"), secs, || {
        let api = api.clone();
        let name = name.to_string();
        async move {
            let b = api.get_opt(&name).await.ok().flatten()?;
            b.status.as_ref().filter(|s| s.phase.is_terminal())?;
            Some(b)
        }
    })
    .await
}

pub fn phase(b: &Build) -> BuildPhase {
    b.status.as_ref().map(|s| s.phase).unwrap_or_default()
}

/// The image of container `app`.
pub async fn deployed_image(w: &World) -> String {
    let d = w.deployments().get("web").await.unwrap();
    d.spec.template.spec.unwrap().containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

/// Does the registry serve `path@digest` (HEAD with the right credentials)?
pub async fn registry_serves(w: &World, digest: &str) -> u16 {
    let path = w.image.split_once('/').unwrap().1;
    reqwest::Client::new()
        .head(format!(
            "http://{}/v2/{path}/manifests/{digest}",
            w.reg.host
        ))
        .basic_auth(&w.reg.user, Some(&w.reg.password))
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
