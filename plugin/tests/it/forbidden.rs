//! Permission errors end to end: a tiny API endpoint answers every request with
//! the 403 Status a Kubernetes RBAC authorizer sends (message and all), and the
//! plugin's error names who was refused which verb on which resource where, and
//! the manifests/rbac.yaml rule that grants it, or that none does.

use std::process::Output;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::authz;
use authz::{attributes, status_body};

/// Serve 403s as `user` on a loopback port; returns the kubeconfig pointing at it.
async fn forbidding_api(user: &'static str, dir: &std::path::Path) -> std::path::PathBuf {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let mut parts = head.split_whitespace();
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
                let body = status_body(user, method, target);
                let resp = format!(
                    "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    let kubeconfig = dir.join(format!("kubeconfig-{}", user.replace(':', "-")));
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: shop\n\
             current-context: x\n"
        ),
    )
    .unwrap();
    kubeconfig
}

async fn plugin(kubeconfig: &std::path::Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run kubectl-mosaic")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_attributes_of_requests_are_parsed_like_the_authorizer() {
    assert_eq!(
        attributes(
            "GET",
            "/apis/mosaic.nectar.dev/v1alpha1/namespaces/shop/bindings?limit=5"
        ),
        (
            "list".into(),
            "mosaic.nectar.dev".into(),
            "bindings".into(),
            Some("shop".into())
        )
    );
    assert_eq!(
        attributes("GET", "/api/v1/namespaces/shop/pods/p/log"),
        (
            "get".into(),
            String::new(),
            "pods/log".into(),
            Some("shop".into())
        )
    );
    assert_eq!(
        attributes("GET", "/api/v1/namespaces/mosaic-system"),
        ("get".into(), String::new(), "namespaces".into(), None)
    );
}

#[tokio::test]
async fn a_user_is_told_what_was_refused_and_which_rule_grants_it() {
    let dir = tempfile::tempdir().unwrap();
    let kc = forbidding_api("alice", dir.path()).await;

    let list = plugin(&kc, &["list"]).await;
    let err = stderr(&list);
    assert_eq!(list.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: forbidden: user \"alice\" may not list bindings.mosaic.nectar.dev in namespace \"shop\""), "{err}");
    assert!(
        err.contains("manifests/rbac.yaml (rule \"mosaic.nectar.dev bindings [get list watch]\")"),
        "{err}"
    );
    assert!(
        err.contains("kubectl auth can-i list bindings.mosaic.nectar.dev -n shop --as alice"),
        "{err}"
    );

    // Installing needs rights no Mosaic rule grants: said so.
    let install = plugin(&kc, &["install", "--wait=false"]).await;
    let err = stderr(&install);
    assert_eq!(install.status.code(), Some(1), "{err}");
    assert!(
        err.contains("user \"alice\" may not get namespaces at cluster scope"),
        "{err}"
    );
    assert!(
        err.contains("no rule in Mosaic's manifests/rbac.yaml grants this"),
        "{err}"
    );
}

#[tokio::test]
async fn the_webhook_service_account_is_pointed_at_its_cluster_role() {
    let dir = tempfile::tempdir().unwrap();
    let kc = forbidding_api(
        "system:serviceaccount:mosaic-system:mosaic-builder",
        dir.path(),
    )
    .await;
    let list = plugin(&kc, &["list"]).await;
    let err = stderr(&list);
    assert_eq!(list.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "ServiceAccount \"system:serviceaccount:mosaic-system:mosaic-builder\" may not list"
        ),
        "{err}"
    );
    assert!(
        err.contains("Mosaic's ClusterRole mosaic-builder grants it in manifests/rbac.yaml"),
        "{err}"
    );
    assert!(err.contains("kubectl mosaic install"), "{err}");
}
