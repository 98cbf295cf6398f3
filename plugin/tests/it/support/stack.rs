//! Shared helpers for the plugin's real-stack tests: run the built
//! `kubectl-mosaic` against the test namespace, and create the Deployments,
//! Secrets and Bindings a test needs.

use std::process::Output;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use mosaic_core::Binding;
use mosaic_tests::TestKube;

/// What a finished command printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Assert the command failed with exactly one `error: …` line containing `want`.
    pub fn assert_error(&self, code: i32, want: &str) {
        assert_eq!(self.code, code, "exit code; stderr: {}", self.stderr);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "one error line expected, got: {}",
            self.stderr
        );
        assert!(lines[0].starts_with("error: "), "{}", self.stderr);
        assert!(lines[0].contains(want), "want {want:?} in {:?}", lines[0]);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }

    pub fn assert_ok(&self) {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
    }
}

/// A clean environment for the binary: no KUBECONFIG, no GitHub token, a scratch HOME.
pub fn command(env: &[(&str, &str)]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Run `kubectl mosaic ARGS --kubeconfig … -n NS` for the test namespace.
pub async fn mosaic(k: &TestKube, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = command(env);
    c.args(args)
        .arg("--kubeconfig")
        .arg(&k.kubeconfig)
        .args(["-n", &k.namespace]);
    tokio::task::spawn_blocking(move || c.output().expect("run kubectl-mosaic"))
        .await
        .unwrap()
        .into()
}

/// Create a Deployment with the given (container, image) pairs.
pub async fn deployment(
    k: &TestKube,
    name: &str,
    containers: &[(&str, &str)],
    pull_secret: Option<&str>,
) {
    let containers: Vec<serde_json::Value> = containers
        .iter()
        .map(|(n, i)| serde_json::json!({"name": n, "image": i}))
        .collect();
    let mut pod = serde_json::json!({"containers": containers});
    if let Some(s) = pull_secret {
        pod["imagePullSecrets"] = serde_json::json!([{"name": s}]);
    }
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": k.namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(k.client.clone(), &k.namespace)
        .create(&PostParams::default(), &d)
        .await
        .unwrap_or_else(|e| panic!("creating deployment {name}: {e}"));
}

/// Create a Secret of a type with string data.
pub async fn secret(k: &TestKube, name: &str, type_: &str, data: &[(&str, &[u8])]) {
    let s = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        type_: Some(type_.into()),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), k8s_openapi::ByteString(v.to_vec())))
                .collect(),
        ),
        ..Default::default()
    };
    Api::<Secret>::namespaced(k.client.clone(), &k.namespace)
        .create(&PostParams::default(), &s)
        .await
        .unwrap_or_else(|e| panic!("creating secret {name}: {e}"));
}

/// Apply a Binding directly (as another tool would).
pub async fn binding(
    k: &TestKube,
    name: &str,
    deployment: &str,
    repo: &str,
    image: &str,
) -> Binding {
    let b: Binding = serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
        "metadata": {"name": name, "namespace": k.namespace},
        "spec": {"deployment": deployment, "repo": repo, "image": image}
    }))
    .unwrap();
    Api::<Binding>::namespaced(k.client.clone(), &k.namespace)
        .patch(name, &PatchParams::apply("test-setup"), &Patch::Apply(&b))
        .await
        .unwrap_or_else(|e| panic!("applying binding {name}: {e}"))
}

/// A connected test namespace with Mosaic's CRDs installed.
pub async fn setup() -> TestKube {
    let k = mosaic_tests::kube().await;
    mosaic_tests::install_crds(&k.client).await;
    k
}
