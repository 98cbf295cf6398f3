//! What the Binding page, the Build page, the plot and the action forms share: a Build's
//! stages with their times and as bars, its trigger and its why in words, and the
//! `deployment/NAME -n NS` target of a Binding's commands.

use std::fmt::Write as _;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use mosaic_core::Build;

use crate::output;

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
pub fn bars(b: &Build, now: i64, longest: i64) -> String {
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

pub fn why(b: &Build) -> String {
    let s = b.status.clone().unwrap_or_default();
    [s.reason, s.message]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ")
}

pub fn trigger(b: &Build) -> String {
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
