//! The HTTP intake (axum): `POST /webhooks/github` verifies the signature over the raw body,
//! decides, records Builds through the Kubernetes API and answers at once; the handler does no
//! other work. Also `/healthz`, `/readyz` and `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kube::api::{Api, PostParams};
use kube::runtime::reflector::Store;
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};
use serde_json::json;

use crate::decide::{Decision, decide};
use crate::docker::Engine;
use crate::metrics::Metrics;
use crate::signature::{self, WebhookSecret};

/// GitHub caps webhook payloads at 25 MiB.
pub const MAX_BODY: usize = 25 * 1024 * 1024;
/// An announced oversize body up to this size is read and dropped after the 413 ...
const DRAIN_MAX: u64 = 4 * MAX_BODY as u64;
/// ... for at most this long.
const DRAIN_FOR: Duration = Duration::from_secs(10);

/// Readiness inputs, flipped by the watches as they sync.
#[derive(Default)]
pub struct Readiness {
    pub bindings_synced: AtomicBool,
    pub builds_synced: AtomicBool,
}

/// Everything the handlers share.
pub struct AppState {
    pub secrets: Vec<WebhookSecret>,
    pub bindings: Vec<Store<Binding>>,
    pub client: kube::Client,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    /// The engine `/readyz` checks; `None` on an intake-only replica, which needs none.
    pub engine: Option<Engine>,
}

/// The router. Every answer the intake gives, including the body cap (413) and the request
/// deadline (408), is one line of JSON.
pub fn router(state: Arc<AppState>, request_timeout: Duration) -> Router {
    Router::new()
        .route(names::WEBHOOK_PATH, post(webhook))
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

fn too_large() -> Response {
    reply(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({"error": format!("the body is larger than GitHub's {} MiB webhook cap; this is not a GitHub delivery", MAX_BODY / (1024 * 1024))}),
    )
}

/// The raw body, capped at [`MAX_BODY`]: an announced `Content-Length` above the cap is refused
/// before a byte is read.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = announced.filter(|&n| n > MAX_BODY as u64) {
        // Answer at once, but keep reading (and dropping) what the client still sends, for a
        // while: a client that writes the whole body before it reads then sees the 413 instead
        // of a broken pipe. Absurd sizes are not drained: the connection just closes.
        if n <= DRAIN_MAX {
            tokio::spawn(async move {
                let mut body = body.into_data_stream();
                let drain = async { while futures::StreamExt::next(&mut body).await.is_some() {} };
                let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
            });
        }
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        {
            too_large()
        } else {
            reply(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("could not read the body: {e}; redeliver")}),
            )
        }
    })
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn webhook(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(&headers, body).await {
        Ok(b) => b,
        Err(r) => {
            let too_large = r.status() == StatusCode::PAYLOAD_TOO_LARGE;
            st.metrics.request(if too_large {
                "too_large"
            } else {
                "bad_request"
            });
            return r;
        }
    };
    let sig = headers
        .get(signature::SIGNATURE_HEADER)
        .map(|v| v.as_bytes());
    if let Err(e) = signature::verify(&st.secrets, sig, &body) {
        st.metrics.request("unauthorized");
        tracing::warn!(error = %e, "webhook refused");
        return reply(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}));
    }
    let Some(event) = header(&headers, "x-github-event") else {
        st.metrics.request("bad_request");
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "missing X-GitHub-Event header"}),
        );
    };
    let delivery = header(&headers, "x-github-delivery");
    let bindings: Vec<Binding> = st
        .bindings
        .iter()
        .flat_map(|s| s.state())
        .map(|b| (*b).clone())
        .collect();
    let decision = match decide(event, delivery, &body, &bindings, chrono::Utc::now()) {
        Ok(d) => d,
        Err(e) => {
            st.metrics.request("bad_request");
            tracing::warn!(event, delivery, error = %e, "webhook payload refused");
            return reply(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
        }
    };
    match decision {
        Decision::Pong => {
            st.metrics.request("pong");
            reply(StatusCode::OK, json!({"result": "pong"}))
        }
        Decision::Ignored { reason, message } => {
            st.metrics.request("ignored");
            tracing::info!(event, delivery, reason, message, "webhook ignored");
            reply(
                StatusCode::ACCEPTED,
                json!({"result": "ignored", "reason": reason, "message": message}),
            )
        }
        Decision::Record(builds) => record(st, delivery.map(str::to_owned), builds).await,
    }
}

/// Create `b`, or find it already recorded. A name taken by another commit (the names carry a
/// 12-digit commit prefix) falls back to a longer, equally deterministic name.
async fn record_one(api: &Api<Build>, mut b: Build) -> Result<(String, bool), kube::Error> {
    let names = [
        b.metadata.name.clone().unwrap_or_default(),
        crate::decide::collision_name(&b),
    ];
    for name in names {
        b.metadata.name = Some(name.clone());
        match api.create(&PostParams::default(), &b).await {
            Ok(_) => return Ok((name, true)),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                if api.get(&name).await?.spec.commit == b.spec.commit {
                    return Ok((name, false));
                }
                tracing::warn!(build = %name, commit = %b.spec.commit, "Build name taken by another commit");
            }
            Err(e) => return Err(e),
        }
    }
    Err(kube::Error::Api(
        kube::core::Status::failure(
            "both Build names are taken by other commits",
            "AlreadyExists",
        )
        .with_code(409)
        .boxed(),
    ))
}

/// Record every Build of one push, concurrently, in a task of its own: the request deadline
/// can end the answer, never the recording half-way (a push is never left half recorded).
async fn record(st: Arc<AppState>, delivery: Option<String>, builds: Vec<Build>) -> Response {
    let task = tokio::spawn(record_all(st.clone(), delivery, builds));
    match task.await {
        Ok(r) => r,
        Err(e) => {
            st.metrics.request("error");
            tracing::error!(error = %e, "recording task failed");
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "recording the Builds failed inside the webhook; redeliver"}),
            )
        }
    }
}

async fn record_all(st: Arc<AppState>, delivery: Option<String>, builds: Vec<Build>) -> Response {
    let delivery = delivery.as_deref();
    let outcomes = futures::future::join_all(builds.into_iter().map(|b| {
        let ns = b.metadata.namespace.clone().unwrap_or_default();
        let commit = b.spec.commit.clone();
        let api = Api::<Build>::namespaced(st.client.clone(), &ns);
        async move { (ns, commit, record_one(&api, b).await) }
    }))
    .await;
    let (mut created, mut existing, mut failed) = (Vec::new(), Vec::new(), None);
    for (ns, commit, outcome) in outcomes {
        match outcome {
            Ok((name, true)) => {
                tracing::info!(delivery, build = %format!("{ns}/{name}"), %commit, "build recorded");
                created.push(format!("{ns}/{name}"));
            }
            Ok((name, false)) => existing.push(format!("{ns}/{name}")),
            Err(e) => {
                tracing::error!(delivery, namespace = %ns, %commit, error = %e, "recording build failed");
                failed.get_or_insert(format!("could not record the Build of {commit} in {ns}: {e}; redeliver the webhook once the cluster API is reachable"));
            }
        }
    }
    if let Some(error) = failed {
        st.metrics.request("error");
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": error, "created": created, "existing": existing}),
        );
    }
    let status = if created.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    st.metrics.request(if created.is_empty() {
        "duplicate"
    } else {
        "created"
    });
    reply(
        status,
        json!({"result": "recorded", "created": created, "existing": existing}),
    )
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

/// Serve `app` over HTTP/1.1 until `shutdown`: each connection must send its request headers
/// within `header_timeout` (slow senders are disconnected), and on shutdown connections finish
/// their current request and close.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let tracker = tokio_util::task::TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let app = app.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    tower::ServiceExt::oneshot(app.clone(), req.map(axum::body::Body::new))
                });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            let mut conn = std::pin::pin!(conn);
            let r = tokio::select! {
                r = conn.as_mut() => r,
                () = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    tracker.close();
    tracker.wait().await;
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
