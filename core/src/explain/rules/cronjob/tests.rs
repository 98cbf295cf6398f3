//! CronJobs as the batch/v1 API serves them (status written by the CronJob controller),
//! and the controller's Warning Events about missed start times.

use crate::explain::{Confidence, Options, explain};
use crate::testing::{run, slugs};
use serde_json::{Value, json};

/// An hourly CronJob created at 2024-04-01, last run at `last`, `extra` merged into spec.
fn cronjob(last: Option<&str>, extra: Value) -> Value {
    let mut c = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "report", "namespace": "ns", "uid": "cj1",
                     "creationTimestamp": "2024-04-01T00:00:00Z"},
        "spec": {"schedule": "0 * * * *", "concurrencyPolicy": "Allow", "suspend": false,
                 "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                 "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                     "containers": [{"name": "report", "image": "example/report:1"}]}}}}},
        "status": {},
    });
    if let Some(t) = last {
        c["status"]["lastScheduleTime"] = json!(t);
        c["status"]["lastSuccessfulTime"] = json!(t);
    }
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        c["spec"][k] = v;
    }
    c
}

/// Something observed at `at`, which sets the reference time of the input.
fn clock(at: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "clock", "namespace": "ns", "creationTimestamp": at}})
}

fn event(reason: &str, message: &str, last: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("report.{reason}"), "namespace": "ns"},
        "involvedObject": {"apiVersion": "batch/v1", "kind": "CronJob", "name": "report",
                           "namespace": "ns", "uid": "cj1"},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
        "source": {"component": "cronjob-controller"},
        "firstTimestamp": last, "lastTimestamp": last,
    })
}

#[test]
fn hourly_job_five_hours_behind_is_missing_its_schedule() {
    let f = run(
        "cronjob.missed-schedules",
        vec![
            cronjob(Some("2024-05-01T10:00:00Z"), json!({})),
            clock("2024-05-01T15:30:00Z"),
        ],
    );
    assert_eq!(f.len(), 1);
    assert!(
        f[0].summary
            .contains("5 scheduled runs passed without a Job"),
        "{}",
        f[0].summary
    );
    assert!(
        f[0].summary.contains("does not say why"),
        "{}",
        f[0].summary
    );
    assert_eq!(f[0].confidence, Confidence::Likely);
    assert!(
        f[0].evidence.iter().any(
            |e| e.note.as_deref() == Some("first missed start time: 2024-05-01T11:00:00+00:00")
        )
    );
}

#[test]
fn on_time_and_just_due_runs_are_not_missed() {
    // The last run was at 15:00 and it is 15:30: nothing is due.
    assert!(
        run(
            "cronjob.missed-schedules",
            vec![
                cronjob(Some("2024-05-01T15:00:00Z"), json!({})),
                clock("2024-05-01T15:30:00Z")
            ]
        )
        .is_empty()
    );
    // 16:00 passed two minutes ago: within the controller's usual lag.
    assert!(
        run(
            "cronjob.missed-schedules",
            vec![
                cronjob(Some("2024-05-01T15:00:00Z"), json!({})),
                clock("2024-05-01T16:02:00Z")
            ]
        )
        .is_empty()
    );
    // A lone CronJob: its age, and so any backlog, cannot be established.
    assert!(run("cronjob.missed-schedules", vec![cronjob(None, json!({}))]).is_empty());
}

#[test]
fn forbid_with_an_active_run_names_the_run() {
    let mut cj = cronjob(
        Some("2024-05-01T10:00:00Z"),
        json!({"concurrencyPolicy": "Forbid"}),
    );
    cj["status"]["active"] = json!([{"apiVersion": "batch/v1", "kind": "Job", "name": "report-28575600",
                                     "namespace": "ns", "uid": "j1"}]);
    let f = run(
        "cronjob.missed-schedules",
        vec![cj, clock("2024-05-01T13:30:00Z")],
    );
    assert_eq!(f.len(), 1);
    assert!(
        f[0].summary
            .contains("Job report-28575600 of an earlier run is still active"),
        "{}",
        f[0].summary
    );
    assert!(f[0].fix[0].contains("explain job/report-28575600 -n ns"));
}

#[test]
fn controller_events_state_the_miss() {
    // TooManyMissedTimes as kube-controller-manager 1.36 writes it.
    let f = run(
        "cronjob.missed-schedules",
        vec![
            cronjob(Some("2024-05-01T10:00:00Z"), json!({})),
            event(
                "TooManyMissedTimes",
                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
                "2024-05-01T10:40:00Z",
            ),
        ],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].confidence, Confidence::Certain);
    assert!(f[0].summary.contains("more than 100"), "{}", f[0].summary);
    // MissSchedule with a starting deadline.
    let f = run(
        "cronjob.missed-schedules",
        vec![
            cronjob(
                Some("2024-05-01T10:00:00Z"),
                json!({"startingDeadlineSeconds": 30}),
            ),
            event(
                "MissSchedule",
                "Missed scheduled time to start a job: Wed, 01 May 2024 11:00:00 +0000",
                "2024-05-01T11:20:00Z",
            ),
        ],
    );
    assert!(
        f[0].summary.contains("startingDeadlineSeconds (30 s)"),
        "{}",
        f[0].summary
    );
    // An event from before the last run is history.
    assert!(
        run(
            "cronjob.missed-schedules",
            vec![
                cronjob(Some("2024-05-01T11:00:00Z"), json!({})),
                event(
                    "MissSchedule",
                    "Missed scheduled time",
                    "2024-05-01T10:20:00Z"
                ),
            ]
        )
        .is_empty()
    );
}

#[test]
fn a_named_time_zone_counts_conservatively() {
    // Daily at 03:00 in Europe/Paris, last run 2 days before: the 14 h margins leave
    // one certain start time out of two.
    let f = run(
        "cronjob.missed-schedules",
        vec![
            cronjob(
                Some("2024-05-01T01:00:00Z"),
                json!({"schedule": "0 3 * * *", "timeZone": "Europe/Paris"}),
            ),
            clock("2024-05-03T12:00:00Z"),
        ],
    );
    assert_eq!(f.len(), 1);
    assert!(
        f[0].summary.contains("1 scheduled runs"),
        "{}",
        f[0].summary
    );
    assert!(f[0].evidence.iter().any(|e| {
        e.note
            .as_deref()
            .is_some_and(|n| n.contains("Europe/Paris"))
    }));
    // One day behind in a named zone: no start time is certainly missed.
    assert!(
        run(
            "cronjob.missed-schedules",
            vec![
                cronjob(
                    Some("2024-05-01T01:00:00Z"),
                    json!({"schedule": "0 3 * * *", "timeZone": "Europe/Paris"}),
                ),
                clock("2024-05-02T10:00:00Z"),
            ]
        )
        .is_empty()
    );
}

#[test]
fn suspended_reports_its_backlog_and_is_not_missing() {
    let cj = cronjob(Some("2024-05-01T10:00:00Z"), json!({"suspend": true}));
    let all = slugs(vec![cj.clone(), clock("2024-05-01T15:30:00Z")]);
    assert_eq!(all, ["cronjob.suspended"]);
    let f = run("cronjob.suspended", vec![cj, clock("2024-05-01T15:30:00Z")]);
    let backlog = f[0]
        .evidence
        .iter()
        .find_map(|e| e.note.as_deref().filter(|n| n.starts_with("backlog")))
        .expect("backlog evidence");
    assert!(
        backlog.contains("5 scheduled runs passed while suspended"),
        "{backlog}"
    );
    assert!(backlog.contains("starts one Job at once"), "{backlog}");
    // With a starting deadline long passed, a resume starts nothing at once.
    let cj = cronjob(
        Some("2024-05-01T10:00:00Z"),
        json!({"suspend": true, "startingDeadlineSeconds": 60}),
    );
    let f = run("cronjob.suspended", vec![cj, clock("2024-05-01T15:30:00Z")]);
    assert!(
        f[0].evidence.iter().any(|e| e
            .note
            .as_deref()
            .is_some_and(|n| n.contains("starts nothing"))),
        "{:?}",
        f[0].evidence
    );
}

#[test]
fn unreadable_schedule_is_not_a_miss() {
    let cj = cronjob(
        Some("2024-05-01T10:00:00Z"),
        json!({"schedule": "@every 5m"}),
    );
    let report = explain(vec![cj, clock("2024-05-01T15:30:00Z")], &Options::default());
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}
