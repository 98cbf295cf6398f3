//! CronJob schedule rules: a suspended CronJob (information, with the backlog it will
//! start from when resumed) and one that misses its scheduled runs (start times
//! passed with no run, from its schedule and `status.lastScheduleTime`, or the
//! controller's `TooManyMissedTimes`/`MissSchedule` Events).

use chrono::{DateTime, Duration, Utc};

use super::workloads::{describe, newest_events};
use super::{Age, Ctx, Rule};
use crate::explain::cron::{self, Missed};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Event, Index, Obj};
use crate::explain::value::{i64_at, str_at, time_at};

pub const RULES: &[Rule] = &[
    Rule {
        slug: "cronjob.suspended",
        kinds: &["CronJob"],
        symptom: false,
        check: suspended,
    },
    Rule {
        slug: "cronjob.missed-schedules",
        kinds: &["CronJob"],
        symptom: false,
        check: missed_schedules,
    },
];

/// How late the controller may be before a start time counts as missed.
const CONTROLLER_LAG: i64 = 5 * 60;
/// The widest UTC offset of any time zone: a schedule in a named zone is
/// counted only over the part of the window no offset can move it out of.
const WIDEST_OFFSET: i64 = 14 * 3600;
/// The controller counts at most this many missed start times.
const MANY: u32 = 101;

fn is_suspended(cj: &Obj) -> bool {
    cj.get("spec.suspend").and_then(|v| v.as_bool()) == Some(true)
}

/// Start times that passed without a run: after `lastScheduleTime` (else the
/// creation), up to the reference time less the controller's usual lag. `None`
/// when the schedule cannot be evaluated or the reference time is unknown.
fn missed(cj: &Obj, ctx: &Ctx) -> Option<(Missed, DateTime<Utc>, Option<String>)> {
    let schedule = cron::parse(cj.str("spec.schedule")?).ok()?;
    let since = time_at(&cj.value, "status.lastScheduleTime").or_else(|| cj.created())?;
    let Age::Known(_) = ctx.age_of(Some(since)) else {
        return None;
    };
    let now = ctx.now?;
    let zone = cj
        .str("spec.timeZone")
        .map(str::to_string)
        .or(schedule.zone.clone())
        .filter(|z| {
            !matches!(
                z.as_str(),
                "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Etc/UCT"
            )
        });
    let shift = Duration::seconds(if zone.is_some() { WIDEST_OFFSET } else { 0 });
    let (from, to) = (
        since + shift,
        now - shift - Duration::seconds(CONTROLLER_LAG),
    );
    if to <= from {
        return Some((Missed::default(), since, zone));
    }
    Some((schedule.between(from, to, MANY), since, zone))
}

fn count_text(m: &Missed) -> String {
    if m.count >= MANY {
        "more than 100".to_string()
    } else {
        m.count.to_string()
    }
}

fn window_note(since: DateTime<Utc>, zone: &Option<String>) -> Option<Evidence> {
    zone.as_ref().map(|z| {
        Evidence::note(format!(
            "the schedule is in time zone {z}: start times were counted only where no UTC offset could move them (from 14 h after {} to 14 h before now), so the count is a lower bound",
            since.to_rfc3339()
        ))
    })
}

/// `spec.suspend: true`: information (it is often deliberate), with the last run
/// and the backlog a resume would start from.
fn suspended(cj: &Obj, _: &Index, ctx: &Ctx) -> Vec<Finding> {
    if !is_suspended(cj) {
        return vec![];
    }
    let mut f = Finding::new(
        "cronjob.suspended",
        Severity::Info,
        cj.object_ref(),
        format!(
            "CronJob {} is suspended: it starts no Jobs on its schedule {:?}.",
            cj.name,
            cj.str("spec.schedule").unwrap_or("?")
        ),
    )
    .evidence(cj.field("spec.suspend", true));
    match cj.str("status.lastScheduleTime") {
        Some(t) => f = f.evidence(cj.field("status.lastScheduleTime", t)),
        None => {
            f = f.evidence(Evidence::note(
                "it has never run (no status.lastScheduleTime)",
            ))
        }
    }
    if let Some((m, since, zone)) = missed(cj, ctx).filter(|(m, _, _)| m.count > 0) {
        let deadline = i64_at(&cj.value, "spec.startingDeadlineSeconds");
        let starts = match (deadline, m.last, ctx.now) {
            (Some(d), Some(last), Some(now)) if now - last > Duration::seconds(d) => format!(
                "a resume starts nothing at once: the most recent of them is older than startingDeadlineSeconds ({d} s)"
            ),
            _ => "a resume starts one Job at once, for the most recent of them".to_string(),
        };
        f = f
            .evidence(Evidence::note(format!(
                "backlog: {} scheduled runs passed while suspended (since {}); {starts}",
                count_text(&m),
                since.to_rfc3339()
            )))
            .evidence_all(window_note(since, &zone));
    }
    vec![
        f.fix(format!(
            "Resume it when intended: kubectl patch cronjob {}{} -p '{{\"spec\":{{\"suspend\":false}}}}'",
            cj.name,
            cj.ns_flag()
        ))
        .learn("A suspended CronJob keeps its schedule but starts nothing; Kubernetes records no event for the runs it skips. When resumed, runs missed within startingDeadlineSeconds may start at once."),
    ]
}

fn missed_schedules(cj: &Obj, ix: &Index, ctx: &Ctx) -> Vec<Finding> {
    if is_suspended(cj) {
        return vec![];
    }
    let last = time_at(&cj.value, "status.lastScheduleTime");
    // Events older than the last run were about a miss the controller has since got past.
    let events: Vec<_> = ix
        .events_with(cj, &["TooManyMissedTimes", "MissSchedule"])
        .into_iter()
        .filter(|e| last.is_none_or(|l| e.last_seen_time.is_none_or(|t| t > l)))
        .collect();
    let counted = missed(cj, ctx);
    let m = counted.as_ref().map(|c| c.0).unwrap_or_default();
    if m.count == 0 && events.is_empty() {
        return vec![];
    }
    let schedule = cj.str("spec.schedule").unwrap_or("?");
    let runs = if m.count > 0 {
        format!("{} scheduled runs passed without a Job", count_text(&m))
    } else {
        "its controller reports missed start times".to_string()
    };
    let active: Vec<&str> = cj
        .arr("status.active")
        .iter()
        .filter_map(|r| str_at(r, "name"))
        .collect();
    let forbid = cj.str("spec.concurrencyPolicy") == Some("Forbid");
    let deadline = i64_at(&cj.value, "spec.startingDeadlineSeconds");
    let (cause, known) = miss_cause(&active, forbid, deadline, &events);
    let mut f = Finding::new(
        "cronjob.missed-schedules",
        Severity::Error,
        cj.object_ref(),
        format!(
            "CronJob {} is missing its schedule {schedule:?}: {runs}; {cause}.",
            cj.name
        ),
    )
    .evidence(cj.field("spec.schedule", schedule));
    f = match last {
        Some(_) => f.evidence(cj.field(
            "status.lastScheduleTime",
            cj.str("status.lastScheduleTime").unwrap_or("?"),
        )),
        None => f.evidence(Evidence::note(
            "it has never run (no status.lastScheduleTime): counted from its creation",
        )),
    };
    if let Some(first) = m.first {
        f = f.evidence(Evidence::note(format!(
            "first missed start time: {}",
            first.to_rfc3339()
        )));
    }
    if forbid && !active.is_empty() {
        f = f
            .evidence(cj.field("spec.concurrencyPolicy", "Forbid"))
            .evidence(cj.field("status.active[].name", active.join(", ")));
    }
    if let Some(d) = deadline {
        f = f.evidence(cj.field("spec.startingDeadlineSeconds", d));
    }
    if let Some((_, since, zone)) = &counted {
        f = f.evidence_all(window_note(*since, zone));
    }
    f = f.evidence_all(newest_events(&events));
    if events.is_empty() {
        // The count is computed from the schedule, not stated by the cluster.
        f = f.likely(&computed_from(schedule, last, ctx));
    }
    let fixes = miss_fixes(cj, &active, forbid, known);
    let mut f = f.learn("A CronJob's controller checks every few seconds which start times passed since status.lastScheduleTime and creates one Job for the most recent. It skips a start when concurrencyPolicy is Forbid and a run is still active, or when it is later than startingDeadlineSeconds; past 100 missed times it warns with TooManyMissedTimes.");
    for x in fixes {
        f = f.fix(x);
    }
    vec![f]
}

/// Why a CronJob's start times pass without a Job, and whether the input says so.
fn miss_cause(
    active: &[&str],
    forbid: bool,
    deadline: Option<i64>,
    events: &[&Event],
) -> (String, bool) {
    if forbid && !active.is_empty() {
        (
            format!(
                "Job {} of an earlier run is still active and concurrencyPolicy Forbid skips every start until it ends",
                active.join(", ")
            ),
            true,
        )
    } else if let (Some(d), true) = (deadline, events.iter().any(|e| e.reason == "MissSchedule")) {
        (
            format!(
                "the controller reached the start times more than startingDeadlineSeconds ({d} s) late and skipped them"
            ),
            true,
        )
    } else if events.iter().any(|e| e.reason == "TooManyMissedTimes") {
        (
            "the controller counted more than 100 missed start times (its clock, or a long outage of kube-controller-manager)".to_string(),
            true,
        )
    } else {
        (
            "the input does not say why; the CronJob controller in kube-controller-manager creates the runs".to_string(),
            false,
        )
    }
}

/// The facts a miss computed from the schedule rests on.
fn computed_from(schedule: &str, last: Option<DateTime<Utc>>, ctx: &Ctx) -> Vec<String> {
    vec![
        format!("schedule {schedule:?}"),
        format!(
            "last scheduled run {}",
            last.map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "never".into())
        ),
        format!(
            "reference time {}",
            ctx.now.map(|t| t.to_rfc3339()).unwrap_or_default()
        ),
    ]
}

/// What to do about missed schedules: end the active run, check the controller, run once now.
fn miss_fixes(cj: &Obj, active: &[&str], forbid: bool, known: bool) -> Vec<String> {
    let mut fixes = Vec::new();
    if forbid && !active.is_empty() {
        fixes.push(format!(
            "See why the active run does not end: kubectl mosaic explain job/{}{}; set activeDeadlineSeconds on the job template so a stuck run ends",
            active[0],
            cj.ns_flag()
        ));
    }
    if !known {
        fixes.push("Check that kube-controller-manager runs and that its clock is right (its cronjob-controller creates the Jobs).".to_string());
    }
    fixes.push(format!(
        "Run it once now: kubectl create job --from=cronjob/{} {}-manual{}",
        cj.name,
        cj.name,
        cj.ns_flag()
    ));
    fixes.push(describe(cj));
    fixes
}

#[cfg(test)]
mod tests;
