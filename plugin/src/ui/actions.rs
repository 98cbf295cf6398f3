//! The UI's actions: deploy a branch or commit, roll back to an earlier Build, pause and
//! resume, scale, unbind. Each is one
//! API call under the user's own credentials (the same calls as the command line), guarded by
//! the CSRF token, and answered with its result, its command-line equivalent and, when the
//! API refuses, the refusal in the command line's words.

use std::fmt::Write as _;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use mosaic_core::{Binding, Build};

use super::action_form::ActionForm;
use super::app::App;
use super::html::{esc, page};
use super::overview::short_digest;
use crate::cmd::{deploy, rollback, target};
use crate::error::Error;
use crate::output;

/// One form with its hidden fields, a label and a button; the script asks for confirmation.
fn form(b: &Binding, action: &str, fields: &str, button: &str, cmd: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/act\" class=\"action\" data-confirm=\"{confirm}\">\
<input type=\"hidden\" name=\"op\" value=\"{action}\">\
<input type=\"hidden\" name=\"namespace\" value=\"{ns}\">\
<input type=\"hidden\" name=\"binding\" value=\"{name}\">\
<input type=\"hidden\" name=\"csrf\" value=\"\" class=\"csrf\">{fields}\
<button type=\"submit\" id=\"do-{action}\">{button}</button> <code class=\"cli\">{cmd}</code></form>",
        confirm = esc(&format!("{button}? ({cmd})")),
        ns = esc(&b.namespace().unwrap_or_default()),
        name = esc(&b.name_any()),
        cmd = esc(cmd),
    )
}

/// The command line of an action (what the page shows next to its button, and in its result).
pub fn command(b: &Binding, action: &str, arg: &str) -> String {
    let ns = b.namespace().unwrap_or_default();
    let name = b.name_any();
    match action {
        "deploy" => format!("kubectl mosaic deploy {} --ref {arg}", target(b)),
        "pause" | "resume" => format!(
            "kubectl patch binding.mosaic.nectar.dev/{name} -n {ns} --type merge -p '{{\"spec\":{{\"paused\":{}}}}}'",
            action == "pause"
        ),
        "scale" => format!(
            "kubectl scale deployment/{} -n {ns} --replicas={arg}",
            b.spec.deployment
        ),
        "unbind" => format!("kubectl mosaic unbind {}", target(b)),
        "rollback" => rollback::command(b, arg),
        _ => String::new(),
    }
}

/// The rollback form: the earlier Succeeded Builds whose image is not the one running (core's
/// `rollback::candidates`, as `kubectl mosaic rollback` picks from), newest first.
fn rollback_form(b: &Binding, builds: &[Build]) -> String {
    let running = b.status.as_ref().and_then(|s| s.last_image.as_deref());
    let cands = mosaic_core::rollback::candidates(builds, running);
    if cands.is_empty() {
        return "<p class=\"sub\">Roll back: no earlier Succeeded Build with another image.</p>"
            .into();
    }
    let mut options = String::new();
    for c in &cands {
        let image = c
            .status
            .as_ref()
            .and_then(|s| s.image.as_deref())
            .unwrap_or_default();
        let _ = write!(
            options,
            "<option value=\"{}\">{} · {} · {} ({} ago)</option>",
            esc(&c.name_any()),
            esc(&c.name_any()),
            esc(&output::short_commit(&c.spec.commit)),
            esc(&short_digest(image)),
            esc(&output::age(c.metadata.creation_timestamp.as_ref())),
        );
    }
    form(
        b,
        "rollback",
        &format!(
            "<label for=\"to\">Roll back to</label> <select id=\"to\" name=\"to\">{options}</select> "
        ),
        "Roll back",
        &command(b, "rollback", "BUILD"),
    )
}

/// The action forms of a Binding page.
pub fn forms(b: &Binding, dep: Option<&Deployment>, builds: &[Build]) -> String {
    let mut out = String::from("<h2>Actions</h2><div class=\"actions\">");
    out.push_str(&form(
        b,
        "deploy",
        &format!(
            "<label for=\"ref\">Branch or commit</label> <input id=\"ref\" name=\"ref\" value=\"{}\" required> ",
            esc(&b.spec.branch)
        ),
        "Deploy",
        &command(b, "deploy", "REF"),
    ));
    out.push_str(&rollback_form(b, builds));
    let (pr, label) = if b.spec.paused {
        ("resume", "Resume")
    } else {
        ("pause", "Pause")
    };
    out.push_str("<div id=\"pauser\" data-live>");
    out.push_str(&form(b, pr, "", label, &command(b, pr, "")));
    out.push_str("</div>");
    let replicas = dep.and_then(|d| d.spec.replicas).unwrap_or(1);
    out.push_str(&form(
        b,
        "scale",
        &format!(
            "<label for=\"replicas\">Replicas</label> <input id=\"replicas\" name=\"replicas\" type=\"number\" min=\"0\" max=\"1000\" value=\"{replicas}\" required> "
        ),
        "Scale",
        &command(b, "scale", "N"),
    ));
    out.push_str(&form(b, "unbind", "", "Unbind", &command(b, "unbind", "")));
    out.push_str("</div><div id=\"result\" role=\"status\" aria-live=\"polite\"></div>");
    out
}

/// What an action did, in words, and its command line.
async fn perform(app: &App, f: &ActionForm) -> Result<(String, String), Error> {
    if f.action == "bind" {
        return super::bind::perform(app, f).await;
    }
    let bapi: Api<Binding> = Api::namespaced(app.client.clone(), &f.namespace);
    let b = bapi.get(&f.binding).await?;
    match f.action.as_str() {
        "deploy" => deploy_ref(app, &b, f).await,
        "rollback" => roll_back(app, &b, f).await,
        "pause" | "resume" => pause(&bapi, &b, f).await,
        "scale" => scale(app, &b, f).await,
        "unbind" => {
            bapi.delete(&f.binding, &DeleteParams::default()).await?;
            Ok((
                format!("binding.mosaic.nectar.dev/{} deleted", f.binding),
                command(&b, "unbind", ""),
            ))
        }
        other => Err(Error::Usage(format!(
            "unknown action {other:?}: bind, deploy, rollback, pause, resume, scale or unbind"
        ))),
    }
}

/// Deploy the branch or commit the form names (the Binding's branch when empty), as
/// `kubectl mosaic deploy` does.
async fn deploy_ref(app: &App, b: &Binding, f: &ActionForm) -> Result<(String, String), Error> {
    let wanted = f
        .git_ref
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(&b.spec.branch)
        .to_string();
    let cmd = command(b, "deploy", &wanted);
    let client = &app.client;
    let (commit, git_ref) = deploy::resolve(client, b, &wanted, &app.github).await?;
    let said = match deploy::start(client, b, &commit, &git_ref, app.user.clone()).await? {
        deploy::Started::Created(x) => {
            format!("build.mosaic.nectar.dev/{} created", x.name_any())
        }
        deploy::Started::Running { name, phase } => {
            format!("build/{name} for this commit is already {phase}")
        }
    };
    Ok((said, cmd))
}

/// Roll back to the Build the form names (the newest candidate when empty), as
/// `kubectl mosaic rollback` does.
async fn roll_back(app: &App, b: &Binding, f: &ActionForm) -> Result<(String, String), Error> {
    let to = f.to.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let made = rollback::start(&app.client, b, to, app.user.clone()).await?;
    let t = &made.spec.trigger;
    let source = t.build.clone().unwrap_or_default();
    Ok((
        format!(
            "build.mosaic.nectar.dev/{} created: rolling back to build/{source} ({})",
            made.name_any(),
            t.image.as_deref().unwrap_or_default()
        ),
        command(b, "rollback", &source),
    ))
}

/// Pause or resume the Binding (one merge patch of `spec.paused`).
async fn pause(
    bapi: &Api<Binding>,
    b: &Binding,
    f: &ActionForm,
) -> Result<(String, String), Error> {
    let paused = f.action == "pause";
    let patch = serde_json::json!({"spec": {"paused": paused}});
    bapi.patch(&f.binding, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok((
        format!(
            "binding.mosaic.nectar.dev/{} {}",
            f.binding,
            if paused { "paused" } else { "resumed" }
        ),
        command(b, &f.action, ""),
    ))
}

/// Set the Deployment's replica count through its scale subresource, as `kubectl scale` does.
async fn scale(app: &App, b: &Binding, f: &ActionForm) -> Result<(String, String), Error> {
    let n: i32 = f
        .replicas
        .as_deref()
        .map(str::trim)
        .and_then(|r| r.parse().ok())
        .filter(|n| (0..=1000).contains(n))
        .ok_or_else(|| Error::Usage("replicas must be a whole number from 0 to 1000".into()))?;
    let dapi: Api<Deployment> = Api::namespaced(app.client.clone(), &f.namespace);
    let patch = serde_json::json!({"spec": {"replicas": n}});
    dapi.patch_scale(
        &b.spec.deployment,
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok((
        format!("deployment.apps/{} scaled", b.spec.deployment),
        command(b, "scale", &n.to_string()),
    ))
}

/// `POST /act`.
pub async fn act(
    State(app): State<App>,
    headers: HeaderMap,
    Form(f): Form<ActionForm>,
) -> Response {
    if !super::security::csrf_ok(&app.keys, &headers, f.csrf.as_deref()) {
        return (
            StatusCode::FORBIDDEN,
            "403 Forbidden: the action has no valid CSRF token; reload the page and try again\n",
        )
            .into_response();
    }
    let (code, mut html) = match perform(&app, &f).await {
        Ok((said, cmd)) => (
            StatusCode::OK,
            format!(
                "<p class=\"ok\" data-outcome=\"ok\">{}</p><p class=\"cli\">Command line: <code>{}</code></p>",
                esc(&said),
                esc(&cmd)
            ),
        ),
        Err(e) => {
            let code = match &e {
                Error::Usage(_) | Error::Input(_) => StatusCode::BAD_REQUEST,
                Error::NotFound(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::OK,
            };
            (
                code,
                format!(
                    "<p class=\"error\" role=\"alert\" data-outcome=\"error\">error: {}</p>",
                    esc(&e.to_string())
                ),
            )
        }
    };
    if headers.get("x-mosaic-fragment").is_none() {
        let _ = write!(html, "<p><a href=\"/\">Back to the overview</a></p>");
        html = page("Action", &app.scope, &app.keys.csrf, &html);
    }
    (code, Html(html)).into_response()
}
