//! A drill's world: a namespace with CRDs, Secrets, and per app a Deployment and a Binding for
//! its own fake-GitHub repository; the registry reached through a fault proxy; the real
//! `mosaic-webhook` binary as child processes; signed deliveries; and a stand-in Deployment
//! controller that completes each rollout after a delay (the test API server runs none).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use mosaic_core::resources::{Binding, Build};
use mosaic_tests::fake_github::{FakeGitHub, File};
use mosaic_tests::fault_proxy::FaultProxy;
use serde_json::json;

pub const SECRET: &str = "drill-whsec-4Kp9";
pub const TOKEN: &str = "ghp_drilltoken_W3nQ8";

/// One Binding, its Deployment (same name) and its repository.
pub struct App {
    pub name: String,
    pub repo: String,
}

pub struct World {
    pub kube: mosaic_tests::TestKube,
    pub gh: FakeGitHub,
    pub proxy: FaultProxy,
    pub apps: Vec<App>,
    pub dir: tempfile::TempDir,
    /// Bytes of incompressible padding in every commit (a bigger context and layer).
    pub padding: usize,
    counter: std::sync::atomic::AtomicU64,
}

/// Set up `apps` apps; images go to the stack's registry through a fault proxy.
pub async fn world(apps: usize, padding: usize) -> World {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kube = mosaic_tests::kube().await;
    mosaic_tests::install_crds(&kube.client).await;
    let reg = mosaic_tests::registry();
    let proxy = FaultProxy::start(&reg.host).await;
    let gh = FakeGitHub::start(TOKEN).await;
    let ns = kube.namespace.clone();
    let client = kube.client.clone();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let auth = b64(&format!("{}:{}", reg.user, reg.password));
    let cfg = json!({"auths": {proxy.host(): {"auth": auth}}}).to_string();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for s in [
        json!({"metadata": {"name": "registry"}, "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": b64(&cfg)}}),
        json!({"metadata": {"name": "github"}, "data": {"token": b64(TOKEN)}}),
    ] {
        let s: Secret = serde_json::from_value(s).expect("Secret");
        secrets
            .create(&PostParams::default(), &s)
            .await
            .expect("create Secret");
    }
    let mut list = Vec::new();
    for i in 0..apps {
        let name = format!("app{i}");
        let repo = format!("acme/{ns}-{i}");
        gh.add_repo(&repo, true);
        let dep: Deployment = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "app", "image": "example.com/app:before"}]}}}
        }))
        .expect("Deployment");
        Api::<Deployment>::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &dep)
            .await
            .expect("create Deployment");
        let binding: Binding = serde_json::from_value(json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "metadata": {"name": name},
            "spec": {"deployment": name, "repo": repo, "branch": "main",
                "image": format!("{}/drill/{ns}/{name}", proxy.host()),
                "registrySecret": "registry", "githubSecret": "github", "rollbackOnFailure": false,
                // The drill created the Deployment, so its client's field manager owns the
                // image: hand it over, as an app team would after `bind` warned.
                "takeOwnership": true}
        }))
        .expect("Binding");
        Api::<Binding>::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &binding)
            .await
            .expect("create Binding");
        list.push(App { name, repo });
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("secret"), SECRET).expect("secret file");
    World {
        kube,
        gh,
        proxy,
        apps: list,
        dir,
        padding,
        counter: Default::default(),
    }
}

impl Drop for World {
    /// With `MOSAIC_DRILL_LOG_DIR` set, keep the webhook logs there.
    fn drop(&mut self) {
        let Some(keep) = std::env::var_os("MOSAIC_DRILL_LOG_DIR") else {
            return;
        };
        let to = PathBuf::from(keep).join(format!("webhook-logs-{}", self.ns()));
        let _ = std::fs::create_dir_all(&to);
        for e in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if e.path().extension().is_some_and(|x| x == "log") {
                let _ = std::fs::copy(e.path(), to.join(e.file_name()));
            }
        }
    }
}

impl World {
    pub fn ns(&self) -> &str {
        &self.kube.namespace
    }
    pub fn builds(&self) -> Api<Build> {
        Api::namespaced(self.kube.client.clone(), self.ns())
    }
    pub fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.kube.client.clone(), self.ns())
    }

    /// Commit a new version of app `i`; returns the commit id.
    pub fn commit(&self, i: usize) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pad = noise(self.padding, n);
        let mut dockerfile = "FROM scratch\nCOPY hello.txt /hello.txt\n".to_string();
        let mut files = vec![File::new("hello.txt", format!("version {n}\n"))];
        if self.padding > 0 {
            dockerfile.push_str("COPY pad.bin /pad.bin\n");
            files.push(File::new("pad.bin", pad));
        }
        files.push(File::new("Dockerfile", dockerfile));
        self.gh.commit(&self.apps[i].repo, "main", files)
    }

    /// The push payload for app `i` at `sha`.
    pub fn push_body(&self, i: usize, sha: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/push-branch.json");
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("push template")).expect("JSON");
        v["ref"] = "refs/heads/main".into();
        v["after"] = sha.into();
        v["head_commit"]["id"] = sha.into();
        v["repository"]["full_name"] = self.apps[i].repo.clone().into();
        serde_json::to_vec(&v).expect("JSON")
    }

    /// Image of app `i`'s container.
    pub async fn image(&self, i: usize) -> String {
        let d = self
            .deployments()
            .get(&self.apps[i].name)
            .await
            .expect("Deployment");
        d.spec.template.spec.expect("pod spec").containers[0]
            .image
            .clone()
            .unwrap_or_default()
    }

    /// Generation of app `i`'s Deployment.
    pub async fn generation(&self, i: usize) -> i64 {
        self.deployments()
            .get(&self.apps[i].name)
            .await
            .expect("Deployment")
            .metadata
            .generation
            .unwrap_or(0)
    }
}

impl World {
    /// How many times the webhook processes logged claiming Build `name` (every log of this world),
    /// including claims that ended it at once (superseded, or refused by the git check).
    pub fn claims_logged(&self, name: &str) -> usize {
        let needle = format!("\"build\":\"{name}\"");
        std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|log| {
                log.lines()
                    .filter(|l| {
                        (l.contains("\"build claimed\"")
                            || l.contains("\"build decided before it started\""))
                            && l.contains(&needle)
                    })
                    .count()
            })
            .sum()
    }
}

/// `len` incompressible bytes, seeded by the clock and `n`.
fn noise(len: usize, n: u64) -> Vec<u8> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    mosaic_tests::noise(len, t ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The real binary, running.
pub struct Webhook {
    pub child: Child,
    pub url: String,
    pub identity: String,
    pub log: PathBuf,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> PathBuf {
    std::env::var_os("MOSAIC_WEBHOOK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| mosaic_tests::bin_path("mosaic-webhook"))
}

/// Start the webhook as `identity` (with `extra` flags) and wait for `/readyz` 200.
pub async fn start(w: &World, identity: &str, extra: &[&str]) -> Webhook {
    let wh = spawn(w, identity, extra);
    ready(&wh, 60).await;
    wh
}

/// Start the webhook without waiting for readiness.
pub fn spawn(w: &World, identity: &str, extra: &[&str]) -> Webhook {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let log = w.dir.path().join(format!("{identity}-{port}.log"));
    let stderr = std::fs::File::create(&log).expect("log file");
    let has = |f: &str| extra.contains(&f);
    let mut defaults: Vec<&str> = vec!["--heartbeat", "1", "--log-format", "json"];
    if !has("--claim-ttl") {
        defaults.extend(["--claim-ttl", "3"]);
    }
    if !has("--rollout-timeout") {
        defaults.extend(["--rollout-timeout", "120"]);
    }
    let child = Command::new(bin())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--namespace",
            w.ns(),
        ])
        .args([
            "--webhook-secret-file",
            w.dir.path().join("secret").to_str().expect("UTF-8 path"),
        ])
        .args(["--github-api-url", &w.gh.url, "--identity", identity])
        .args(defaults)
        .args(extra)
        .env("RUST_LOG", "info,mosaic_webhook=debug")
        .envs(mosaic_tests::stack_vars())
        .env("MOSAIC_DOCKER_HOST", &mosaic_tests::stack().docker_host)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}; build it first", bin().display()));
    Webhook {
        child,
        url: format!("http://127.0.0.1:{port}"),
        identity: identity.to_string(),
        log,
    }
}

/// Wait until `/readyz` answers 200.
pub async fn ready(wh: &Webhook, secs: u64) {
    let http = reqwest::Client::new();
    let url = format!("{}/readyz", wh.url);
    mosaic_tests::eventually(&format!("{} /readyz", wh.identity), secs, || {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r = http.get(url).send().await.ok()?;
            (r.status() == 200).then_some(())
        }
    })
    .await;
}

impl Webhook {
    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the webhook");
        self.child.wait().expect("reap the webhook");
    }

    /// `GET /readyz`: status and body.
    pub async fn readyz(&self) -> (u16, String) {
        match reqwest::get(format!("{}/readyz", self.url)).await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        }
    }

    /// Deliver a push of app `i` at `sha` with delivery id `delivery`: (HTTP status, body).
    pub async fn push(&self, w: &World, i: usize, sha: &str, delivery: &str) -> (u16, String) {
        let body = w.push_body(i, sha);
        let sig = mosaic_tests::webhook::sign(SECRET.as_bytes(), &body);
        let r = reqwest::Client::new()
            .post(format!("{}/webhooks/github", self.url))
            .header("content-type", "application/json")
            .header("x-github-event", "push")
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", sig)
            .timeout(Duration::from_secs(30))
            .body(body)
            .send()
            .await;
        match r {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        }
    }

    /// Does the log contain `needle`?
    pub fn log_contains(&self, needle: &str) -> bool {
        std::fs::read_to_string(&self.log).is_ok_and(|l| l.contains(needle))
    }
}

/// Play the Deployment controller: a new generation is marked rolled out `delay` after it is
/// first seen. Abort the task to stop.
pub fn controller(w: &World, delay: Duration) -> tokio::task::JoinHandle<()> {
    mosaic_tests::webhook::complete_rollouts(w.deployments(), delay)
}
