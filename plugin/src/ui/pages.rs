//! The Binding page (its Builds as a timeline of stage bars, the rollout, the actions) and
//! the Build page (stages, log tail, findings, digest), rendered from the watch stores.

use std::fmt::Write as _;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use mosaic_core::{Binding, Build, BuildPhase};

use super::html::{cli, esc, seg};
use super::overview::{ready_pods, short_digest};
use super::state::View;
use crate::cmd::status;
use crate::output;

/// How many Builds the Binding page shows.
pub const HISTORY: usize = 20;

/// The stages of a Build: name and the seconds it took (None: not reached).
pub fn stages(b: &Build, now: i64) -> Vec<(&'static str, Option<i64>)> {
    let t = b
        .status
        .as_ref()
        .map(|s| s.phase_times.clone())
        .unwrap_or_default();
    let secs = |x: &Option<Time>| x.as_ref().map(|t| t.0.as_second());
    let marks = [
        ("fetch", secs(&t.pending).or(secs(&t.building))),
        ("build", secs(&t.building)),
        ("push", secs(&t.pushing)),
        ("roll out", secs(&t.rolling_out)),
        ("verify", secs(&t.verifying)),
    ];
    let end = secs(&t.finished);
    let terminal = b.status.as_ref().is_some_and(|s| s.phase.is_terminal());
    let mut out = vec![];
    for (i, (name, start)) in marks.iter().enumerate() {
        let next = marks[i + 1..].iter().find_map(|(_, s)| *s).or(end);
        let d = match (start, next) {
            (Some(s), Some(n)) => Some((n - s).max(0)),
            (Some(s), None) if !terminal => Some((now - s).max(0)),
            _ => None,
        };
        out.push((*name, d));
    }
    out
}

/// Stage bars: width classes in 5% steps of the longest Build shown (no inline styles: CSP).
fn bars(b: &Build, now: i64, longest: i64) -> String {
    let mut out = String::from("<span class=\"bars\">");
    for (name, d) in stages(b, now) {
        let Some(d) = d else { continue };
        let w = if longest > 0 {
            (d * 20 + longest - 1) / longest
        } else {
            0
        };
        let _ = write!(
            out,
            "<span class=\"bar st-{} w-{}\" title=\"{} {}\">{} {}</span>",
            name.replace(' ', "-"),
            w.clamp(1, 20),
            name,
            output::human_duration(d),
            name,
            output::human_duration(d)
        );
    }
    out.push_str("</span>");
    out
}

fn why(b: &Build) -> String {
    let s = b.status.clone().unwrap_or_default();
    [s.reason, s.message]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ")
}

fn trigger(b: &Build) -> String {
    let t = &b.spec.trigger;
    if t.kind == mosaic_core::resources::TriggerKind::Rollback {
        let by = t
            .user
            .as_deref()
            .map(|u| format!(" by {u}"))
            .unwrap_or_default();
        return format!(
            "rollback{by} to build/{}",
            t.build.as_deref().unwrap_or("?")
        );
    }
    match (&b.spec.trigger.user, &b.spec.trigger.pusher) {
        (Some(u), _) => format!("manual by {u}"),
        (None, Some(p)) => format!("push by {p}"),
        _ => format!("{:?}", b.spec.trigger.kind).to_lowercase(),
    }
}

/// The `-n NS deployment/NAME [-c C]` part of a Binding's commands.
pub fn target(b: &Binding) -> String {
    let c = b
        .spec
        .container
        .as_deref()
        .map(|c| format!(" -c {c}"))
        .unwrap_or_default();
    format!(
        "deployment/{}{c} -n {}",
        b.spec.deployment,
        b.namespace().unwrap_or_default()
    )
}

/// The Binding page body.
pub fn binding(view: &View, b: &Binding, now: i64) -> String {
    let ns = b.namespace().unwrap_or_default();
    let name = b.name_any();
    let st = b.status.clone().unwrap_or_default();
    let dep = view.deployment(&ns, &b.spec.deployment);
    let builds = view.builds_of(&ns, &name);
    let mut out = String::new();
    let _ = write!(
        out,
        "<h1>Binding {}/{}</h1><dl class=\"facts\" id=\"facts\" data-live data-page-key=\"{}\">\
<dt>Deployment</dt><dd>deployment/{}</dd><dt>Repository</dt><dd>{} branch {}</dd>\
<dt>Image</dt><dd><code>{}</code></dd><dt>Running</dt><dd><code>{}</code></dd>\
<dt>Rollout</dt><dd id=\"f-rollout\">{}</dd><dt>Replicas</dt><dd id=\"f-replicas\">{}</dd>\
<dt>Paused</dt><dd id=\"f-paused\">{}</dd></dl>",
        esc(&ns),
        esc(&name),
        esc(&format!("{ns}/{name}")),
        esc(&b.spec.deployment),
        esc(&b.spec.repo),
        esc(&b.spec.branch),
        esc(&b.spec.image),
        esc(&output::or_none(st.last_image.as_deref())),
        esc(&dep
            .as_deref()
            .map(status::rollout_words)
            .unwrap_or_else(|| { format!("deployment/{} not found", b.spec.deployment) })),
        esc(&dep.as_deref().map(ready_pods).unwrap_or_default()),
        if b.spec.paused {
            "yes (pushes are ignored)"
        } else {
            "no"
        },
    );
    let _ = write!(
        out,
        "{}",
        cli(&format!("kubectl mosaic status {}", target(b)))
    );
    out.push_str(&super::actions::forms(b, dep.as_deref(), &builds));
    out.push_str("<h2>Builds</h2><section id=\"history\" data-live>");
    if builds.is_empty() {
        out.push_str("<p>No Builds yet.</p></section>");
        return out;
    }
    let shown = &builds[..builds.len().min(HISTORY)];
    let longest = shown
        .iter()
        .filter_map(|x| status::build_seconds(x, now))
        .max()
        .unwrap_or(0);
    out.push_str(
        "<div class=\"scroll\"><table id=\"builds\"><thead><tr><th scope=\"col\">build</th><th scope=\"col\">commit</th>\
<th scope=\"col\">trigger</th><th scope=\"col\">phase</th><th scope=\"col\">stages</th><th scope=\"col\">why</th>\
<th scope=\"col\">age</th></tr></thead><tbody>",
    );
    for x in shown {
        let phase = x.status.as_ref().map(|s| s.phase).unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td><a href=\"/build/{}/{}\">{}</a></td><td><code>{}</code></td><td>{}</td>\
<td><span class=\"phase phase-{}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            seg(&ns),
            seg(&x.name_any()),
            esc(&x.name_any()),
            esc(&output::short_commit(&x.spec.commit)),
            esc(&trigger(x)),
            phase.to_string().to_ascii_lowercase(),
            phase,
            bars(x, now, longest),
            esc(&why(x)),
            esc(&output::age(x.metadata.creation_timestamp.as_ref())),
        );
    }
    out.push_str("</tbody></table></div>");
    out.push_str(&super::insight::plot(&builds, now));
    out.push_str("</section>");
    out
}

/// The Build page body.
pub fn build(b: &Build, binding: Option<&Binding>, now: i64) -> String {
    let ns = b.namespace().unwrap_or_default();
    let name = b.name_any();
    let s = b.status.clone().unwrap_or_default();
    let mut out = String::new();
    let _ = write!(
        out,
        "<div id=\"buildpage\" data-live><h1>Build {}/{}</h1><dl class=\"facts\" data-page-key=\"{}/{}\"><dt>Binding</dt><dd><a href=\"/b/{}/{}\">{}</a></dd>\
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
    );
    if let Some(d) = s
        .image
        .as_deref()
        .and_then(|i| i.split_once('@'))
        .map(|(_, d)| d)
    {
        let _ = write!(
            out,
            "<dt>Digest</dt><dd><code id=\"digest\">{}</code></dd>",
            esc(d)
        );
    }
    if b.spec.trigger.kind == mosaic_core::resources::TriggerKind::Rollback {
        let _ = write!(
            out,
            "<dt>Rollback of</dt><dd>{}</dd>",
            match &b.spec.trigger.build {
                Some(src) => format!(
                    "<a href=\"/build/{}/{}\">build/{}</a> (nothing built: its image applied again)",
                    seg(&ns),
                    seg(src),
                    esc(src)
                ),
                None => "?".into(),
            }
        );
    }
    if s.rolled_back {
        let _ = write!(
            out,
            "<dt>Rolled back to</dt><dd><code>{}</code></dd>",
            esc(&output::or_none(s.previous_image.as_deref()))
        );
    }
    out.push_str("</dl><h2>Stages</h2><ul class=\"stages\">");
    for (stage, d) in stages(b, now) {
        let _ = write!(
            out,
            "<li>{stage}: {}</li>",
            d.map_or_else(|| "not reached".into(), output::human_duration)
        );
    }
    out.push_str("</ul>");
    if let Some(bd) = binding {
        out.push_str(&cli(&format!("kubectl mosaic status {}", target(bd))));
    }
    out.push_str(&cli(&format!("kubectl mosaic logs build/{name} -n {ns}")));
    if !s.findings.is_empty() {
        out.push_str("<h2>Findings</h2>");
        out.push_str(&findings(&s.findings));
    }
    out.push_str("<h2>Log tail</h2>");
    let _ = write!(
        out,
        "<pre id=\"log\" class=\"log\">{}</pre>",
        esc(s.log_tail.as_deref().unwrap_or("(no log recorded)"))
    );
    if s.phase == BuildPhase::Failed && s.log_tail.is_none() {
        out.push_str("<p>The Build failed before its log was recorded.</p>");
    }
    out.push_str("</div>");
    out
}

/// Findings with their evidence, fix and `learn` text (as the Explain page shows them).
pub fn findings(fs: &[mosaic_core::explain::Finding]) -> String {
    super::explain::findings_html(fs)
}
