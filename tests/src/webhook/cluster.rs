//! The webhook on the real cluster (`scripts/cluster`): a World whose Deployment runs on a real
//! kubelet, pulls from the stack's registry with its imagePullSecret and is rolled by the real
//! Deployment controller (no stand-in); apps built from a static busybox `FROM scratch`; the
//! Pods the real controllers made; and `kubectl-mosaic explain` against them.

use std::process::{Command, Output};

use crate::BUSYBOX;
use crate::fake_github::File;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::json;

use super::World;

/// The pod sandbox image `scripts/cluster up` imports into the node's containerd; Deployments
/// start on it, so that no registry is needed before the first push.
pub const PAUSE_IMAGE: &str = "mosaic.local/pause:1";
/// Where the apps listen, and what their readiness probes ask for.
pub const PORT: u16 = 8080;

/// What a pushed commit does when it runs.
#[derive(Debug, Clone, Copy)]
pub enum App<'a> {
    /// busybox httpd on 8080 serving `/` (the marker) and `/healthz`.
    Serves(&'a str),
    /// busybox httpd on 8080 serving `/` (the marker) but no `/healthz`: a probe of it gets 404.
    NoHealthz(&'a str),
    /// Prints a line, runs about 1 s, then exits with code 3.
    CrashesAfterOneSecond,
}

/// A World on the real cluster. Deployment `web` (1 replica) starts on the pause image and pulls
/// with the `registry` Secret; with `probe`, container `app` has a readiness probe GET `probe`
/// on 8080, every second.
pub async fn cluster_world(probe: Option<&str>, rollback: bool) -> World {
    let kube = crate::cluster::kube().await;
    let mut app = json!({"name": "app", "image": PAUSE_IMAGE, "ports": [{"containerPort": PORT}]});
    if let Some(path) = probe {
        app["readinessProbe"] = json!({"httpGet": {"path": path, "port": PORT},
            "periodSeconds": 1, "failureThreshold": 1, "timeoutSeconds": 1});
    }
    let dep = json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [app], "imagePullSecrets": [{"name": "registry"}],
                    "terminationGracePeriodSeconds": 1, "enableServiceLinks": false}}}
    });
    super::world_in(kube, None, None, rollback, dep).await
}

/// Poll `check` every 50 ms until it returns `Some`; after `secs`, panic with `what` and what
/// the cluster shows for `w`'s namespace (node problems, pods, warning Events), so that a
/// timeout on the real cluster says why.
pub async fn eventually_on_cluster<T, F, Fut>(w: &World, what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if std::time::Instant::now() >= deadline {
            let state = crate::cluster::describe(&w.kube, w.ns()).await;
            panic!("timed out after {secs} s waiting for {what}; the cluster shows:{state}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Commit `app` to `w`'s repository; returns the commit id.
pub fn commit_app(w: &World, app: App<'_>) -> String {
    let busybox = std::fs::read(BUSYBOX)
        .unwrap_or_else(|e| panic!("cannot read {BUSYBOX}: {e}; install busybox-static"));
    let httpd = format!(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY site/ /www/\nEXPOSE {PORT}\n\
         ENTRYPOINT [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"{PORT}\", \"-h\", \"/www\"]\n"
    );
    let mut files = vec![File::executable("busybox", busybox)];
    match app {
        App::Serves(marker) | App::NoHealthz(marker) => {
            files.push(File::new("Dockerfile", httpd));
            files.push(File::new("site/index.html", format!("{marker}\n")));
            if matches!(app, App::Serves(_)) {
                files.push(File::new("site/healthz", "ok\n"));
            }
        }
        App::CrashesAfterOneSecond => {
            files.push(File::new(
                "Dockerfile",
                "FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\", \"sh\", \"-c\", \
                 \"echo starting; /bin/busybox sleep 1; echo 'cannot open config' >&2; exit 3\"]\n",
            ));
        }
    }
    w.gh.commit(&w.repo, "main", files)
}

/// The Pods of Deployment `web`, as the real controllers and kubelet wrote them.
pub async fn web_pods(w: &World) -> Vec<Pod> {
    Api::<Pod>::namespaced(w.kube.client.clone(), w.ns())
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list the Pods of web")
        .items
}

/// Container `app`'s status in `pod`.
pub fn app_status(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == "app")
}

/// The image of container `app` in `pod`'s spec.
pub fn spec_image(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == "app"))
        .and_then(|c| c.image.as_deref())
        .unwrap_or_default()
}

/// Run the built `kubectl-mosaic explain ARGS` against `w`'s cluster.
pub fn explain(w: &World, args: &[&str]) -> Output {
    explain_at(&w.kube.kubeconfig, args)
}

/// Run the built `kubectl-mosaic explain ARGS --kubeconfig KUBECONFIG` (colour off). The binary
/// is cargo's (`cargo build -p kubectl-mosaic`; scripts/test has built it by the cluster phase).
pub fn explain_at(kubeconfig: &std::path::Path, args: &[&str]) -> Output {
    let bin = crate::bin_path("kubectl-mosaic");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p kubectl-mosaic` first",
        bin.display()
    );
    Command::new(&bin)
        .arg("explain")
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()))
}

/// The findings of `kubectl-mosaic explain … -o json`.
pub fn findings(out: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "explain's stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["findings"].as_array().cloned().unwrap_or_default()
}
