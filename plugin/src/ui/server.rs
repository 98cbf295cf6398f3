//! The UI's HTTP server: routes, the embedded assets, the pages, and the server-sent events
//! that carry watch changes to open pages (overview rows re-rendered on the server).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use futures::Stream;
use kube::ResourceExt;
use tokio::sync::broadcast::error::RecvError;

pub use super::app::App;
use super::html::page;
use super::security;
use super::state::{Change, View};
use super::{actions, bind, build_page, explain, overview, pages, related};
use crate::output;

const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// How long the first paint waits for the watches' first lists.
const FIRST_LIST: Duration = Duration::from_secs(10);

pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(overview_page))
        .route("/b/{ns}/{name}", get(binding_page))
        .route("/build/{ns}/{name}", get(build_page))
        .route("/events", get(events))
        .route("/act", post(actions::act))
        .route("/explain", get(explain::explain_page))
        .route("/bind/{ns}/{name}", get(bind::bind_page))
        .route("/probe", post(explain::probe_action))
        .route("/assets/app.js", get(js))
        .route("/assets/app.css", get(css))
        .with_state(app.clone())
        .layer(middleware::from_fn_with_state(
            app.keys.clone(),
            security::gate,
        ))
        .layer(middleware::from_fn(security::headers))
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS).into_response()
}

fn not_found(app: &App, what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(
            "Not found",
            &app.scope,
            &app.keys.csrf,
            &format!(
                "<h1>Not found</h1><p>{}</p><p><a href=\"/\">Back to the overview</a></p>",
                super::html::esc(what)
            ),
        )),
    )
        .into_response()
}

async fn overview_page(State(app): State<App>) -> Response {
    app.view.ready(FIRST_LIST).await;
    Html(page(
        "Overview",
        &app.scope,
        &app.keys.csrf,
        &overview::body(&app.view),
    ))
    .into_response()
}

async fn binding_page(
    State(app): State<App>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    app.view.ready(FIRST_LIST).await;
    match app.view.binding(&ns, &name) {
        Some(b) => {
            let dep = app.view.deployment(&ns, &b.spec.deployment);
            let mut body = pages::binding(&app.view, &b, output::now_secs());
            body.push_str("<section id=\"related\" data-live>");
            body.push_str(&related::events(&app.client, &b).await);
            body.push_str(&related::pods(&app.client, &ns, dep.as_deref()).await);
            body.push_str("</section><section id=\"explain\" data-live>");
            body.push_str(&super::insight::findings(&app.client, &ns, &b.spec.deployment).await);
            body.push_str("</section>");
            Html(page(
                &format!("Binding {ns}/{name}"),
                &app.scope,
                &app.keys.csrf,
                &body,
            ))
            .into_response()
        }
        None => not_found(
            &app,
            &format!("binding {name} in namespace {ns} is not in scope"),
        ),
    }
}

async fn build_page(State(app): State<App>, Path((ns, name)): Path<(String, String)>) -> Response {
    app.view.ready(FIRST_LIST).await;
    match app.view.build(&ns, &name) {
        Some(b) => {
            let binding = app.view.binding(&ns, &b.spec.binding);
            Html(page(
                &format!("Build {ns}/{name}"),
                &app.scope,
                &app.keys.csrf,
                &build_page::build(&b, binding.as_deref(), output::now_secs()),
            ))
            .into_response()
        }
        None => not_found(
            &app,
            &format!("build {name} in namespace {ns} is not in scope"),
        ),
    }
}

/// The rows a batch of changes touches: (key, row HTML; empty when the Binding is gone),
/// and whether the batch is every row (a watch relisted).
pub fn rows_for(view: &View, changes: &[Change]) -> (BTreeMap<String, String>, bool) {
    let mut keys: Vec<(String, String)> = vec![];
    let mut all = false;
    for c in changes {
        match c {
            Change::Binding(ns, name) => keys.push((ns.clone(), name.clone())),
            Change::Deployment(ns, d) => keys.extend(
                view.bindings
                    .state_filter(|b| {
                        b.namespace().as_deref() == Some(ns) && &b.spec.deployment == d
                    })
                    .iter()
                    .map(|b| (ns.clone(), b.name_any())),
            ),
            Change::All => all = true,
        }
    }
    if all {
        keys = view
            .bindings()
            .iter()
            .map(|b| (b.namespace().unwrap_or_default(), b.name_any()))
            .collect();
    }
    keys.sort();
    keys.dedup();
    let rows = keys
        .into_iter()
        .map(|(ns, name)| {
            let html = overview::row_of(view, &ns, &name);
            (overview::key(&ns, &name), html)
        })
        .collect();
    (rows, all)
}

/// `GET /events`: one `rows` event per batch of watch changes (gathered for 50 ms).
async fn events(
    State(app): State<App>,
    Query(_q): Query<BTreeMap<String, String>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = app.view.changes.subscribe();
    let stream = futures::stream::unfold((app, rx, true), |(app, mut rx, first)| async move {
        if first {
            let ev = Event::default().event("hello").data("live");
            return Some((Ok(ev), (app, rx, false)));
        }
        let mut batch = vec![];
        match rx.recv().await {
            Ok(c) => batch.push(c),
            Err(RecvError::Lagged(_)) => batch.push(Change::All),
            Err(RecvError::Closed) => return None,
        }
        let until = tokio::time::Instant::now() + Duration::from_millis(50);
        while let Ok(r) = tokio::time::timeout_at(until, rx.recv()).await {
            match r {
                Ok(c) => batch.push(c),
                Err(RecvError::Lagged(_)) => batch.push(Change::All),
                Err(RecvError::Closed) => break,
            }
        }
        let (rows, complete) = rows_for(&app.view, &batch);
        let touched: Vec<&String> = rows.keys().collect();
        let data = serde_json::json!({"rows": rows, "complete": complete, "touched": touched});
        let ev = Event::default().event("rows").data(data.to_string());
        Some((Ok(ev), (app, rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
