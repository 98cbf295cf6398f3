//! `kubectl mosaic install` on the real cluster of `scripts/cluster` (Kubernetes 1.20 from Debian:
//! real controllers, scheduler, kubelet and containerd), the way an air-gapped user runs it
//! (README, Air-gapped clusters): the webhook and engine images made without Docker Hub or
//! GitHub (`scripts/cluster-images`: Debian's dockerd for the engine; the webhook from this
//! build, in scripts/test the static release binary on `scratch` as released),
//! mirrored into the stack's htpasswd registry, pulled by the node with the pull secret put on
//! both ServiceAccounts (intake and builder) before install, and named by `--image` and `--engine-image`;
//! GitHub named by `--github-api-url`; the registry, plain HTTP at the node address, by
//! `--insecure-registry`; the token and registry credentials stored by install. Then a Binding
//! that names no Secret, a push, and:
//! - two intake pods (no engine) and two builder pods (each with its engine) start and never
//!   restart;
//! - a builder pod claims the Build and its engine builds the image (and removes it once
//!   pushed), pushed
//!   to the htpasswd registry with the stored `mosaic-registry` credentials, and the GitHub calls
//!   carry the stored `mosaic-github` token (the fake GitHub answers 401 without it, the
//!   repository is private, and the webhook posts the commit status);
//! - the real Deployment controller rolls to the digest, and the kubelet runs it.
//!
//! What stands in for a real cluster's network (`scripts/cluster`): no kube-proxy and no DNS; a
//! nat rule leads the `kubernetes` Service to the API server and the node address to the host's
//! loopback services (the stack's registry, the fake GitHub). The push is delivered to an intake
//! pod's address, not through the Service. `#[ignore]`d: scripts/test's cluster phase runs it
//! with `--ignored`, after the other cluster tests (the webhook it installs watches every
//! namespace until the test uninstalls it).

use std::process::{Command, Output};
use std::time::Instant;

use base64::Engine as _;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};
use mosaic_core::names;
use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::fake_github::FakeGitHub;
use mosaic_tests::webhook::*;
use serde_json::json;

/// The variables `scripts/cluster up` and `scripts/cluster-images` print.
fn var(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not set: run `eval \"$(scripts/cluster up)\"` and \
                 `eval \"$(scripts/cluster-images target/debug/mosaic-webhook)\"` first \
                 (scripts/test's cluster phase does)"
            )
        })
}

/// Run the built `kubectl-mosaic` (scripts/test builds it before the cluster phase).
fn kubectl_mosaic(w: &World, args: &[&str], env: &[(&str, &str)]) -> Output {
    let bin = mosaic_tests::bin_path("kubectl-mosaic");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p kubectl-mosaic` first",
        bin.display()
    );
    Command::new(&bin)
        .args(args)
        .env("KUBECONFIG", &w.kube.kubeconfig)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()))
}

/// Run `kubectl ARGS` against `w`'s cluster; panics with its stderr when it fails.
fn kubectl(w: &World, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&w.kube.kubeconfig)
        .args(args)
        .output()
        .expect("run kubectl (scripts/cluster installs it)");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Uninstalls on drop, so that a failed test leaves no webhook watching the other tests'
/// namespaces; `uninstall` does it at the end of a passing one, and checks it.
struct Installed {
    kubeconfig: std::path::PathBuf,
    namespace: String,
}

impl Installed {
    fn run(&self) -> Output {
        let bin = mosaic_tests::bin_path("kubectl-mosaic");
        Command::new(&bin)
            .args(["uninstall", "-n", &self.namespace])
            .env("KUBECONFIG", &self.kubeconfig)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()))
    }

    fn uninstall(self) {
        let out = self.run();
        assert!(
            out.status.success(),
            "uninstall: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::mem::forget(self);
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = self.run();
    }
}

/// The webhook's pods in `ns`.
async fn webhook_pods(w: &World, ns: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(w.kube.client.clone(), ns)
        .list(
            &ListParams::default()
                .labels(&format!("app.kubernetes.io/name={}", names::WEBHOOK_NAME)),
        )
        .await
        .expect("list the webhook pods")
        .items
}

/// Every container of `pod` ready, and none restarted: (name, restarts) of those that did.
fn restarted(pod: &Pod) -> Vec<(String, i32)> {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    // A builder runs the webhook and its engine; the intake runs the webhook alone.
    let builder = pod
        .metadata
        .name
        .as_deref()
        .is_some_and(|n| n.starts_with(names::BUILDER_NAME));
    let want = if builder { 2 } else { 1 };
    assert_eq!(
        statuses.len(),
        want,
        "containers of {:?}: {statuses:?}",
        pod.metadata.name
    );
    assert!(statuses.iter().all(|c| c.ready), "{statuses:?}");
    statuses
        .into_iter()
        .filter(|c| c.restart_count != 0)
        .map(|c| (c.name, c.restart_count))
        .collect()
}

#[tokio::test]
#[ignore = "needs the real cluster and its images: eval \"$(scripts/cluster up)\"; eval \"$(scripts/cluster-images target/debug/mosaic-webhook)\"; run by scripts/test's cluster phase"]
async fn cluster_install_then_a_push_is_built_in_cluster_with_the_stored_credentials() {
    let engine_image = var("MOSAIC_CLUSTER_ENGINE_IMAGE");
    let webhook_image = var("MOSAIC_CLUSTER_WEBHOOK_IMAGE");
    // The stack's registry and the fake GitHub as pods reach them: at the node address.
    let registry = var("MOSAIC_CLUSTER_REGISTRY");
    let node_ip = var("MOSAIC_CLUSTER_NODE_IP");
    let gh = FakeGitHub::start_advertised(GITHUB_TOKEN, &node_ip).await;

    let kube = mosaic_tests::cluster::kube().await;
    let app = json!({"name": "app", "image": PAUSE_IMAGE, "ports": [{"containerPort": PORT}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": PORT},
            "periodSeconds": 1, "failureThreshold": 1, "timeoutSeconds": 1}});
    let dep = json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [app], "imagePullSecrets": [{"name": "registry"}],
                    "terminationGracePeriodSeconds": 1, "enableServiceLinks": false}}}
    });
    let mut w = world_in(kube, Some(&registry), None, false, dep).await;
    w.gh = gh;
    w.gh.add_repo(&w.repo, true);
    let sys = format!("{}-mosaic", w.ns());

    // The user's credentials: a token in the environment, `docker login`'s file.
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", w.reg.user, w.reg.password));
    let docker_config = w.dir.path().join("config.json");
    std::fs::write(
        &docker_config,
        json!({"auths": {registry.clone(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    // The images come from the mirror, which wants credentials: the README's steps before
    // install (the ServiceAccount's imagePullSecrets, which install keeps).
    kubectl(&w, &["create", "namespace", &sys]);
    kubectl(
        &w,
        &[
            "-n",
            &sys,
            "create",
            "secret",
            "docker-registry",
            "mirror",
            &format!("--docker-server={registry}"),
            &format!("--docker-username={}", w.reg.user),
            &format!("--docker-password={}", w.reg.password),
        ],
    );
    // Intake and builders run under ServiceAccounts of their own; both pull from the mirror.
    for sa in [names::INTAKE_NAME, names::BUILDER_NAME] {
        kubectl(&w, &["-n", &sys, "create", "serviceaccount", sa]);
        kubectl(
            &w,
            &[
                "-n",
                &sys,
                "patch",
                "serviceaccount",
                sa,
                "-p",
                r#"{"imagePullSecrets": [{"name": "mirror"}]}"#,
            ],
        );
    }
    let installed = Installed {
        kubeconfig: w.kube.kubeconfig.clone(),
        namespace: sys.clone(),
    };
    let t0 = Instant::now();
    let out = kubectl_mosaic(
        &w,
        &[
            "install",
            "-n",
            &sys,
            "--image",
            &webhook_image,
            "--engine-image",
            &engine_image,
            "--insecure-registry",
            &registry,
            "--github-api-url",
            &w.gh.url,
            "--github-token-from-env",
            "MOSAIC_TEST_GITHUB_TOKEN",
            "--registry-credentials-from",
            docker_config.to_str().unwrap(),
            "--timeout",
            "180s",
        ],
        &[("MOSAIC_TEST_GITHUB_TOKEN", GITHUB_TOKEN)],
    );
    let install_time = t0.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "install failed:\n{err}");
    assert!(
        err.contains("webhook ready: ")
            && err.contains(&format!("of 2 {} replicas available", names::INTAKE_NAME))
            && err.contains(&format!("of 2 {} replicas available", names::BUILDER_NAME)),
        "{err}"
    );
    assert!(
        !err.contains(GITHUB_TOKEN) && !err.contains(&w.reg.password),
        "a secret leaked: {err}"
    );
    eprintln!("install: ready in {:.1} s", install_time.as_secs_f64());
    let pods = webhook_pods(&w, &sys).await;
    let of = |part: &str| -> Vec<Pod> {
        pods.iter()
            .filter(|p| {
                p.metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with(part))
            })
            .cloned()
            .collect()
    };
    let (intake, builders) = (of(names::INTAKE_NAME), of(names::BUILDER_NAME));
    assert_eq!(
        (intake.len(), builders.len()),
        (2, 2),
        "two intake and two builder pods"
    );
    for p in &pods {
        assert_eq!(restarted(p), vec![], "{:?} restarted", p.metadata.name);
        // Both images were pulled from the mirror, with the ServiceAccount's pull secret.
        for c in p
            .status
            .as_ref()
            .unwrap()
            .container_statuses
            .as_ref()
            .unwrap()
        {
            assert!(
                c.image_id.contains("/mosaic-mirror/"),
                "{}: {}",
                c.name,
                c.image_id
            );
        }
    }

    // The Binding names no Secret (as `bind` creates it), and the namespace holds no token.
    let unnamed = json!({"spec": {"githubSecret": null, "registrySecret": null}});
    w.bindings()
        .patch("web", &PatchParams::default(), &Patch::Merge(&unnamed))
        .await
        .expect("the Binding names no Secret");
    Api::<Secret>::namespaced(w.kube.client.clone(), w.ns())
        .delete("github", &Default::default())
        .await
        .expect("delete the namespace's github Secret");

    // Push, signed with the secret install made, to an intake pod.
    let hook_secret = Api::<Secret>::namespaced(w.kube.client.clone(), &sys)
        .get(names::WEBHOOK_SECRET_NAME)
        .await
        .expect("the webhook secret")
        .data
        .unwrap_or_default()
        .remove(names::WEBHOOK_SECRET_KEY)
        .expect("its key")
        .0;
    let marker = format!("built in the cluster for {}", w.ns());
    let sha = commit_app(&w, App::Serves(&marker));
    let body = push_body(&w.repo, &sha);
    let ip = intake[0]
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("pod IP");
    let t1 = Instant::now();
    let resp = reqwest::Client::new()
        .post(format!("http://{ip}:8080{}", names::WEBHOOK_PATH))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", "d-install")
        .header(
            "x-hub-signature-256",
            mosaic_webhook::signature::sign(&hook_secret, &body),
        )
        .body(body)
        .send()
        .await
        .expect("the webhook pod answers");
    assert_eq!(resp.status().as_u16(), 201, "{:?}", resp.text().await);

    let b = terminal(&w, &build_name("web", &sha), 300).await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let image = st.image.expect("image recorded");
    let (repo, digest) = image.split_once('@').expect("image by digest");
    assert!(repo.starts_with(&format!("{registry}/")), "{image}");
    assert_eq!(deployed_image(&w).await, image);
    eprintln!(
        "push: Build Succeeded {:.1} s after the delivery",
        t1.elapsed().as_secs_f64()
    );

    // A builder pod claimed and built it with the engine beside it; the intake has no engine.
    for p in &intake {
        let containers = &p.spec.as_ref().unwrap().containers;
        assert_eq!(
            containers.len(),
            1,
            "the intake runs no engine: {containers:?}"
        );
    }
    let builder = st.claimed_by.clone().expect("claimed by a builder");
    assert!(
        builders
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(builder.as_str())),
        "{builder} is one of the builder pods"
    );
    // Its engine answers, and no longer keeps the image it pushed (removed after the push).
    let images = kubectl(
        &w,
        &[
            "-n",
            &sys,
            "exec",
            &builder,
            "-c",
            "docker",
            "--",
            "docker",
            "-H",
            "unix:///run/mosaic-engine/docker.sock",
            "images",
            "--digests",
            "--format",
            "{{.Repository}}@{{.Digest}}",
        ],
    );
    assert!(
        !images.lines().any(|l| l == image),
        "{builder}'s engine removed {image} after the push: {images}"
    );

    // The stored token was used: private repository, 401 without it, and the statuses posted.
    assert!(w.gh.tarball_downloads() >= 1);
    let last = w.gh.statuses(&sha).pop().expect("commit statuses posted");
    assert_eq!(last.state, "success", "{}", last.description);

    // The real controllers rolled to the digest; the kubelet pulled it and runs it.
    mosaic_tests::eventually("one Ready pod of the pushed digest", 90, || {
        let (w, image) = (&w, &image);
        async move {
            let pods = web_pods(w).await;
            let ok = pods.len() == 1
                && spec_image(&pods[0]) == image
                && app_status(&pods[0]).is_some_and(|c| c.ready && c.image_id.ends_with(digest));
            ok.then_some(())
        }
    })
    .await;
    let pods = webhook_pods(&w, &sys).await;
    for p in &pods {
        assert_eq!(restarted(p), vec![], "{:?} restarted", p.metadata.name);
    }

    installed.uninstall();
}
