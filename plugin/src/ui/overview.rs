//! The overview page: one row per Binding in scope (repo and branch, last commit, the digest
//! running, build phase, rollout state and ready pods, age), rendered from the watch stores
//! with the same functions as `list` and `status`, and the Deployments no Binding covers.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use mosaic_core::{Binding, Build};

use super::html::{esc, github_url, seg};
use super::state::View;
use crate::cmd::{list, status};
use crate::output;

/// The Builds of each Binding, keyed by (namespace, binding).
pub type ByBinding = HashMap<(String, String), Vec<Arc<Build>>>;

/// Group every Build by its Binding once per render.
pub fn group(view: &View) -> ByBinding {
    let mut m: ByBinding = HashMap::new();
    for b in view.builds.state() {
        m.entry((b.namespace().unwrap_or_default(), b.spec.binding.clone()))
            .or_default()
            .push(b);
    }
    m
}

/// The `data-key` of a Binding's row.
pub fn key(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

/// `sha256:0123456789ab` of an image reference pinned by digest, else the reference itself.
pub fn short_digest(image: &str) -> String {
    match image.split_once("@sha256:") {
        Some((_, d)) => format!("sha256:{}", d.chars().take(12).collect::<String>()),
        None => image.to_string(),
    }
}

/// Ready pods of a Deployment as `ready/wanted`.
pub fn ready_pods(d: &Deployment) -> String {
    let want = d.spec.replicas.unwrap_or(1);
    let ready = d
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    format!("{ready}/{want}")
}

/// One overview row (a `<tr>`), or an empty string when the Binding is gone.
pub fn row(b: &Binding, builds: &[Arc<Build>], dep: Option<&Deployment>) -> String {
    let ns = b.namespace().unwrap_or_default();
    let name = b.name_any();
    let st = b.status.clone().unwrap_or_default();
    let build = list::last_build(b, builds);
    let commit = st
        .last_commit
        .as_deref()
        .or(build.map(|x| x.spec.commit.as_str()));
    let phase = build.map(|x| {
        x.status
            .as_ref()
            .map(|s| s.phase.to_string())
            .unwrap_or_else(|| "Pending".into())
    });
    let repo = match github_url(&b.spec.repo, &format!("/tree/{}", seg(&b.spec.branch))) {
        Some(u) => format!(
            "<a href=\"{}\" rel=\"noreferrer\">{}</a> <span class=\"branch\">{}</span>",
            esc(&u),
            esc(&b.spec.repo),
            esc(&b.spec.branch)
        ),
        None => format!("{} {}", esc(&b.spec.repo), esc(&b.spec.branch)),
    };
    let commit = match commit {
        Some(c) => match github_url(&b.spec.repo, &format!("/commit/{}", seg(c))) {
            Some(u) => format!(
                "<a href=\"{}\" rel=\"noreferrer\"><code>{}</code></a>",
                esc(&u),
                esc(&output::short_commit(c))
            ),
            None => format!("<code>{}</code>", esc(&output::short_commit(c))),
        },
        None => "&lt;none&gt;".into(),
    };
    let digest = match st.last_image.as_deref() {
        Some(i) => format!(
            "<code title=\"{}\">{}</code>",
            esc(i),
            esc(&short_digest(i))
        ),
        None => "&lt;none&gt;".into(),
    };
    let rollout = match dep {
        Some(d) => format!(
            "{} <span class=\"pods\">({} ready)</span>",
            esc(&status::rollout_words(d)),
            esc(&ready_pods(d))
        ),
        None => esc(&format!("deployment/{} not found", b.spec.deployment)),
    };
    let paused = if b.spec.paused {
        " <span class=\"badge\">paused</span>"
    } else {
        ""
    };
    let phase_text = phase.unwrap_or_else(|| "<none>".into());
    format!(
        "<tr data-key=\"{key}\"><td>{nsname}</td><td><a href=\"/b/{sns}/{sname}\">{ename}</a>{paused}<br>\
<span class=\"sub\">deployment/{dep}</span></td><td>{repo}</td><td>{commit}</td><td>{digest}</td>\
<td><span class=\"phase phase-{pclass}\" data-phase=\"{phase}\">{phase}</span></td><td>{rollout}</td><td>{age}</td></tr>",
        key = esc(&key(&ns, &name)),
        nsname = esc(&ns),
        sns = seg(&ns),
        sname = seg(&name),
        ename = esc(&name),
        dep = esc(&b.spec.deployment),
        pclass = esc(&phase_text.to_ascii_lowercase().replace(['<', '>'], "")),
        phase = esc(&phase_text),
        age = esc(&output::age(b.metadata.creation_timestamp.as_ref())),
    )
}

/// The row of one Binding from the stores (empty when it is gone).
pub fn row_of(view: &View, ns: &str, name: &str) -> String {
    let Some(b) = view.binding(ns, name) else {
        return String::new();
    };
    let builds: Vec<Arc<Build>> = view
        .builds
        .state_filter(|x| x.namespace().as_deref() == Some(ns) && x.spec.binding == name);
    let dep = view.deployment(ns, &b.spec.deployment);
    row(&b, &builds, dep.as_deref())
}

/// Rows painted in the first table; the rest follow in chunks the browser lays out only when
/// they scroll into view (`content-visibility: auto`), so the first paint costs the same for
/// 500 Bindings as for 20.
pub const FIRST_ROWS: usize = 40;
/// Rows per further chunk.
pub const CHUNK_ROWS: usize = 60;

/// The column widths (the tables have a fixed layout, so every chunk aligns with the first).
const COLS: &str = "<colgroup><col class=\"c-ns\"><col class=\"c-name\"><col class=\"c-repo\"><col class=\"c-commit\">\
<col class=\"c-image\"><col class=\"c-phase\"><col class=\"c-rollout\"><col class=\"c-age\"></colgroup>";

/// The header row (visually hidden in the continuation tables, for screen readers).
fn head(class: &str) -> String {
    format!(
        "<thead class=\"{class}\"><tr><th scope=\"col\">namespace</th><th scope=\"col\">binding</th>\
<th scope=\"col\">repository</th><th scope=\"col\">commit</th><th scope=\"col\">running</th>\
<th scope=\"col\">build</th><th scope=\"col\">rollout</th><th scope=\"col\">age</th></tr></thead>"
    )
}

/// The body of the overview page.
pub fn body(view: &View) -> String {
    let groups = group(view);
    let bindings = view.bindings();
    let mut out = String::with_capacity(bindings.len() * 900 + 2048);
    out.push_str("<h1>Bindings</h1>");
    for e in view.errors() {
        let _ = write!(out, "<p class=\"error\" role=\"alert\">{}</p>", esc(&e));
    }
    let _ = write!(
        out,
        "<div class=\"scroll\" id=\"overview\"><table id=\"bindings\" class=\"grid\">\
<caption class=\"sr\">Bindings in scope ({})</caption>{COLS}{}<tbody>",
        bindings.len(),
        head("")
    );
    let none: Vec<Arc<Build>> = vec![];
    for (i, b) in bindings.iter().enumerate() {
        if i >= FIRST_ROWS && (i - FIRST_ROWS).is_multiple_of(CHUNK_ROWS) {
            let _ = write!(
                out,
                "</tbody></table><div class=\"chunk\"><table class=\"grid\">\
<caption class=\"sr\">Bindings in scope, continued from row {}</caption>{COLS}{}<tbody>",
                i + 1,
                head("sr")
            );
        }
        let ns = b.namespace().unwrap_or_default();
        let builds = groups.get(&(ns.clone(), b.name_any())).unwrap_or(&none);
        let dep = view.deployment(&ns, &b.spec.deployment);
        out.push_str(&row(b, builds, dep.as_deref()));
    }
    out.push_str("</tbody></table>");
    if bindings.len() > FIRST_ROWS {
        out.push_str("</div>");
    }
    out.push_str("</div>");
    if bindings.is_empty() {
        out.push_str("<p id=\"empty\">No Bindings in scope.</p>");
    }
    out.push_str(&unbound(view, &bindings));
    out
}

/// The Deployments no Binding names, each with the command that proposes a binding.
fn unbound(view: &View, bindings: &[Arc<Binding>]) -> String {
    let mut deps: Vec<Arc<Deployment>> = view.deployments.state_filter(|d| {
        let ns = d.namespace();
        !bindings
            .iter()
            .any(|b| b.namespace() == ns && b.spec.deployment == d.name_any())
    });
    if deps.is_empty() {
        return String::new();
    }
    deps.sort_by_key(|d| (d.namespace(), d.name_any()));
    let mut out = String::from(
        "<h2>Unbound Deployments</h2><p>Bind them from the proposals that match their images to \
repositories (<code>kubectl mosaic bind --auto --owner OWNER</code>), or one at a time:</p>\
<ul class=\"unbound\" id=\"unbound\">",
    );
    for d in deps {
        let ns = d.namespace().unwrap_or_default();
        let _ = write!(
            out,
            "<li data-key=\"{}\">{}/deployment/{} <a href=\"/bind/{}/{}\" class=\"button\">Bind…</a></li>",
            esc(&key(&ns, &d.name_any())),
            esc(&ns),
            esc(&d.name_any()),
            seg(&ns),
            seg(&d.name_any()),
        );
    }
    out.push_str("</ul>");
    out
}
