//! The text `status` prints for one Binding: what it deploys and the rollout, its newest
//! Builds, why the newest failed, the commit statuses the newest sent to GitHub, and why recent
//! pushes did not deploy (the Events the webhook writes on the Binding). Pure.

use std::fmt::Write as _;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Event;
use kube::ResourceExt;
use mosaic_core::{Binding, Build, BuildPhase, BuildStatus};

use super::report::{StatusReport, build_seconds, report};
use crate::output::{self, Table};

/// The text `status` prints for one binding (pure).
pub fn render(
    binding: &Binding,
    deployment: Option<&Deployment>,
    builds: &[Build],
    events: &[Event],
    now: i64,
    plain: &[String],
) -> String {
    let r = report(binding, deployment, builds, events, plain);
    let mut out = String::new();
    write_binding(&mut out, &r);
    if r.builds.is_empty() {
        let _ = writeln!(out, "Builds:      <none>");
    } else {
        write_builds(&mut out, &r.builds, now);
        if let Some(failed) = r.builds.first().and_then(|b| b.status.as_ref())
            && failed.phase == BuildPhase::Failed
        {
            write_failure(&mut out, failed);
        }
        if let Some(newest) = r.builds.first() {
            write_reports(&mut out, newest, now);
        }
    }
    write_events(&mut out, &r.events, now);
    out
}

/// The commit statuses the newest Build sent to GitHub, newest first, in core's words.
fn write_reports(out: &mut String, b: &Build, now: i64) {
    let Some(s) = b.status.as_ref().filter(|s| !s.commit_statuses.is_empty()) else {
        return;
    };
    let _ = writeln!(out, "Commit statuses sent by build/{}:", b.name_any());
    for r in mosaic_core::commit_status::newest_first(&s.commit_statuses) {
        let age = output::human_duration(now - r.sent_at.0.as_second());
        let _ = writeln!(
            out,
            "  {age:>8} ago  {}  {}",
            output::escape_terminal(&r.context),
            output::escape_terminal(&r.words())
        );
    }
}

/// Why recent pushes did not deploy: the newest Events on the Binding, newest first.
fn write_events(out: &mut String, events: &[&Event], now: i64) {
    if events.is_empty() {
        return;
    }
    let _ = writeln!(out, "Why recent pushes did not deploy:");
    for e in events {
        let age = super::report::event_time(e)
            .map_or_else(|| "<unknown>".into(), |t| output::human_duration(now - t));
        let _ = writeln!(
            out,
            "  {age:>8} ago  {}: {}",
            output::escape_terminal(e.reason.as_deref().unwrap_or("<no reason>")),
            output::escape_terminal(e.message.as_deref().unwrap_or_default())
        );
    }
}

/// The Binding, what it deploys, and the rollout.
fn write_binding(out: &mut String, r: &StatusReport<'_>) {
    let binding = r.binding;
    let st = binding.status.clone().unwrap_or_default();
    let ns = binding.namespace().unwrap_or_default();
    let _ = writeln!(out, "Binding:     {} (namespace {ns})", binding.name_any());
    let container = binding
        .spec
        .container
        .as_deref()
        .map(|c| format!(" container {c}"))
        .unwrap_or_default();
    let _ = writeln!(out, "Deployment:  {}{container}", binding.spec.deployment);
    let _ = writeln!(
        out,
        "Repository:  {} branch {}",
        binding.spec.repo, binding.spec.branch
    );
    let _ = writeln!(out, "Image:       {}", binding.spec.image);
    if let Some(host) = &r.plain_http_registry {
        let _ = writeln!(
            out,
            "Registry:    {host} over plain HTTP (unencrypted; install --insecure-registry or loopback)"
        );
    }
    if binding.spec.paused {
        let _ = writeln!(
            out,
            "Paused:      yes (pushes are ignored; Builds recorded before end Cancelled)"
        );
    }
    let _ = writeln!(
        out,
        "Last commit: {}",
        output::or_none(st.last_commit.as_deref())
    );
    let _ = writeln!(
        out,
        "Deployed:    {}",
        output::or_none(st.last_image.as_deref())
    );
    let _ = writeln!(out, "Rollout:     {}", r.rollout);
}

/// The recent Builds as a table, newest first.
fn write_builds(out: &mut String, builds: &[&Build], now: i64) {
    let _ = writeln!(out, "Builds:");
    let mut t = Table::new(
        &["name", "commit", "trigger", "phase", "duration", "age"],
        false,
    );
    for b in builds {
        let s = b.status.clone().unwrap_or_default();
        let trigger = match (&b.spec.trigger.user, &b.spec.trigger.pusher) {
            (Some(u), _) => format!("manual by {u}"),
            (None, Some(p)) => format!("push by {p}"),
            _ => format!("{:?}", b.spec.trigger.kind).to_lowercase(),
        };
        t.row(vec![
            b.name_any(),
            output::short_commit(&b.spec.commit),
            trigger,
            s.phase.to_string(),
            build_seconds(b, now).map_or_else(|| "<unknown>".into(), output::human_duration),
            output::age(b.metadata.creation_timestamp.as_ref()),
        ]);
    }
    for line in t.render().lines() {
        let _ = writeln!(out, "  {line}");
    }
}

/// Why the newest Build failed: its reason and message, the rollback, and the findings.
fn write_failure(out: &mut String, s: &BuildStatus) {
    let why = [s.reason.as_deref(), s.message.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    let _ = writeln!(out, "Last build failed: {}", output::escape_terminal(&why));
    if s.rolled_back {
        let _ = writeln!(
            out,
            "  rolled back to {}",
            output::or_none(s.previous_image.as_deref())
        );
    }
    for f in &s.findings {
        let _ = writeln!(
            out,
            "  {:?} {} {}/{}: {}",
            f.severity,
            f.slug,
            f.object.kind,
            f.object.name,
            output::escape_terminal(&f.summary)
        );
        for fix in &f.fix {
            let _ = writeln!(out, "    fix: {}", output::escape_terminal(fix));
        }
    }
}
