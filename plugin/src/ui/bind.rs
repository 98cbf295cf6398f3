//! Binding an unbound Deployment from the UI: the proposal page (`bind --auto`'s fast
//! matching for one Deployment: the image's source label, then name similarity with an
//! owner's repositories, by `cmd::proposals::workloads` and `mosaic_core::matching::propose`)
//! and the `bind` action, validated and applied as `kubectl mosaic bind` does
//! (`cmd::bind::validated_binding`, `cmd::binding_write::apply_binding`).

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use k8s_openapi::api::apps::v1::Deployment;
use kube::{Api, ResourceExt};
use mosaic_core::matching;
use mosaic_core::names::{DEFAULT_BRANCH, DEFAULT_CONTEXT, DEFAULT_DOCKERFILE, OCI_LABEL_SOURCE};
use mosaic_core::reference::{ImageRef, RepoName};

use super::action_form::ActionForm;
use super::app::App;
use super::html::{esc, page};
use crate::cmd::bind::proposals::workloads;
use crate::cmd::bind::write::{BindRequest, apply_binding};
use crate::error::Error;
use crate::github::{GitHub, GitHubApi};
use crate::registry::Registry;

/// `?owner=OWNER`: whose repositories names are matched against.
#[derive(serde::Deserialize, Debug, Default)]
pub struct Owner {
    #[serde(default)]
    pub owner: Option<String>,
}

/// The command line of a bind.
pub fn command(
    ns: &str,
    deployment: &str,
    container: Option<&str>,
    repo: &str,
    image: &str,
    branch: &str,
) -> String {
    let c = container.map(|c| format!(" -c {c}")).unwrap_or_default();
    let b = if branch == DEFAULT_BRANCH {
        String::new()
    } else {
        format!(" --branch {branch}")
    };
    format!(
        "kubectl mosaic bind deployment/{deployment}{c} -n {ns} --repo {repo} --image {image}{b}"
    )
}

/// `GET /bind/{ns}/{deployment}`: the proposals for one Deployment, each with a Bind form.
pub async fn bind_page(
    State(app): State<App>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<Owner>,
) -> Response {
    let owner = q.owner.as_deref().map(str::trim).filter(|o| !o.is_empty());
    let mut body = format!(
        "<h1>Bind deployment/{}</h1><form method=\"get\" class=\"picker\"><label for=\"owner\">GitHub owner</label> \
<input id=\"owner\" name=\"owner\" value=\"{}\" placeholder=\"acme\"> <button type=\"submit\" id=\"do-propose\">Propose</button></form>\
<p class=\"sub\">Proposals come from the image's source label, and with an owner from the names of its repositories \
(as <code>kubectl mosaic bind --auto --owner OWNER -n {}</code>).</p>",
        esc(&name),
        esc(owner.unwrap_or_default()),
        esc(&ns),
    );
    match proposals(&app, &ns, &name, owner).await {
        Ok(html) => body.push_str(&html),
        Err(e) => {
            let _ = write!(
                body,
                "<p class=\"error\" role=\"alert\">error: {}</p>",
                esc(&e.to_string())
            );
        }
    }
    body.push_str("<div id=\"result\" role=\"status\" aria-live=\"polite\"></div>");
    Html(page(
        &format!("Bind {ns}/{name}"),
        &app.scope,
        &app.keys.csrf,
        &body,
    ))
    .into_response()
}

async fn proposals(app: &App, ns: &str, name: &str, owner: Option<&str>) -> Result<String, Error> {
    let d = Api::<Deployment>::namespaced(app.client.clone(), ns)
        .get_opt(name)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!("deployment {name:?} not found in namespace {ns:?}"))
        })?;
    let repos = match owner {
        Some(o) => {
            GitHub::new(&app.github, std::env::var(crate::github::TOKEN_ENV).ok())?
                .list_repos(o)
                .await?
        }
        None => vec![],
    };
    let creds = crate::cmd::bind::auto::credentials(&app.client, ns, &[&d]).await;
    let registry = Registry::new(creds)
        .map_err(|e| Error::Other(format!("cannot build a registry client: {e}")))?;
    let mut out = String::from(
        "<div class=\"scroll\"><table id=\"proposals\"><thead><tr><th scope=\"col\">container</th>\
<th scope=\"col\">image</th><th scope=\"col\">proposal</th><th scope=\"col\">bind</th></tr></thead><tbody>",
    );
    for (mut w, img, binding_name, field) in workloads(&d) {
        if let Ok(l) = registry.labels(&img).await {
            w.source_label = l.get(OCI_LABEL_SOURCE).cloned();
        }
        let p = matching::propose(&w, &repos);
        let said = match &p {
            Some(p) => format!(
                "{} ({:.0}%, {})",
                esc(&p.repo),
                p.confidence * 100.0,
                esc(&p.basis.to_string())
            ),
            None => "no proposal".into(),
        };
        let repo = p.as_ref().map(|p| p.repo.clone()).unwrap_or_default();
        let cmd = command(
            ns,
            name,
            field.as_deref(),
            if repo.is_empty() { "OWNER/NAME" } else { &repo },
            &w.image_repository,
            DEFAULT_BRANCH,
        );
        let _ = write!(
            out,
            "<tr data-container=\"{c}\"><td>{c}</td><td><code>{img}</code></td><td class=\"proposal\">{said}</td><td>\
<form method=\"post\" action=\"/act\" class=\"action\" data-confirm=\"{confirm}\">\
<input type=\"hidden\" name=\"op\" value=\"bind\"><input type=\"hidden\" name=\"namespace\" value=\"{ns}\">\
<input type=\"hidden\" name=\"binding\" value=\"{bname}\"><input type=\"hidden\" name=\"deployment\" value=\"{dep}\">\
<input type=\"hidden\" name=\"container\" value=\"{field}\"><input type=\"hidden\" name=\"image\" value=\"{img}\">\
<input type=\"hidden\" name=\"csrf\" value=\"\" class=\"csrf\">\
<label for=\"repo-{c}\">Repository</label> <input id=\"repo-{c}\" name=\"repo\" value=\"{repo}\" placeholder=\"OWNER/NAME\" required> \
<label for=\"branch-{c}\">Branch</label> <input id=\"branch-{c}\" name=\"ref\" value=\"{branch}\" size=\"8\" required> \
<button type=\"submit\" id=\"do-bind-{c}\">Bind</button> <code class=\"cli\">{cmd}</code></form></td></tr>",
            c = esc(&w.container),
            img = esc(&w.image_repository),
            confirm = esc(&format!("Bind? ({cmd})")),
            ns = esc(ns),
            bname = esc(&binding_name),
            dep = esc(name),
            field = esc(field.as_deref().unwrap_or_default()),
            repo = esc(&repo),
            branch = DEFAULT_BRANCH,
            cmd = esc(&cmd),
        );
    }
    out.push_str("</tbody></table></div>");
    Ok(out)
}

/// The `bind` action: the request checked as `bind` checks it, then applied.
pub async fn perform(app: &App, f: &ActionForm) -> Result<(String, String), Error> {
    let field = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let deployment = field(&f.deployment).ok_or_else(|| Error::Usage("no deployment".into()))?;
    let repo_text = field(&f.repo)
        .ok_or_else(|| Error::Usage("name the repository to bind: OWNER/NAME".into()))?;
    let image_text = field(&f.image).ok_or_else(|| Error::Usage("no image repository".into()))?;
    let container = field(&f.container);
    let branch = field(&f.git_ref).unwrap_or_else(|| DEFAULT_BRANCH.into());
    let repo = RepoName::parse(&repo_text).map_err(|e| Error::Usage(e.to_string()))?;
    let image = ImageRef::parse_repository(&image_text).map_err(|e| Error::Usage(e.to_string()))?;
    let req = BindRequest {
        deployment: deployment.clone(),
        repo,
        image,
        branch: branch.clone(),
        container: container.clone(),
        dockerfile: DEFAULT_DOCKERFILE.into(),
        context: DEFAULT_CONTEXT.into(),
        registry_secret: None,
        github_secret: None,
        rollback: true,
        verify: None,
    };
    let b = crate::cmd::bind::validated_binding(&app.client, &f.namespace, &req).await?;
    let (_, created) = apply_binding(&app.client, &b).await?;
    Ok((
        format!(
            "binding.mosaic.nectar.dev/{} {}",
            b.name_any(),
            if created { "created" } else { "configured" }
        ),
        command(
            &f.namespace,
            &deployment,
            container.as_deref(),
            &repo_text,
            &image_text,
            &branch,
        ),
    ))
}
