//! The real `mosaic-webhook` binary as a child process, and signed GitHub deliveries to it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hmac::{KeyInit, Mac};

use super::{WEBHOOK_SECRET, World};

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

/// The `mosaic-webhook` binary in the running test's or example's profile directory: cargo
/// builds it there for the webhook's integration tests, and the examples' scripts build it.
pub fn webhook_bin() -> PathBuf {
    crate::bin_path("mosaic-webhook")
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
        .envs(crate::stack_vars())
        .env("KUBECONFIG", kubeconfig)
        .env("MOSAIC_DOCKER_HOST", &crate::stack().docker_host)
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
    let path = crate::workspace_root().join("webhook/testdata/push-branch.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["ref"] = "refs/heads/main".into();
    v["after"] = sha.into();
    v["head_commit"]["id"] = sha.into();
    v["repository"]["full_name"] = repo.into();
    v["repository"]["html_url"] = format!("https://github.com/{repo}").into();
    serde_json::to_vec(&v).unwrap()
}

/// The `X-Hub-Signature-256` header GitHub sends for `body` with the hook's `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Deliver `body` as event `event` with delivery id `delivery`, signed with `secret`.
pub async fn deliver(
    server: &Server,
    event: &str,
    delivery: &str,
    body: &[u8],
    secret: &str,
) -> (u16, serde_json::Value) {
    let sig = sign(secret.as_bytes(), body);
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
