//! The Binding page (its Builds as a timeline of stage bars, the rollout, the actions),
//! rendered from the watch stores. The Build page is `build_page`.

use std::fmt::Write as _;

use kube::ResourceExt;
use mosaic_core::Binding;

use super::facts::{bars, trigger, why};
use super::html::{cli, esc, seg};
use super::overview::ready_pods;
use super::state::View;
use crate::cmd::status;
use crate::cmd::target;
use crate::output;

/// How many Builds the Binding page shows.
pub const HISTORY: usize = 20;

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
