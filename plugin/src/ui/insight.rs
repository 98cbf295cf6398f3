//! What the Binding page adds to its facts: the explain findings of the Deployment as it is
//! now (as `kubectl mosaic explain deploy/NAME --learn` reports them, with "what changed since
//! the last healthy revision" where the engine finds one), and a small plot of build and
//! roll-out times over the last Builds (inline SVG: no script, no CDN, no inline style).

use std::fmt::Write as _;

use mosaic_core::Build;

use super::explain::{findings_for, findings_html, gather};
use super::facts::stages;
use super::html::{cli, esc};
use crate::explain::scope;

/// How many Builds the plot shows.
pub const PLOT_BUILDS: usize = 20;

/// The explain section of a Binding page, read live.
pub async fn findings(client: &kube::Client, ns: &str, deployment: &str) -> String {
    let t = format!("deploy/{deployment}");
    let mut out = String::from("<h2>Explain</h2>");
    out.push_str(&cli(&format!("kubectl mosaic explain {t} -n {ns} --learn")));
    let target = match scope::parse_target(&t) {
        Ok(x) => x,
        Err(e) => return format!("{out}<p class=\"error\">error: {}</p>", esc(&e)),
    };
    let found = match gather(client, ns).await {
        Ok((objects, _)) => findings_for(objects, &target, ns),
        Err(e) => Err(e),
    };
    match found {
        Ok((fs, _)) => {
            // The engine's "what changed" evidence: the newest revision's template, with a note.
            let mut changed: Vec<String> = fs
                .iter()
                .flat_map(|f| &f.evidence)
                .filter(|e| {
                    e.note.is_some()
                        && e.field
                            .as_deref()
                            .is_some_and(|f| f.ends_with("spec.template"))
                })
                .map(crate::explain::render::evidence_line)
                .collect();
            changed.dedup();
            out.push_str("<div id=\"insight\">");
            out.push_str(&findings_html(&fs));
            out.push_str("</div><h3>What changed since the last healthy revision</h3>");
            if changed.is_empty() {
                out.push_str("<p id=\"changed\" class=\"sub\">Nothing to compare: no finding on a newer revision than a healthy one.</p>");
            } else {
                out.push_str("<ul id=\"changed\">");
                for c in changed {
                    let _ = write!(out, "<li><code>{}</code></li>", esc(&c));
                }
                out.push_str("</ul>");
            }
        }
        Err(e) => {
            let _ = write!(out, "<p class=\"error\">error: {}</p>", esc(&e.to_string()));
        }
    }
    out
}

/// Seconds of building (fetch, build, push) and of rolling out (roll out, verify) of a Build.
pub fn times(b: &Build, now: i64) -> (i64, i64) {
    let mut build = 0;
    let mut roll = 0;
    for (name, d) in stages(b, now) {
        let d = d.unwrap_or(0);
        match name {
            "fetch" | "build" | "push" => build += d,
            _ => roll += d,
        }
    }
    (build, roll)
}

/// When a Build started: entering Pending (else Building), else its creation.
fn started(b: &Build) -> Option<i64> {
    let t = b.status.as_ref().map(|s| &s.phase_times);
    t.and_then(|t| t.pending.as_ref().or(t.building.as_ref()))
        .or(b.metadata.creation_timestamp.as_ref())
        .map(|t| t.0.as_second())
}

/// A bar plot of build and roll-out times of the newest [`PLOT_BUILDS`] of `builds`, oldest
/// on the left.
pub fn plot(builds: &[Build], now: i64) -> String {
    let mut ordered: Vec<&Build> = builds.iter().collect();
    ordered.sort_by_key(|b| std::cmp::Reverse((started(b), b.metadata.name.clone())));
    let shown: Vec<(&Build, (i64, i64))> = ordered
        .into_iter()
        .take(PLOT_BUILDS)
        .map(|b| (b, times(b, now)))
        .filter(|(_, (a, r))| a + r > 0)
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    let max = shown
        .iter()
        .map(|(_, (a, r))| a + r)
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, h, bar) = (40 + shown.len() as i64 * 22, 140, 16);
    let mut out = format!(
        "<h3>Build and roll-out times, last {} Builds</h3><figure class=\"plot\">\
<svg id=\"plot\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
aria-labelledby=\"plot-title\"><title id=\"plot-title\">Build (blue) and roll-out (green) seconds per Build, oldest left; longest {}</title>\
<line x1=\"30\" y1=\"120\" x2=\"{w}\" y2=\"120\" class=\"axis\"/>\
<text x=\"0\" y=\"12\" class=\"tick\">{}</text><text x=\"0\" y=\"124\" class=\"tick\">0</text>",
        shown.len(),
        esc(&crate::output::human_duration(max)),
        esc(&crate::output::human_duration(max)),
    );
    for (i, (b, (build, roll))) in shown.iter().rev().enumerate() {
        let x = 36 + i as i64 * 22;
        let hb = build * 110 / max;
        let hr = roll * 110 / max;
        let name = b.metadata.name.clone().unwrap_or_default();
        let _ = write!(
            out,
            "<g class=\"pt\"><title>{} build {} roll-out {}</title>\
<rect class=\"p-build\" x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{hb}\"/>\
<rect class=\"p-roll\" x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{hr}\"/></g>",
            esc(&name),
            esc(&crate::output::human_duration(*build)),
            esc(&crate::output::human_duration(*roll)),
            120 - hb,
            120 - hb - hr,
        );
    }
    out.push_str(
        "</svg><figcaption><span class=\"key p-build\"></span> build (fetch, build, push) \
<span class=\"key p-roll\"></span> roll-out (roll out, verify)</figcaption></figure>",
    );
    out
}
