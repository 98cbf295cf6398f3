//! One test's world: a namespace with the CRDs, the registry and GitHub Secrets, Deployment
//! `web` and Binding `web` for the fake GitHub's `acme/<namespace>`; and what tests read back
//! from it (Builds, the deployed image, the registry).

use std::path::PathBuf;

use base64::Engine as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use mosaic_core::resources::{Binding, Build, BuildPhase};
use serde_json::json;

use crate::fake_github::{FakeGitHub, File};

pub const WEBHOOK_SECRET: &str = "whsec-test-Xq7pL2vN9";
pub const GITHUB_TOKEN: &str = "ghp_testtoken_Zr5kW8mJ3";

/// One test's world.
pub struct World {
    pub kube: crate::TestKube,
    pub gh: FakeGitHub,
    pub reg: crate::Registry,
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
    let kube = crate::kube().await;
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
    kube: crate::TestKube,
    registry_host: Option<&str>,
    registry_password: Option<&str>,
    rollback: bool,
    dep: serde_json::Value,
) -> World {
    crate::install_crds(&kube.client).await;
    let mut reg = crate::registry();
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

/// Wait until Build `name` reaches a terminal phase; returns it.
pub async fn terminal(w: &World, name: &str, secs: u64) -> Build {
    let api = w.builds();
    crate::eventually(&format!("Build {name} to finish"), secs, || {
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
