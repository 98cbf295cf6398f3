//! A read-only user in front of the real stack. The test API server authorizes everything
//! (AlwaysAllow), so this loopback front does what RBAC would for one user who may only
//! read: requests impersonating that user that are not reads get the authorizer's 403
//! (support/authz.rs); everything else goes on to the real API server, watches included.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::authz::status_body;

#[derive(Clone)]
struct Front {
    upstream: kube::Client,
    reader: &'static str,
}

async fn handle(State(f): State<Front>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let user = parts
        .headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok());
    if user == Some(f.reader) && parts.method != Method::GET {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            status_body(f.reader, parts.method.as_str(), &target),
        )
            .into_response();
    }
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut up = axum::http::Request::builder()
        .method(parts.method.clone())
        .uri(&target);
    for h in [header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(v) = parts.headers.get(&h) {
            up = up.header(h, v);
        }
    }
    let Ok(up) = up.body(kube::client::Body::from(bytes.to_vec())) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match f.upstream.send(up).await {
        Ok(r) => {
            let (p, b) = r.into_parts();
            Response::from_parts(p, Body::new(b))
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Start the front for `reader`; returns a kubeconfig (namespace `ns`) that reaches the
/// stack through it.
pub async fn start(upstream: kube::Client, reader: &'static str, ns: &str, dir: &Path) -> PathBuf {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Front { upstream, reader });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let kubeconfig = dir.join("kubeconfig-front");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: {ns}\n\
             current-context: x\n"
        ),
    )
    .unwrap();
    kubeconfig
}
