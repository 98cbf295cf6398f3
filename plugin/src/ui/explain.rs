//! The Explain page: pick a namespace and a workload or Service, and read the findings as
//! `kubectl mosaic explain TYPE/NAME -n NS --learn` prints them: the same live gathering
//! (`explain::live`), selection and engine (`cmd::explain::analyse`), and evidence wording
//! (`explain::render`). For a Service, a "Probe" action runs the cURL probe pod
//! (`explain::probe`, as `--probe` does) and reports what it found, or why it did not finish.

use std::fmt::Write as _;
use std::time::Duration;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use mosaic_core::explain::{self as engine, Finding, Severity};
use serde_json::Value;

use super::app::App;
use super::html::{cli, esc, page};
use crate::cmd::explain::analyse;
use crate::error::Error;
use crate::explain::render::evidence_line;
use crate::explain::scope::{self, Target};
use crate::explain::{live, probe};

/// The kinds offered in the picker, with the short type `explain` takes.
const PICKABLE: &[(&str, &str)] = &[
    ("Deployment", "deploy"),
    ("StatefulSet", "sts"),
    ("DaemonSet", "ds"),
    ("Job", "job"),
    ("CronJob", "cronjob"),
    ("Service", "svc"),
    ("Ingress", "ingress"),
];

/// The longest probe the page runs.
const PROBE_MAX: Duration = Duration::from_secs(300);

/// `GET /explain?ns=NS&target=TYPE/NAME`.
#[derive(serde::Deserialize, Debug, Default)]
pub struct Ask {
    #[serde(default)]
    pub ns: Option<String>,
    #[serde(default)]
    pub target: Option<String>,
}

/// Findings with their evidence (in the command line's words), fix and `learn` text.
pub fn findings_html(fs: &[Finding]) -> String {
    if fs.is_empty() {
        return "<p class=\"ok\" id=\"no-findings\">No problems found.</p>".into();
    }
    let mut out = String::from("<ul class=\"findings\">");
    for f in fs {
        let sev = match f.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        };
        let _ = write!(
            out,
            "<li class=\"finding sev-{}\" data-slug=\"{}\"><p><strong>{sev}</strong>{} <code>{}</code> {}/{}: {}</p>",
            sev.to_ascii_lowercase(),
            esc(&f.slug),
            if f.possible { " (possible)" } else { "" },
            esc(&f.slug),
            esc(&f.object.kind),
            esc(&f.object.name),
            esc(&f.summary)
        );
        if !f.evidence.is_empty() {
            out.push_str("<ul class=\"evidence\">");
            for e in &f.evidence {
                let _ = write!(out, "<li><code>{}</code></li>", esc(&evidence_line(e)));
            }
            out.push_str("</ul>");
        }
        for fix in &f.fix {
            let _ = write!(out, "<p class=\"fix\">Fix: {}</p>", esc(fix));
        }
        if let Some(l) = &f.learn {
            let _ = write!(out, "<p class=\"learn\">Learn: {}</p>", esc(l));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    out
}

fn notes_html(notes: &[String]) -> String {
    let mut out = String::new();
    for n in notes {
        let _ = write!(out, "<p class=\"note\">note: {}</p>", esc(n));
    }
    out
}

/// Everything `explain` gathers live in `ns`.
pub async fn gather(client: &kube::Client, ns: &str) -> Result<(Vec<Value>, Vec<String>), Error> {
    let fetch = live::KubeFetch {
        client: client.clone(),
    };
    let g = live::gather(&fetch, Some(ns)).await?;
    Ok((g.objects, g.notes))
}

/// The findings `kubectl mosaic explain TARGET -n NS` reports, from `objects` gathered now.
pub fn findings_for(
    objects: Vec<Value>,
    target: &Target,
    ns: &str,
) -> Result<(Vec<Finding>, Vec<String>), Error> {
    analyse(objects, Some(target), Some(ns), Some(chrono::Utc::now()))
}

/// The `TYPE/NAME` choices in `objects` of namespace `ns`, sorted.
fn choices(objects: &[Value], ns: &str) -> Vec<String> {
    let mut v: Vec<String> = objects
        .iter()
        .filter(|o| o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns))
        .filter_map(|o| {
            let kind = o.get("kind")?.as_str()?;
            let short = PICKABLE.iter().find(|(k, _)| *k == kind)?.1;
            let name = o.pointer("/metadata/name")?.as_str()?;
            Some(format!("{short}/{name}"))
        })
        .collect();
    v.sort();
    v
}

fn picker(app: &App, ns: &str, picked: Option<&str>, options: &[String]) -> String {
    let mut namespaces: Vec<String> = app
        .view
        .deployments
        .state()
        .iter()
        .filter_map(|d| d.metadata.namespace.clone())
        .chain([app.home_ns.clone()])
        .collect();
    namespaces.sort();
    namespaces.dedup();
    let mut out = String::from(
        "<form method=\"get\" action=\"/explain\" class=\"picker\"><label for=\"ns\">Namespace</label> ",
    );
    let _ = write!(
        out,
        "<input id=\"ns\" name=\"ns\" value=\"{}\" list=\"namespaces\" required><datalist id=\"namespaces\">",
        esc(ns)
    );
    for n in &namespaces {
        let _ = write!(out, "<option value=\"{}\"></option>", esc(n));
    }
    out.push_str("</datalist> <label for=\"target\">Workload or Service</label> <select id=\"target\" name=\"target\">");
    for o in options {
        let sel = if Some(o.as_str()) == picked {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option value=\"{0}\"{sel}>{0}</option>", esc(o));
    }
    out.push_str("</select> <button type=\"submit\" id=\"do-explain\">Explain</button></form>");
    out
}

/// `GET /explain`.
pub async fn explain_page(State(app): State<App>, Query(q): Query<Ask>) -> Response {
    let ns =
        q.ns.as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(&app.home_ns)
            .to_string();
    let mut body = String::from("<h1>Explain</h1>");
    let (objects, gather_notes) = match gather(&app.client, &ns).await {
        Ok(g) => g,
        Err(e) => {
            let _ = write!(
                body,
                "<p class=\"error\" role=\"alert\">error: {}</p>",
                esc(&e.to_string())
            );
            (vec![], vec![])
        }
    };
    let options = choices(&objects, &ns);
    let picked = q.target.as_deref().map(str::trim).filter(|t| !t.is_empty());
    body.push_str(&picker(&app, &ns, picked, &options));
    if options.is_empty() {
        let _ = write!(
            body,
            "<p>No workloads or Services in namespace {}.</p>",
            esc(&ns)
        );
    }
    if let Some(t) = picked {
        body.push_str(&explained(objects, gather_notes, &ns, t));
    }
    Html(page("Explain", &app.scope, &app.keys.csrf, &body)).into_response()
}

fn explained(objects: Vec<Value>, mut notes: Vec<String>, ns: &str, t: &str) -> String {
    let mut out = String::new();
    let target = match scope::parse_target(t) {
        Ok(x) => x,
        Err(e) => return format!("<p class=\"error\" role=\"alert\">error: {}</p>", esc(&e)),
    };
    let _ = write!(out, "<section id=\"explained\"><h2>{}</h2>", esc(t));
    out.push_str(&cli(&format!("kubectl mosaic explain {t} -n {ns} --learn")));
    match findings_for(objects, &target, ns) {
        Ok((fs, more)) => {
            notes.extend(more);
            out.push_str(&findings_html(&fs));
        }
        Err(e) => {
            let _ = write!(
                out,
                "<p class=\"error\" role=\"alert\">error: {}</p>",
                esc(&e.to_string())
            );
        }
    }
    out.push_str(&notes_html(&notes));
    if target.kind.kind == "Service" && target.name.is_some() {
        let name = target.name.clone().unwrap_or_default();
        let _ = write!(
            out,
            "<h2>Probe</h2><p>Check the Service from inside the cluster with a short-lived cURL pod \
(DNS, ClusterIP, each endpoint), deleted afterwards.</p>\
<form method=\"post\" action=\"/probe\" class=\"action\" data-confirm=\"{confirm}\">\
<input type=\"hidden\" name=\"namespace\" value=\"{ns}\"><input type=\"hidden\" name=\"service\" value=\"{svc}\">\
<input type=\"hidden\" name=\"csrf\" value=\"\" class=\"csrf\">\
<label for=\"timeout\">Timeout</label> <input id=\"timeout\" name=\"timeout\" value=\"60s\" size=\"6\" required> \
<button type=\"submit\" id=\"do-probe\">Probe</button> <code class=\"cli\">{cmd}</code></form>\
<div id=\"result\" role=\"status\" aria-live=\"polite\"></div>",
            confirm = esc(&format!(
                "Start a probe pod in namespace {ns}? (kubectl mosaic explain svc/{name} -n {ns} --probe)"
            )),
            ns = esc(ns),
            svc = esc(&name),
            cmd = esc(&format!(
                "kubectl mosaic explain svc/{name} -n {ns} --probe --probe-timeout TIMEOUT"
            )),
        );
    }
    out.push_str("</section>");
    out
}

/// The probe form.
#[derive(serde::Deserialize, Debug)]
pub struct ProbeForm {
    pub namespace: String,
    pub service: String,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub csrf: Option<String>,
}

async fn probe_once(app: &App, f: &ProbeForm) -> Result<(Vec<Finding>, Vec<String>), Error> {
    let timeout = mosaic_core::duration::parse_flag(f.timeout.as_deref().unwrap_or("60s").trim())
        .map_err(|e| Error::Usage(format!("timeout: {e}")))?;
    if timeout > PROBE_MAX || timeout.is_zero() {
        return Err(Error::Usage(format!(
            "timeout must be between 1s and {}s",
            PROBE_MAX.as_secs()
        )));
    }
    let target = scope::parse_target(&format!("svc/{}", f.service)).map_err(Error::Usage)?;
    let (objects, mut notes) = gather(&app.client, &f.namespace).await?;
    let ix = engine::Index::build(objects.clone());
    let svc = ix
        .get("Service", Some(&f.namespace), &f.service)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "services {:?} not found in namespace {:?}",
                f.service, f.namespace
            ))
        })?;
    let checks = engine::probe::plan(svc, &ix);
    let (mut findings, more) = findings_for(objects, &target, &f.namespace)?;
    notes.extend(more);
    let ran = probe::run(
        &app.client,
        &f.namespace,
        &checks,
        &app.probe_image,
        timeout,
    )
    .await?;
    probe::attach(&mut findings, &mut notes, &f.service, ran, timeout);
    Ok((findings, notes))
}

/// `POST /probe`: run the probe once and answer with the findings and notes it leaves.
pub async fn probe_action(
    State(app): State<App>,
    headers: HeaderMap,
    Form(f): Form<ProbeForm>,
) -> Response {
    if !super::security::csrf_ok(&app.keys, &headers, f.csrf.as_deref()) {
        return (
            StatusCode::FORBIDDEN,
            "403 Forbidden: the action has no valid CSRF token; reload the page and try again\n",
        )
            .into_response();
    }
    let cmd = format!(
        "kubectl mosaic explain svc/{} -n {} --probe --probe-timeout {}",
        f.service,
        f.namespace,
        f.timeout.as_deref().unwrap_or("60s").trim()
    );
    let (code, html) = match probe_once(&app, &f).await {
        Ok((fs, notes)) => (
            StatusCode::OK,
            format!(
                "<div data-outcome=\"ok\" id=\"probed\">{}{}</div>{}",
                notes_html(&notes),
                findings_html(&fs),
                cli(&cmd)
            ),
        ),
        Err(e) => (
            match &e {
                Error::Usage(_) | Error::Input(_) => StatusCode::BAD_REQUEST,
                Error::NotFound(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::OK,
            },
            format!(
                "<p class=\"error\" role=\"alert\" data-outcome=\"error\">error: {}</p>{}",
                esc(&e.to_string()),
                cli(&cmd)
            ),
        ),
    };
    let html = if headers.get("x-mosaic-fragment").is_none() {
        page("Probe", &app.scope, &app.keys.csrf, &html)
    } else {
        html
    };
    (code, Html(html)).into_response()
}
