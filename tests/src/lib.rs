//! Real-stack test support: connects tests to the local stack (Kubernetes API,
//! dockerd, registry) that `scripts/stack up` starts, or reuses a running one named
//! by the environment (`KUBECONFIG`, `DOCKER_HOST`, `MOSAIC_REGISTRY*`), and gives
//! each test its own namespace. `MOSAIC_TEST_KUBECONFIG` points the Kubernetes part
//! at any real cluster (kind, k3d) instead. A stack that cannot start fails the
//! test with the reason; nothing is skipped.
//!
//! Also what the webhook's integration tests and examples share: `webhook` (a test's World,
//! the real binary, signed deliveries, stand-in controllers) and `demo` (the push demo's and the
//! overhead benchmark's sample app, watches and styling).

pub mod cluster;
pub mod demo;
pub mod dockerd;
pub mod fake_github;
pub mod fault_proxy;
mod noise;
pub mod webhook;

pub use noise::noise;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// The static busybox (`busybox-static`, installed by `scripts/stack`): the only binary of the
/// apps that tests and demos build `FROM scratch` (the local dockerd cannot pull a base image).
pub const BUSYBOX: &str = "/bin/busybox";

/// Field manager the test support uses for its own applies.
pub const TEST_FIELD_MANAGER: &str = "mosaic-tests";

/// Where the stack's parts are.
#[derive(Debug, Clone)]
pub struct StackEnv {
    pub kubeconfig: PathBuf,
    pub docker_host: String,
    pub registry: Registry,
}

/// The authenticated test registry.
#[derive(Debug, Clone)]
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    pub user: String,
    pub password: String,
}

/// A connected client with a fresh namespace of its own.
pub struct TestKube {
    pub client: Client,
    pub namespace: String,
    pub kubeconfig: PathBuf,
}

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Path of a binary built by cargo in the same profile as the running test.
pub fn bin_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    dir.join(name)
}

fn parse_exports(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

fn start_stack() -> Result<HashMap<String, String>, String> {
    let script = workspace_root().join("scripts/stack");
    let out = std::process::Command::new(&script)
        .arg("up")
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`scripts/stack up` failed ({}); see its output above",
            out.status
        ));
    }
    Ok(parse_exports(&String::from_utf8_lossy(&out.stdout)))
}

/// The stack, started once per test process when the environment does not name one.
pub fn stack() -> &'static StackEnv {
    static STACK: OnceLock<StackEnv> = OnceLock::new();
    STACK.get_or_init(|| {
        let from_env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let have_env = [
            "KUBECONFIG",
            "DOCKER_HOST",
            "MOSAIC_REGISTRY",
            "MOSAIC_REGISTRY_PASSWORD",
        ]
        .iter()
        .all(|k| from_env(k).is_some());
        let vars: HashMap<String, String> = if have_env {
            [
                "KUBECONFIG",
                "DOCKER_HOST",
                "MOSAIC_REGISTRY",
                "MOSAIC_REGISTRY_USER",
                "MOSAIC_REGISTRY_PASSWORD",
            ]
            .iter()
            .filter_map(|k| from_env(k).map(|v| (k.to_string(), v)))
            .collect()
        } else {
            start_stack().unwrap_or_else(|e| panic!("the real test stack is not available: {e}"))
        };
        let get = |k: &str| {
            vars.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("stack did not report {k}"))
        };
        let kubeconfig = from_env("MOSAIC_TEST_KUBECONFIG").unwrap_or_else(|| get("KUBECONFIG"));
        StackEnv {
            kubeconfig: PathBuf::from(kubeconfig),
            docker_host: get("DOCKER_HOST"),
            registry: Registry {
                host: get("MOSAIC_REGISTRY"),
                user: vars
                    .get("MOSAIC_REGISTRY_USER")
                    .cloned()
                    .unwrap_or_else(|| "mosaic".into()),
                password: get("MOSAIC_REGISTRY_PASSWORD"),
            },
        }
    })
}

/// A client for the stack's Kubernetes API (no namespace created).
pub async fn client() -> Client {
    client_at(&stack().kubeconfig).await
}

/// A client for the Kubernetes API of `path` (no namespace created).
pub async fn client_at(path: &Path) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc =
        Kubeconfig::read_from(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", path.display()));
    let client = Client::try_from(cfg).expect("kube client");
    // Readiness: poll until the API answers (no fixed sleeps).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match client.apiserver_version().await {
            Ok(_) => break,
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::debug!(error = %e, "API not ready yet");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!(
                "the Kubernetes API at {} is not answering: {e}",
                path.display()
            ),
        }
    }
    client
}

/// A unique, DNS-safe name with a prefix.
pub fn unique_name(prefix: &str) -> String {
    use rand::Rng;
    let n: u32 = rand::rng().random();
    format!("{prefix}-{n:08x}")
}

/// Connect and create a fresh namespace for one test.
pub async fn kube() -> TestKube {
    kube_at(&stack().kubeconfig).await
}

/// Connect to the cluster of `kubeconfig` and create a fresh namespace for one test.
pub async fn kube_at(kubeconfig: &Path) -> TestKube {
    let client = client_at(kubeconfig).await;
    let namespace = unique_name("t");
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.clone()),
            labels: Some([("mosaic.nectar.dev/test".to_string(), "true".to_string())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("creating namespace {namespace}: {e}"));
    TestKube {
        client,
        namespace,
        kubeconfig: kubeconfig.to_path_buf(),
    }
}

/// The CRDs of `manifests/crds.yaml`, parsed.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let path = workspace_root().join("manifests/crds.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| {
            <CustomResourceDefinition as serde::Deserialize>::deserialize(d)
                .unwrap_or_else(|e| panic!("{}: not a CRD: {e}", path.display()))
        })
        .collect()
}

/// Apply `manifests/crds.yaml` (server-side) and wait until every CRD is Established.
pub async fn install_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply(TEST_FIELD_MANAGER).force();
    for crd in crds() {
        let name = crd.metadata.name.clone().expect("CRD name");
        api.patch(&name, &pp, &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("applying CRD {name}: {e}"));
        let established = kube::runtime::wait::await_condition(
            api.clone(),
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(Duration::from_secs(30), established)
            .await
            .unwrap_or_else(|_| panic!("CRD {name} not Established within 30 s"))
            .unwrap_or_else(|e| panic!("watching CRD {name}: {e}"));
    }
    // Discovery of the new group can lag Established by a moment: poll a list call.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let bindings: Api<mosaic_core::Binding> = Api::all(client.clone());
    while let Err(e) = bindings.list(&Default::default()).await {
        assert!(
            std::time::Instant::now() < deadline,
            "Binding API not served after 30 s: {e}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until the API server no longer treats Mosaic's CRDs as just created. For 2 s after a
/// CRD's Established condition turns true, apiextensions-apiserver holds every create of that
/// custom resource for 2 s (its crdHandler's `justCreated` guard for HA peers). A cluster where
/// Mosaic is installed is long past that, so a benchmark waits it out rather than time it. The
/// condition's time has whole seconds, so the wait ends 3 s after it.
pub async fn await_crds_settled(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds() {
        let name = crd.metadata.name.expect("CRD name");
        let crd = api
            .get(&name)
            .await
            .unwrap_or_else(|e| panic!("reading CRD {name}: {e}"));
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == "Established" && c.status == "True")
            .unwrap_or_else(|| panic!("CRD {name} is not Established; install_crds first"));
        let Some(since) = established.last_transition_time else {
            continue;
        };
        let age = k8s_openapi::jiff::Timestamp::now().duration_since(since.0);
        // A clock behind the API server's counts as no age at all.
        let age = Duration::try_from(age).unwrap_or_default();
        if let Some(left) = Duration::from_secs(3).checked_sub(age) {
            tokio::time::sleep(left).await;
        }
    }
}

/// A bollard client for the stack's dockerd.
pub fn docker() -> bollard::Docker {
    let host = &stack().docker_host;
    let path = host.strip_prefix("unix://").unwrap_or(host);
    bollard::Docker::connect_with_unix(path, 300, bollard::API_DEFAULT_VERSION)
        .unwrap_or_else(|e| panic!("connecting to dockerd at {host}: {e}"))
}

/// Pull `image` (`repo@sha256:…` in the stack's registry) into the stack's dockerd with the
/// registry's credentials: a builder removes what it pushed, so a test that inspects an image
/// reads it back from the registry, as a node would.
pub async fn pull(image: &str) {
    use futures::StreamExt as _;
    let reg = &stack().registry;
    let creds = bollard::auth::DockerCredentials {
        username: Some(reg.user.clone()),
        password: Some(reg.password.clone()),
        serveraddress: Some(reg.host.clone()),
        ..Default::default()
    };
    let opts = bollard::query_parameters::CreateImageOptions {
        from_image: Some(image.to_string()),
        ..Default::default()
    };
    let docker = docker();
    let mut stream = docker.create_image(Some(opts), None, Some(creds));
    while let Some(step) = stream.next().await {
        if let Err(e) = step {
            panic!("pull {image}: {e}");
        }
    }
}

/// The stack's registry.
pub fn registry() -> Registry {
    stack().registry.clone()
}

/// Environment variables that name the stack, for child processes (CLI and server tests).
pub fn stack_vars() -> Vec<(String, String)> {
    let s = stack();
    vec![
        ("KUBECONFIG".into(), s.kubeconfig.display().to_string()),
        ("DOCKER_HOST".into(), s.docker_host.clone()),
        ("MOSAIC_REGISTRY".into(), s.registry.host.clone()),
        ("MOSAIC_REGISTRY_USER".into(), s.registry.user.clone()),
        (
            "MOSAIC_REGISTRY_PASSWORD".into(),
            s.registry.password.clone(),
        ),
    ]
}

/// Poll `check` every 50 ms until it returns `Some`, or panic after `secs` with `what`.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stack_exports() {
        let v = parse_exports("export A=1\nnoise\nexport B=\"x y\"\n");
        assert_eq!(v["A"], "1");
        assert_eq!(v["B"], "x y");
        assert_eq!(v.len(), 2);
    }
}
