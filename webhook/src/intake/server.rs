//! The HTTP intake (axum): `POST /webhooks/github/{namespace}` verifies the signature over the
//! raw body with that namespace's secret (`ns_secrets`) and reaches only its Bindings;
//! `POST /webhooks/github` verifies with the cluster's secret and reaches the namespaces without
//! a secret of their own. Then it decides, records Builds through the Kubernetes API and answers
//! at once; the handler does no other work (no GitHub call). Also `/healthz`, `/readyz` and
//! `/metrics`.

use kube::ResourceExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kube::api::{Api, PostParams};
use kube::runtime::reflector::Store;
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};
use serde_json::json;

use crate::adapters::docker::Engine;
use crate::intake::budget::{Budget, Busy, RETRY_AFTER_SECS, Ticket};
use crate::intake::decide::{Decision, decide};
use crate::intake::signature::{self, Verifier, WebhookSecret};
use crate::metrics::{Metrics, RequestResult};
use crate::readiness::Readiness;

/// GitHub caps webhook payloads at 25 MiB.
pub const MAX_BODY: usize = 25 * 1024 * 1024;
/// An announced oversize body up to this size is read and dropped after the 413 ...
const DRAIN_MAX: u64 = 4 * MAX_BODY as u64;
/// ... for at most this long.
const DRAIN_FOR: Duration = Duration::from_secs(10);

/// Everything the handlers share.
pub struct AppState {
    pub secrets: Vec<WebhookSecret>,
    pub bindings: Vec<Store<Binding>>,
    pub client: kube::Client,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    /// The engine `/readyz` checks; `None` on an intake-only replica, which needs none.
    pub engine: Option<Engine>,
    /// Each namespace's own webhook secret.
    pub ns_secrets: crate::intake::ns_secrets::NamespaceSecrets,
    /// How many deliveries, and how many of their body bytes, are handled at once.
    pub budget: Budget,
}

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

fn too_large() -> Response {
    reply(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({"error": format!("the body is larger than GitHub's {} MiB webhook cap; this is not a GitHub delivery", MAX_BODY / (1024 * 1024))}),
    )
}

/// Read and drop what the client still sends, for a while, after an answer given before its
/// body was read: a client that writes the whole body before it reads then sees the answer
/// instead of a broken pipe. Absurd sizes are not drained: the connection just closes.
fn drain(headers: &HeaderMap, body: Body) {
    if announced(headers).is_some_and(|n| n > DRAIN_MAX) {
        return;
    }
    tokio::spawn(async move {
        let mut body = body.into_data_stream();
        let drain = async { while futures::StreamExt::next(&mut body).await.is_some() {} };
        let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
    });
}

fn announced(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// 503 with `Retry-After`: the intake is at one of its bounds.
fn busy(why: Busy) -> Response {
    let mut r = reply(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": why.to_string()}),
    );
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(RETRY_AFTER_SECS),
    );
    r
}

/// Why the body was not taken: the answer, and the metrics word for it.
type Refused = (Response, RequestResult);

/// The raw body, verified against `keys` while it streams in and counted against the shared
/// budget as it arrives: an announced `Content-Length` above [`MAX_BODY`] (413), a missing or
/// malformed signature (401) and an announced size above what the budget has left (503) are
/// refused before a byte is read; a body that does not match the signature is dropped as soon
/// as it ends.
async fn read_verified(
    headers: &HeaderMap,
    body: Body,
    keys: &[WebhookSecret],
    ticket: &mut Ticket,
) -> Result<Bytes, Refused> {
    let announced = announced(headers);
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        drain(headers, body);
        return Err((too_large(), RequestResult::TooLarge));
    }
    let sig = headers
        .get(signature::SIGNATURE_HEADER)
        .map(|v| v.as_bytes());
    let mut verifier = match Verifier::new(keys, sig) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "webhook refused");
            drain(headers, body);
            let r = reply(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}));
            return Err((r, RequestResult::Unauthorized));
        }
    };
    if let Some(n) = announced
        && let Err(why) = ticket.hold(n as usize)
    {
        drain(headers, body);
        return Err((busy(why), RequestResult::Busy));
    }
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::with_capacity(announced.unwrap_or(0) as usize);
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        let chunk = chunk.map_err(|e| {
            let r = reply(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("could not read the body: {e}; redeliver")}),
            );
            (r, RequestResult::BadRequest)
        })?;
        if buf.len() + chunk.len() > MAX_BODY {
            return Err((too_large(), RequestResult::TooLarge));
        }
        let beyond = (buf.len() + chunk.len()).saturating_sub(ticket.held());
        ticket
            .hold(beyond)
            .map_err(|why| (busy(why), RequestResult::Busy))?;
        verifier.update(&chunk);
        buf.extend_from_slice(&chunk);
    }
    if let Err(e) = verifier.finish() {
        tracing::warn!(error = %e, "webhook refused");
        let r = reply(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}));
        return Err((r, RequestResult::Unauthorized));
    }
    Ok(buf.freeze())
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Which keys verify a delivery, and which Bindings it may reach.
enum Scope {
    /// The cluster's secret; namespaces without a secret of their own.
    Cluster,
    /// One namespace's secret; only its Bindings.
    Namespace(String),
}

async fn webhook(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    handle(st, headers, body, Scope::Cluster).await
}

async fn webhook_ns(
    State(st): State<Arc<AppState>>,
    Path(ns): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(st, headers, body, Scope::Namespace(ns)).await
}

/// One delivery: admitted within the budget and verified, decided, answered.
async fn handle(st: Arc<AppState>, headers: HeaderMap, body: Body, scope: Scope) -> Response {
    // The ticket holds the delivery's share of the budget until the answer is made.
    let (body, _ticket) = match admitted_and_verified(&st, &headers, body, &scope).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let Some(event) = header(&headers, "x-github-event") else {
        st.metrics.request(RequestResult::BadRequest);
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "missing X-GitHub-Event header"}),
        );
    };
    let delivery = header(&headers, "x-github-delivery");
    let bindings = bindings_in(&st, &scope);
    let decision = match decide(event, delivery, &body, &bindings, chrono::Utc::now()) {
        Ok(d) => d,
        Err(e) => {
            st.metrics.request(RequestResult::BadRequest);
            tracing::warn!(event, delivery, error = %e, "webhook payload refused");
            return reply(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
        }
    };
    notify(
        &st,
        &scope,
        crate::intake::notices::notices(event, &body, &bindings),
    );
    match decision {
        Decision::Pong => {
            st.metrics.request(RequestResult::Pong);
            reply(StatusCode::OK, json!({"result": "pong"}))
        }
        Decision::Ignored { reason, message } => {
            st.metrics.request(RequestResult::Ignored);
            tracing::info!(event, delivery, reason, message, "webhook ignored");
            reply(
                StatusCode::ACCEPTED,
                json!({"result": "ignored", "reason": reason, "message": message}),
            )
        }
        Decision::Record(builds) => create_in_scope(st, scope, delivery, builds).await,
    }
}

/// Admit the delivery within the budget, then read its body and verify its signature with the
/// keys of its scope; the refusal is the answer to send.
async fn admitted_and_verified(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
    scope: &Scope,
) -> Result<(Bytes, Ticket), Response> {
    let mut ticket = match st.budget.admit() {
        Ok(t) => t,
        Err(why) => {
            st.metrics.request(RequestResult::Busy);
            drain(headers, body);
            return Err(busy(why));
        }
    };
    let keys = match scope {
        Scope::Cluster => st.secrets.clone(),
        Scope::Namespace(ns) => match st.ns_secrets.route_keys(ns).await {
            Ok(k) => k,
            Err((code, error)) => {
                st.metrics.request(RequestResult::Unauthorized);
                drain(headers, body);
                return Err(reply(code, json!({ "error": error })));
            }
        },
    };
    match read_verified(headers, body, &keys, &mut ticket).await {
        Ok(b) => Ok((b, ticket)),
        Err((r, word)) => {
            st.metrics.request(word);
            Err(r)
        }
    }
}

/// Write the Events saying why Bindings record nothing, after the answer (never in its way).
/// On the cluster route, not in a namespace with a secret of its own.
fn notify(st: &Arc<AppState>, scope: &Scope, notices: Vec<crate::intake::notices::Notice>) {
    if notices.is_empty() {
        return;
    }
    let (st, cluster) = (st.clone(), matches!(scope, Scope::Cluster));
    tokio::spawn(async move {
        let mut kept = Vec::new();
        for n in notices {
            if cluster && !matches!(st.ns_secrets.get(&n.namespace).await, Ok(None)) {
                continue;
            }
            kept.push(n);
        }
        crate::intake::notices::write(st.client.clone(), kept).await;
    });
}

/// The cached Bindings a delivery of `scope` may match.
fn bindings_in(st: &AppState, scope: &Scope) -> Vec<Binding> {
    let only = match scope {
        Scope::Namespace(ns) => Some(ns.as_str()),
        Scope::Cluster => None,
    };
    st.bindings
        .iter()
        .flat_map(|s| s.state())
        .filter(|b| only.is_none() || b.metadata.namespace.as_deref() == only)
        .map(|b| (*b).clone())
        .collect()
}

/// Create the decided Builds; a cluster-wide delivery leaves out the namespaces that verify
/// deliveries with a secret of their own.
async fn create_in_scope(
    st: Arc<AppState>,
    scope: Scope,
    delivery: Option<&str>,
    builds: Vec<Build>,
) -> Response {
    let builds = match scope {
        Scope::Namespace(_) => builds,
        Scope::Cluster => match st.ns_secrets.outside_own(builds).await {
            Ok(b) => b,
            Err((code, error)) => {
                st.metrics.request(RequestResult::Error);
                return reply(code, json!({ "error": error }));
            }
        },
    };
    if builds.is_empty() {
        st.metrics.request(RequestResult::Ignored);
        let message = format!(
            "the matching Bindings' namespaces verify deliveries with their own secret; deliver to {}/<namespace>",
            names::WEBHOOK_PATH
        );
        return reply(
            StatusCode::ACCEPTED,
            json!({"result": "ignored", "reason": "NamespaceSecret", "message": message}),
        );
    }
    create_builds_detached(st, delivery.map(str::to_owned), builds).await
}

/// Create `b`, or find it already recorded. A name taken by another commit (the names carry a
/// 12-digit commit prefix) falls back to a longer, equally deterministic name; one taken by an
/// earlier push of the same commit from another place (a reset back to it: the push's `before`
/// differs) falls back to `decide::repush_name`, so the reset deploys it again while a
/// redelivery still records nothing.
async fn create_build(api: &Api<Build>, mut b: Build) -> Result<(String, bool), kube::Error> {
    let mut names = vec![b.name_any(), crate::intake::decide::collision_name(&b)];
    let mut i = 0;
    while let Some(name) = names.get(i).cloned() {
        i += 1;
        b.metadata.name = Some(name.clone());
        match api.create(&PostParams::default(), &b).await {
            Ok(_) => return Ok((name, true)),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let found = api.get(&name).await?;
                if found.spec.commit != b.spec.commit {
                    tracing::warn!(build = %name, commit = %b.spec.commit, "Build name taken by another commit");
                    continue;
                }
                let repush = found.spec.trigger.kind == b.spec.trigger.kind
                    && found.spec.trigger.before != b.spec.trigger.before;
                match crate::intake::decide::repush_name(&b).filter(|_| repush) {
                    Some(again) if !names.contains(&again) && names.len() < 4 => {
                        names.insert(i, again)
                    }
                    _ => return Ok((name, false)),
                }
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
async fn create_builds_detached(
    st: Arc<AppState>,
    delivery: Option<String>,
    builds: Vec<Build>,
) -> Response {
    let task = tokio::spawn(create_builds(st.clone(), delivery, builds));
    match task.await {
        Ok(r) => r,
        Err(e) => {
            st.metrics.request(RequestResult::Error);
            tracing::error!(error = %e, "recording task failed");
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "recording the Builds failed inside the webhook; redeliver"}),
            )
        }
    }
}

async fn create_builds(
    st: Arc<AppState>,
    delivery: Option<String>,
    builds: Vec<Build>,
) -> Response {
    let delivery = delivery.as_deref();
    let outcomes = futures::future::join_all(builds.into_iter().map(|b| {
        let ns = b.metadata.namespace.clone().unwrap_or_default();
        let commit = b.spec.commit.clone();
        let api = Api::<Build>::namespaced(st.client.clone(), &ns);
        async move { (ns, commit, create_build(&api, b).await) }
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
        st.metrics.request(RequestResult::Error);
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
        RequestResult::Duplicate
    } else {
        RequestResult::Created
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
