//! `explain svc/NAME --probe` on the real test API server, which runs no kubelet:
//! the probe pod is created locked down (no token, non-root, read-only root,
//! limits, deadline, label), never starts, and is deleted when the timeout ends the
//! probe, or when Ctrl-C (SIGINT) stops the plugin while it waits (which then exits
//! non-zero and says so); a probe pod left behind by a plugin killed with SIGKILL
//! is removed by the next run once its run's time is up; probe pods of earlier runs
//! are removed when finished or overdue, a live one is left alone; and a user who
//! may not create pods gets a note naming the missing permissions, with no pod
//! created (a stand-in API that answers SelfSubjectAccessReviews "denied").

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LABEL: &str = "mosaic.nectar.dev/probe";

async fn explain(kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"))
        .arg("explain")
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run kubectl-mosaic")
}

/// Start `kubectl-mosaic explain ARGS` without waiting for it; output piped.
fn spawn_explain(kubeconfig: &std::path::Path, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"))
        .arg("explain")
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start kubectl-mosaic")
}

type PodEvents = futures::stream::BoxStream<'static, kube::Result<WatchEvent<Pod>>>;

/// A watch of the probe pods of `pods`' namespace, from now.
async fn watch_probes(pods: &Api<Pod>) -> PodEvents {
    let rv = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    pods.watch(
        &WatchParams::default().labels(&format!("{LABEL}=true")),
        &rv,
    )
    .await
    .unwrap()
    .boxed()
}

/// The next probe pod the watch sees created, or deleted (`deleted`).
async fn next_probe(events: &mut PodEvents, deleted: bool) -> Pod {
    loop {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(30), events.next())
            .await
            .expect("a probe pod event within 30 s")
            .expect("watch stream open")
            .unwrap();
        match ev {
            WatchEvent::Added(p) if !deleted => return p,
            WatchEvent::Deleted(p) if deleted => return p,
            _ => {}
        }
    }
}

async fn service(client: &kube::Client, ns: &str) {
    let svc: Service = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"clusterIP": "10.96.0.50", "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}))
    .unwrap();
    Api::<Service>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &svc)
        .await
        .unwrap();
}

#[tokio::test]
async fn probe_pod_is_locked_down_times_out_without_a_kubelet_and_is_deleted() {
    let k = mosaic_tests::kube().await;
    let ns = k.namespace.as_str();
    service(&k.client, ns).await;
    let pods: Api<Pod> = Api::namespaced(k.client.clone(), ns);
    let rv = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut events = pods
        .watch(
            &WatchParams::default().labels(&format!("{LABEL}=true")),
            &rv,
        )
        .await
        .unwrap()
        .boxed();

    let out = explain(
        &k.kubeconfig,
        &[
            "svc/web",
            "-n",
            ns,
            "--probe",
            "--probe-timeout",
            "2s",
            "--probe-image",
            "registry.local/curl:8",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("probing from pod mosaic-probe-"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the probe of Service web did not finish within 2 s")
            && stderr.contains("its pod was deleted"),
        "{stderr}"
    );

    // The watch saw the pod created, as asked, and deleted.
    let mut created: Option<Pod> = None;
    let mut deleted = false;
    while !(created.is_some() && deleted) {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
            .await
            .expect("watch events within 10 s")
            .expect("watch stream open")
            .unwrap();
        match ev {
            WatchEvent::Added(p) => created = Some(p),
            WatchEvent::Deleted(_) => deleted = true,
            _ => {}
        }
    }
    let p = serde_json::to_value(created.unwrap()).unwrap();
    assert_eq!(p["spec"]["automountServiceAccountToken"], false);
    assert_eq!(p["spec"]["securityContext"]["runAsNonRoot"], true);
    assert_eq!(p["spec"]["activeDeadlineSeconds"], 10, "at least 10 s");
    assert_eq!(p["spec"]["restartPolicy"], "Never");
    assert!(
        p["metadata"]["annotations"][mosaic_core::explain::probe::EXPIRES].is_string(),
        "{p}"
    );
    let c = &p["spec"]["containers"][0];
    assert_eq!(c["image"], "registry.local/curl:8");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert!(c["resources"]["limits"]["memory"].is_string());
    let script = c["command"][2].as_str().unwrap();
    assert!(script.contains("http://web."), "{script}");
    assert!(script.contains("http://10.96.0.50:80/"), "{script}");
    let left = pods
        .list(&ListParams::default().labels(&format!("{LABEL}=true")))
        .await
        .unwrap();
    assert!(left.items.is_empty(), "no probe pod is left behind");
}

#[tokio::test]
async fn leftovers_of_a_killed_run_are_removed_and_a_live_probe_is_kept() {
    let k = mosaic_tests::kube().await;
    let ns = k.namespace.as_str();
    service(&k.client, ns).await;
    let pods: Api<Pod> = Api::namespaced(k.client.clone(), ns);
    for (name, deadline) in [("mosaic-probe-old", 10), ("mosaic-probe-live", 600)] {
        let p: Pod = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {LABEL: "true"}},
            "spec": {"restartPolicy": "Never", "activeDeadlineSeconds": deadline,
                     "containers": [{"name": "probe", "image": "curl"}]}}))
        .unwrap();
        pods.create(&PostParams::default(), &p).await.unwrap();
    }
    // The old one ran out its deadline: the kubelet marks it Failed.
    pods.patch_status(
        "mosaic-probe-old",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"status": {"phase": "Failed", "reason": "DeadlineExceeded",
            "message": "Pod was active on the node longer than the specified deadline"}}),
        ),
    )
    .await
    .unwrap();
    let out = explain(
        &k.kubeconfig,
        &["svc/web", "-n", ns, "--probe", "--probe-timeout", "1s"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("removed 1 probe pod(s) left behind by an earlier run"),
        "{stderr}"
    );
    let names: Vec<String> = pods
        .list(&ListParams::default().labels(&format!("{LABEL}=true")))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(names, ["mosaic-probe-live"]);
}

/// A stand-in API: lists answer with `items` (the Service `web` for services), a
/// SelfSubjectAccessReview is denied, and any pod creation is recorded.
async fn denying_api(
    dir: &std::path::Path,
) -> (
    std::path::PathBuf,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                // Head, then the body by Content-Length.
                let head_end = loop {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let mut parts = head.split_whitespace();
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
                let path = target.split('?').next().unwrap_or("");
                log.lock().unwrap().push(format!("{method} {path}"));
                let (code, body): (u16, Value) = if method == "POST"
                    && path.ends_with("/selfsubjectaccessreviews")
                {
                    let mut review: Value =
                        serde_json::from_slice(&buf[head_end..]).unwrap_or(json!({}));
                    review["status"] =
                        json!({"allowed": false, "reason": "no RBAC policy matched"});
                    (201, review)
                } else if method == "GET" && path.ends_with("/services") {
                    (
                        200,
                        json!({"kind": "ServiceList", "apiVersion": "v1", "metadata": {}, "items": [
                        {"metadata": {"name": "web", "namespace": "shop", "uid": "s1"},
                         "spec": {"clusterIP": "10.96.0.50", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}]}),
                    )
                } else if method == "GET" {
                    (
                        200,
                        json!({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []}),
                    )
                } else {
                    (
                        404,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not here"}),
                    )
                };
                let body = body.to_string();
                let resp = format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    let kubeconfig = dir.join("kubeconfig-denied");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: shop\n\
             current-context: x\n"
        ),
    )
    .unwrap();
    (kubeconfig, seen)
}

#[tokio::test]
async fn without_permission_the_probe_says_what_is_missing_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (kubeconfig, seen) = denying_api(dir.path()).await;
    let out = explain(&kubeconfig, &["svc/web", "-n", "shop", "--probe"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the probe did not run: you may not create pods, delete pods, get pods/log in namespace shop"),
        "{stderr}"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|r| r.ends_with("/selfsubjectaccessreviews")),
        "{seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|r| r.starts_with("POST") && r.ends_with("/pods")),
        "no pod was created: {seen:?}"
    );
    // --probe is for a named Service or Ingress, live.
    let bad = explain(&kubeconfig, &["deploy/api", "--probe"]).await;
    assert_eq!(
        bad.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--probe needs one Service or Ingress"));
}

#[tokio::test]
async fn ctrl_c_while_the_probe_waits_deletes_the_pod_and_exits_non_zero() {
    let k = mosaic_tests::kube().await;
    let ns = k.namespace.as_str();
    service(&k.client, ns).await;
    let pods: Api<Pod> = Api::namespaced(k.client.clone(), ns);
    let mut events = watch_probes(&pods).await;
    let child = spawn_explain(
        &k.kubeconfig,
        &[
            "svc/web",
            "-n",
            ns,
            "--probe",
            "--probe-timeout",
            "5m",
            "--probe-image",
            "registry.local/curl:8",
        ],
    );
    // The pod exists: the plugin now waits for it, which on this kubelet-less
    // stack would take the whole 5 minutes. Ctrl-C, as a terminal sends it.
    let name = next_probe(&mut events, false).await.metadata.name.unwrap();
    let pid = child.id().expect("the plugin is running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success(), "kill -INT {pid}");
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the plugin ends within 30 s of Ctrl-C")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "interrupted (Ctrl-C): the probe stopped and its pod {name} was deleted"
        )),
        "{stderr}"
    );
    let gone = next_probe(&mut events, true).await;
    assert_eq!(gone.metadata.name.as_deref(), Some(name.as_str()));
    let left = pods
        .list(&ListParams::default().labels(&format!("{LABEL}=true")))
        .await
        .unwrap();
    assert!(left.items.is_empty(), "no probe pod is left behind");
}

#[tokio::test]
async fn a_probe_pod_left_by_a_killed_plugin_is_removed_by_the_next_run() {
    let k = mosaic_tests::kube().await;
    let ns = k.namespace.as_str();
    service(&k.client, ns).await;
    let pods: Api<Pod> = Api::namespaced(k.client.clone(), ns);
    let mut events = watch_probes(&pods).await;
    let mut child = spawn_explain(
        &k.kubeconfig,
        &["svc/web", "-n", ns, "--probe", "--probe-timeout", "4s"],
    );
    let name = next_probe(&mut events, false).await.metadata.name.unwrap();
    // SIGKILL: the plugin gets no chance to clean up.
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let left = pods
        .get(&name)
        .await
        .expect("the killed run's pod is still there");
    let expires = left
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(mosaic_core::explain::probe::EXPIRES))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .expect("the probe pod says when its run will have deleted it");
    // A run started before then may still be waiting for its pod, and leaves it
    // alone; this one starts once that time has passed (the time under test).
    let wait = (expires.to_utc() - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    assert!(wait < std::time::Duration::from_secs(30), "{wait:?}");
    tokio::time::sleep(wait + std::time::Duration::from_secs(1)).await;

    let out = explain(
        &k.kubeconfig,
        &["svc/web", "-n", ns, "--probe", "--probe-timeout", "1s"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("removed 1 probe pod(s) left behind by an earlier run"),
        "{stderr}"
    );
    let left = pods
        .list(&ListParams::default().labels(&format!("{LABEL}=true")))
        .await
        .unwrap();
    assert!(
        left.items.is_empty(),
        "neither the killed run's pod nor the new run's is left: {:?}",
        left.items
            .iter()
            .map(|p| &p.metadata.name)
            .collect::<Vec<_>>()
    );
}
