//! The HTTP intake (axum): `POST /webhooks/github/{namespace}` verifies the signature over the
//! raw body with that namespace's secret (`ns_secrets`) and reaches only its Bindings;
//! `POST /webhooks/github` verifies with the cluster's secret and reaches the namespaces without
//! a secret of their own (one delivery: `delivery`). Then it decides, records Builds through the
//! Kubernetes API and answers at once; the handler does no other work (no GitHub call). Also
//! `/healthz`, `/readyz` and `/metrics`, and the request deadline every route answers within.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mosaic_core::names;
use serde_json::json;

use crate::intake::answer::reply;
use crate::intake::body::MAX_BODY;
use crate::intake::delivery::{webhook, webhook_ns};
use crate::intake::state::AppState;

/// The router. Every answer the intake gives, including the body cap (413) and the request
/// deadline (408), is one line of JSON.
pub fn router(state: Arc<AppState>, request_timeout: Duration) -> Router {
    Router::new()
        .route(names::WEBHOOK_PATH, post(webhook))
        .route(
            &format!("{}/{{namespace}}", names::WEBHOOK_PATH),
            post(webhook_ns),
        )
        .route(names::HEALTHZ_PATH, get(|| async { "ok" }))
        .route(names::READYZ_PATH, get(readyz))
        .route(names::METRICS_PATH, get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            request_timeout,
            deadline,
        ))
        .with_state(state)
}

/// Answer 408 (JSON) when a request, body included, takes longer than `limit`.
async fn deadline(
    State(limit): State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => reply(
            StatusCode::REQUEST_TIMEOUT,
            json!({"error": format!("the request was not complete within {} s; send the whole body at once, or redeliver", limit.as_secs_f64())}),
        ),
    }
}

async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    let mut missing = Vec::new();
    if !st.readiness.bindings_synced.load(Ordering::Relaxed) {
        missing.push("Binding watch not synced");
    }
    if !st.readiness.builds_synced.load(Ordering::Relaxed) {
        missing.push("Build watch not synced");
    }
    let engine_ok = match &st.engine {
        Some(e) => tokio::time::timeout(Duration::from_secs(2), e.ping())
            .await
            .unwrap_or(false),
        None => true,
    };
    if !engine_ok {
        missing.push("Docker engine unreachable");
    }
    if missing.is_empty() {
        reply(StatusCode::OK, json!({"ready": true}))
    } else {
        reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ready": false, "waiting": missing}),
        )
    }
}

async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.render(),
    )
        .into_response()
}
