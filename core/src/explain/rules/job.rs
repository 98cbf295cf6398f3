//! Job and CronJob rules: retries used up, deadline exceeded, the last scheduled
//! run failed. These are terminal facts: reported on the Job or CronJob even when its
//! pods' own failure is found (the engine links them to that root cause).

use super::workloads::{
    cond_evidence, cond_reason, cond_status, describe, explain_cmd, int, newest_events,
};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::{str_at, time_at};

pub const RULES: &[Rule] = &[
    Rule {
        slug: "job.backoff-limit",
        kinds: &["Job"],
        symptom: false,
        check: backoff_limit,
    },
    Rule {
        slug: "job.deadline-exceeded",
        kinds: &["Job"],
        symptom: false,
        check: deadline_exceeded,
    },
    Rule {
        slug: "cronjob.last-job-failed",
        kinds: &["CronJob"],
        symptom: false,
        check: last_job_failed,
    },
];

fn failed_reason(job: &Obj) -> Option<&str> {
    (cond_status(job, "Failed") == Some("True"))
        .then(|| cond_reason(job, "Failed"))
        .flatten()
}

/// Pods of the Job that ended Failed, newest first (at most three names).
fn failed_pods<'a>(ix: &'a Index, job: &Obj) -> Vec<&'a Obj> {
    let mut pods: Vec<&Obj> = ix
        .children(job)
        .filter(|c| c.kind == "Pod" && c.str("status.phase") == Some("Failed"))
        .collect();
    pods.sort_by_key(|p| std::cmp::Reverse(p.created()));
    pods
}

fn backoff_limit(job: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let reason = failed_reason(job);
    let events = ix.events_with(job, &["BackoffLimitExceeded"]);
    if !matches!(reason, Some("BackoffLimitExceeded" | "FailedIndexes"))
        && (reason.is_some() || events.is_empty())
    {
        return vec![];
    }
    let limit = int(job, "spec.backoffLimit", 6);
    let failed = int(job, "status.failed", 0);
    let mut f = Finding::new(
        "job.backoff-limit",
        Severity::Error,
        job.object_ref(),
        format!(
            "Job {} failed: its pods failed {failed} time(s), beyond backoffLimit {limit}.",
            job.name
        ),
    )
    .evidence_all(cond_evidence(job, "Failed"))
    .evidence(job.field("spec.backoffLimit", limit))
    .evidence(job.field("status.failed", failed))
    .evidence_all(newest_events(&events));
    let pods = failed_pods(ix, job);
    match pods.first() {
        Some(p) => {
            f = f
                .fix(format!(
                    "Read why the last pod failed: kubectl logs {}{}",
                    p.name,
                    p.ns_flag()
                ))
                .fix(format!("Explain it: {}", explain_cmd(p)))
        }
        None => {
            f = f.evidence(Evidence::note(
                "no failed pod of this Job is in the input (Jobs delete failed pods as they retry)",
            ))
        }
    }
    vec![
        f.fix(describe(job))
            .fix("Fix the program or its inputs, then delete the Job and create it again (a failed Job is not retried).")
            .learn("A Job runs pods until enough of them succeed. Each failed pod counts against backoffLimit (6 by default), with growing delays between retries; once the limit is passed the Job is marked Failed and stops creating pods."),
    ]
}

fn deadline_exceeded(job: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let events = ix.events_with(job, &["DeadlineExceeded"]);
    let reason = failed_reason(job);
    if reason != Some("DeadlineExceeded") && (reason.is_some() || events.is_empty()) {
        return vec![];
    }
    let mut f = Finding::new(
        "job.deadline-exceeded",
        Severity::Error,
        job.object_ref(),
        format!(
            "Job {} was stopped because it ran longer than activeDeadlineSeconds.",
            job.name
        ),
    )
    .evidence_all(cond_evidence(job, "Failed"))
    .evidence_all(newest_events(&events));
    if let Some(d) = job.get("spec.activeDeadlineSeconds") {
        f = f.evidence(job.field("spec.activeDeadlineSeconds", d));
    }
    if let (Some(start), Some(end)) = (
        time_at(&job.value, "status.startTime"),
        job.condition("Failed")
            .and_then(|c| str_at(c, "lastTransitionTime")),
    ) {
        f = f
            .evidence(job.field("status.startTime", start.to_rfc3339()))
            .evidence(Evidence::note(format!("failed at {end}")));
    }
    vec![
        f.fix("Find out why the work takes so long (logs of its pods), or raise spec.activeDeadlineSeconds if the limit is too tight.")
            .fix(describe(job))
            .learn("activeDeadlineSeconds is a stopwatch for the whole Job, retries included. When it runs out, Kubernetes stops all running pods of the Job and marks it Failed with reason DeadlineExceeded, however well the pods were doing."),
    ]
}

fn last_job_failed(cj: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(job) = ix
        .children(cj)
        .filter(|c| c.kind == "Job")
        .max_by_key(|j| (j.created(), j.name.clone()))
    else {
        return vec![];
    };
    if cond_status(job, "Failed") != Some("True") {
        return vec![];
    }
    let last_success = time_at(&cj.value, "status.lastSuccessfulTime");
    if last_success.is_some_and(|s| job.created().is_some_and(|c| s > c)) {
        return vec![]; // a newer run succeeded
    }
    let mut f = Finding::new(
        "cronjob.last-job-failed",
        Severity::Error,
        cj.object_ref(),
        format!(
            "The most recent run of CronJob {} (Job {}) failed.",
            cj.name, job.name
        ),
    )
    .evidence_all(cond_evidence(job, "Failed"));
    for p in ["status.lastScheduleTime", "status.lastSuccessfulTime"] {
        if let Some(t) = str_at(&cj.value, p) {
            f = f.evidence(cj.field(p, t));
        }
    }
    f.chain = vec![cj.object_ref(), job.object_ref()];
    vec![
        f.fix(format!("Explain the failed run: {}", explain_cmd(job)))
            .fix(format!("Run it once by hand after fixing: kubectl create job --from=cronjob/{} {}-manual{}", cj.name, cj.name, cj.ns_flag()))
            .learn("A CronJob creates a Job on a schedule, and the Job creates pods. A failed run does not stop future runs, but the failure is only visible on the Job and its pods, which the CronJob deletes after its history limit."),
    ]
}

#[cfg(test)]
mod tests {
    use crate::testing::{run, slugs};
    use serde_json::{Value, json};

    fn job(cond: Option<(&str, &str)>) -> Value {
        let mut j = json!({"kind": "Job", "apiVersion": "batch/v1",
            "metadata": {"name": "migrate", "namespace": "ns", "uid": "j1", "creationTimestamp": "2024-05-01T10:00:00Z",
                "ownerReferences": [{"kind": "CronJob", "name": "nightly", "uid": "c1", "controller": true}]},
            "spec": {"backoffLimit": 2, "activeDeadlineSeconds": 60},
            "status": {"failed": 3, "startTime": "2024-05-01T10:00:00Z"}});
        if let Some((reason, msg)) = cond {
            j["status"]["conditions"] = json!([{"type": "Failed", "status": "True", "reason": reason, "message": msg,
                "lastTransitionTime": "2024-05-01T10:01:00Z"}]);
        }
        j
    }

    fn failed_pod() -> Value {
        json!({"kind": "Pod", "metadata": {"name": "migrate-abc", "namespace": "ns", "uid": "p1", "creationTimestamp": "2024-05-01T10:00:30Z",
            "ownerReferences": [{"kind": "Job", "name": "migrate", "uid": "j1", "controller": true}]},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "m:1"}]},
            "status": {"phase": "Failed", "containerStatuses": [{"name": "m", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}})
    }

    #[test]
    fn backoff_limit_fires_and_near_misses() {
        let f = run(
            "job.backoff-limit",
            vec![job(Some((
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            )))],
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].summary.contains("backoffLimit 2"), "{}", f[0].summary);
        assert!(
            run(
                "job.backoff-limit",
                vec![job(Some((
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline"
                )))]
            )
            .is_empty()
        );
        assert!(
            run("job.backoff-limit", vec![job(None)]).is_empty(),
            "a running Job with failures is not failed yet"
        );
    }

    #[test]
    fn backoff_limit_from_event_only() {
        let ev = json!({"kind": "Event", "involvedObject": {"kind": "Job", "name": "migrate", "namespace": "ns", "uid": "j1"},
            "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "count": 1});
        assert_eq!(run("job.backoff-limit", vec![job(None), ev]).len(), 1);
    }

    #[test]
    fn failed_job_stays_beside_its_pod_cause_and_names_it() {
        let objs = vec![
            job(Some((
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            ))),
            failed_pod(),
        ];
        let s = slugs(objs.clone());
        assert!(s.contains(&"job.backoff-limit".to_string()), "{s:?}");
        assert!(s.iter().any(|s| s.starts_with("pod.")), "{s:?}");
        let r = crate::explain::explain(objs, &crate::explain::Options::default());
        let job = r
            .findings
            .iter()
            .find(|f| f.slug == "job.backoff-limit")
            .unwrap();
        assert!(job.evidence.iter().any(|e| {
            e.note
                .as_deref()
                .is_some_and(|n| n.starts_with("root cause: "))
        }));
    }

    #[test]
    fn deadline_exceeded_and_near_miss() {
        let f = run(
            "job.deadline-exceeded",
            vec![job(Some((
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            )))],
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.field.as_deref() == Some("spec.activeDeadlineSeconds"))
        );
        assert!(
            run(
                "job.deadline-exceeded",
                vec![job(Some(("BackoffLimitExceeded", "x")))]
            )
            .is_empty()
        );
    }

    fn cronjob(last_success: Option<&str>) -> Value {
        let mut c = json!({"kind": "CronJob", "apiVersion": "batch/v1", "metadata": {"name": "nightly", "namespace": "ns", "uid": "c1"},
            "status": {"lastScheduleTime": "2024-05-01T10:00:00Z"}});
        if let Some(t) = last_success {
            c["status"]["lastSuccessfulTime"] = json!(t);
        }
        c
    }

    #[test]
    fn cronjob_last_run_failed() {
        let f = run(
            "cronjob.last-job-failed",
            vec![
                cronjob(Some("2024-04-30T10:00:00Z")),
                job(Some(("BackoffLimitExceeded", "x"))),
            ],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].chain.len(), 2);
    }

    #[test]
    fn cronjob_near_misses() {
        // The newest run succeeded after the failed one was created.
        assert!(
            run(
                "cronjob.last-job-failed",
                vec![
                    cronjob(Some("2024-05-01T10:05:00Z")),
                    job(Some(("BackoffLimitExceeded", "x")))
                ]
            )
            .is_empty()
        );
        // The newest run has not failed.
        assert!(run("cronjob.last-job-failed", vec![cronjob(None), job(None)]).is_empty());
    }
}
