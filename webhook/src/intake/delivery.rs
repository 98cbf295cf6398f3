//! One delivery, from its route to its answer: the scope its route gives (the cluster's secret
//! and the namespaces without one, or one namespace's secret and its Bindings), admission within
//! the budget, the verified body (`body`), the decision (`decide`), the notices written after
//! the answer (`notices`), and the Builds recorded (`record_builds`) in the namespaces the scope
//! reaches.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};
use serde_json::json;

use crate::intake::answer::{busy, reply};
use crate::intake::body::{drain, read_verified};
use crate::intake::budget::Ticket;
use crate::intake::decide::{Decision, decide};
use crate::intake::notices::{self, Notice};
use crate::intake::record_builds::create_builds_detached;
use crate::intake::state::AppState;
use crate::metrics::RequestResult;

/// Which keys verify a delivery, and which Bindings it may reach.
enum Scope {
    /// The cluster's secret; namespaces without a secret of their own.
    Cluster,
    /// One namespace's secret; only its Bindings.
    Namespace(String),
}

/// `POST /webhooks/github`: the cluster's scope.
pub(crate) async fn webhook(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(st, headers, body, Scope::Cluster).await
}

/// `POST /webhooks/github/{namespace}`: that namespace's scope.
pub(crate) async fn webhook_ns(
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
    notify(&st, &scope, notices::notices(event, &body, &bindings));
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
fn notify(st: &Arc<AppState>, scope: &Scope, notices: Vec<Notice>) {
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
        notices::write(st.client.clone(), kept).await;
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

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}
