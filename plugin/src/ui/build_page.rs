//! The Build page: its facts (Binding, commit, trigger, phase, image and digest, what it rolled
//! back), its stages with times, the commands to copy, the findings, the commit statuses sent
//! to GitHub, and the log tail. Every string from the cluster is escaped.

use std::fmt::Write as _;

use kube::ResourceExt;
use mosaic_core::commit_status;
use mosaic_core::resources::TriggerKind;
use mosaic_core::{Binding, Build, BuildPhase, BuildStatus};

use super::facts::{stages, trigger, why};
use super::html::{cli, esc, seg};
use super::overview::short_digest;
use crate::cmd::target;
use crate::output;

/// The Build page body.
pub fn build(b: &Build, binding: Option<&Binding>, now: i64) -> String {
    let ns = b.namespace().unwrap_or_default();
    let name = b.name_any();
    let s = b.status.clone().unwrap_or_default();
    let mut out = String::from("<div id=\"buildpage\" data-live>");
    out.push_str(&facts(b, &s));
    out.push_str(&origin(b, &s));
    out.push_str("</dl>");
    out.push_str(&stage_list(b, now));
    if let Some(bd) = binding {
        out.push_str(&cli(&format!("kubectl mosaic status {}", target(bd))));
    }
    out.push_str(&cli(&format!("kubectl mosaic logs build/{name} -n {ns}")));
    if !s.findings.is_empty() {
        out.push_str("<h2>Findings</h2>");
        out.push_str(&super::explain::findings_html(&s.findings));
    }
    out.push_str(&commit_statuses(&s, now));
    out.push_str(&log(&s));
    out.push_str("</div>");
    out
}

/// The heading and the facts list up to the image (left open for [`origin`]).
fn facts(b: &Build, s: &BuildStatus) -> String {
    let ns = b.namespace().unwrap_or_default();
    let name = b.name_any();
    format!(
        "<h1>Build {}/{}</h1><dl class=\"facts\" data-page-key=\"{}/{}\"><dt>Binding</dt><dd><a href=\"/b/{}/{}\">{}</a></dd>\
<dt>Commit</dt><dd><code>{}</code> ({})</dd><dt>Trigger</dt><dd>{}</dd>\
<dt>Phase</dt><dd><span class=\"phase phase-{}\">{}</span> {}</dd><dt>Image</dt><dd><code title=\"{}\">{}</code></dd>",
        esc(&ns),
        esc(&name),
        esc(&ns),
        esc(&b.spec.binding),
        seg(&ns),
        seg(&b.spec.binding),
        esc(&b.spec.binding),
        esc(&b.spec.commit),
        esc(&b.spec.git_ref),
        esc(&trigger(b)),
        s.phase.to_string().to_ascii_lowercase(),
        s.phase,
        esc(&why(b)),
        esc(&output::or_none(s.image.as_deref())),
        esc(&s
            .image
            .as_deref()
            .map(short_digest)
            .unwrap_or_else(|| "<none>".into())),
    )
}

/// Where the image came from and where it went: the digest, the Build a rollback applied
/// again, and the image a failed rollout was rolled back to.
fn origin(b: &Build, s: &BuildStatus) -> String {
    let ns = b.namespace().unwrap_or_default();
    let mut out = String::new();
    if let Some((_, d)) = s.image.as_deref().and_then(|i| i.split_once('@')) {
        let _ = write!(
            out,
            "<dt>Digest</dt><dd><code id=\"digest\">{}</code></dd>",
            esc(d)
        );
    }
    if b.spec.trigger.kind == TriggerKind::Rollback {
        let source = match &b.spec.trigger.build {
            Some(src) => format!(
                "<a href=\"/build/{}/{}\">build/{}</a> (nothing built: its image applied again)",
                seg(&ns),
                seg(src),
                esc(src)
            ),
            None => "?".into(),
        };
        let _ = write!(out, "<dt>Rollback of</dt><dd>{source}</dd>");
    }
    if s.rolled_back {
        let _ = write!(
            out,
            "<dt>Rolled back to</dt><dd><code>{}</code></dd>",
            esc(&output::or_none(s.previous_image.as_deref()))
        );
    }
    out
}

/// The stages with the time each took.
fn stage_list(b: &Build, now: i64) -> String {
    let mut out = String::from("<h2>Stages</h2><ul class=\"stages\">");
    for (stage, d) in stages(b, now) {
        let _ = write!(
            out,
            "<li>{stage}: {}</li>",
            d.map_or_else(|| "not reached".into(), output::human_duration)
        );
    }
    out.push_str("</ul>");
    out
}

/// The commit statuses sent to GitHub, newest first, in core's words (as `status` prints them).
fn commit_statuses(s: &BuildStatus, now: i64) -> String {
    let mut out = String::from("<h2>Commit statuses sent</h2>");
    if s.commit_statuses.is_empty() {
        out.push_str("<p id=\"reports\">None recorded.</p>");
        return out;
    }
    out.push_str(
        "<div class=\"scroll\"><table id=\"reports\"><thead><tr><th scope=\"col\">when</th>\
<th scope=\"col\">context</th><th scope=\"col\">state</th><th scope=\"col\">description</th>\
<th scope=\"col\">delivery</th></tr></thead><tbody>",
    );
    for r in commit_status::newest_first(&s.commit_statuses) {
        let _ = write!(
            out,
            "<tr title=\"{}\"><td>{} ago</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.words()),
            output::human_duration(now - r.sent_at.0.as_second()),
            esc(&r.context),
            r.state.as_str(),
            esc(&r.description),
            esc(&r.delivery_words()),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The log tail, escaped.
fn log(s: &BuildStatus) -> String {
    let mut out = format!(
        "<h2>Log tail</h2><pre id=\"log\" class=\"log\">{}</pre>",
        esc(s.log_tail.as_deref().unwrap_or("(no log recorded)"))
    );
    if s.phase == BuildPhase::Failed && s.log_tail.is_none() {
        out.push_str("<p>The Build failed before its log was recorded.</p>");
    }
    out
}
