//! The crash-loop rules: a container that keeps exiting under `restartPolicy: Always`,
//! read the way current kubelets show it (terminated between restarts, not only
//! waiting in `CrashLoopBackOff`), and one that exits 0 but is restarted forever.

use crate::explain::tree::Value;

use super::pod::{
    Cs, container_events, describe, events_evidence, exit_meaning, finding, learn, logs_previous,
    restart_policy, statuses,
};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::{get, human_duration, str_at, time_at};

pub const RULES: &[Rule] = &[
    rule("pod.crash-loop", crash_loop),
    rule("pod.crash-loop.completed", crash_loop_completed),
];

const fn rule(slug: &'static str, check: fn(&Obj, &Index, &Ctx) -> Vec<Finding>) -> Rule {
    Rule {
        slug,
        kinds: &["Pod"],
        symptom: false,
        check,
    }
}

static NULL: Value = Value::Null;

/// The termination a crash loop is read from: `state.terminated` when the container
/// is down with a non-zero exit now, else `lastState.terminated`.
struct Crash<'a> {
    cs: Cs<'a>,
    /// `state.terminated` or `lastState.terminated`.
    at: &'static str,
    term: &'a Value,
    code: i64,
}

impl Crash<'_> {
    fn reason(&self) -> Option<&str> {
        str_at(self.term, "reason").filter(|r| !r.is_empty())
    }
    /// How long the crashed run lasted (`startedAt` → `finishedAt`), when both parse.
    fn ran_for(&self) -> Option<chrono::Duration> {
        let d = time_at(self.term, "finishedAt")? - time_at(self.term, "startedAt")?;
        (d >= chrono::Duration::zero()).then_some(d)
    }
}

/// An app container that is crash-looping as kubelets up to and after 1.35 show it:
/// `restartPolicy: Always`, `restartCount` > 0 and a non-zero exit in `state` or
/// `lastState` while it is not running (kubelet >= 1.35 keeps it `terminated` for
/// most of each back-off; older ones show `waiting: CrashLoopBackOff`). Exit 0
/// (`Completed`) is `pod.crash-loop.completed`'s business.
fn crash_looping<'a>(pod: &'a Obj) -> Option<Crash<'a>> {
    if restart_policy(pod) != "Always" || pod.get("metadata.deletionTimestamp").is_some() {
        return None;
    }
    statuses(pod).into_iter().find_map(|cs| {
        if cs.init || cs.running() || cs.restarts() == 0 {
            return None;
        }
        // Waiting for anything but the back-off (an image pull, a config error) is
        // another rule's cause, whatever the last run did.
        if cs.waiting_reason().is_some_and(|r| r != "CrashLoopBackOff") {
            return None;
        }
        ["state.terminated", "lastState.terminated"]
            .into_iter()
            .find_map(|at| {
                let term = get(cs.v, at)?;
                let code = term.get("exitCode")?.as_i64()?;
                (code != 0).then_some(Crash { cs, at, term, code })
            })
            .or_else(|| {
                // Waiting in CrashLoopBackOff with the exit unknown.
                (cs.waiting_reason() == Some("CrashLoopBackOff")).then_some(Crash {
                    cs,
                    at: "lastState.terminated",
                    term: &NULL,
                    code: -1,
                })
            })
    })
}

/// `about 1 s`, `about 3 min`, for how long a run lasted.
fn about(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    if s < 120 {
        format!("about {} s", s.max(0))
    } else {
        format!("about {}", human_duration(d))
    }
}

fn crash_loop(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(crash) = crash_looping(pod) else {
        return Vec::new();
    };
    let cs = crash.cs;
    let known = crash.code >= 0;
    let mut what = if known {
        format!("exits with code {}", crash.code)
    } else {
        "keeps exiting".to_string()
    };
    if let Some(r) = crash.reason().filter(|r| *r != "Error") {
        what.push_str(&format!(" ({r})"));
    }
    if let Some(d) = crash.ran_for() {
        what.push_str(&format!(" {} after start", about(d)));
    }
    let times = if cs.restarts() == 1 {
        "once".to_string()
    } else {
        format!("{} times", cs.restarts())
    };
    let killed = crash.code == 137 && crash.reason() != Some("OOMKilled");
    let backoff: Vec<_> = container_events(ix, pod, &cs, &["BackOff"])
        .into_iter()
        .filter(|e| e.message.starts_with("Back-off restarting"))
        .collect();
    let mut f = finding(
        "pod.crash-loop",
        Severity::Error,
        pod,
        format!(
            "crash loop: container {} {what} (restarted {times})",
            cs.name
        ),
    )
    .evidence_all(cs.waiting_evidence(pod))
    .evidence(cs.ev(pod, "restartCount", cs.restarts()))
    .evidence(pod.field("spec.restartPolicy", restart_policy(pod)));
    for k in ["reason", "exitCode", "startedAt", "finishedAt", "message"] {
        if let Some(v) = crash.term.get(k) {
            let text = v
                .as_str()
                .map_or_else(|| v.to_string(), |s| s.trim().to_string());
            if !text.is_empty() {
                f = f.evidence(cs.ev(pod, &format!("{}.{k}", crash.at), text));
            }
        }
    }
    if known {
        f = f.evidence(Evidence::note(format!(
            "exit code {}: {}",
            crash.code,
            exit_meaning(crash.code)
        )));
    }
    f = f.evidence_all(events_evidence(&backoff));
    if killed {
        f = f.possible(true).evidence(Evidence::note(
            "Exit 137 means the process was killed (SIGKILL) but the status does not say OOMKilled: it may be a memory limit hit, a failed liveness probe or an external kill.",
        ));
    }
    vec![f.learn(learn::CRASH_LOOP)
        .fix(logs_previous(pod, &cs)).fix("Fix the error the logs show (configuration, a missing dependency, a bug), then roll out again.").fix(describe(pod))]
}

fn crash_loop_completed(pod: &Obj, _: &Index, _: &Ctx) -> Vec<Finding> {
    if restart_policy(pod) != "Always" {
        return Vec::new();
    }
    // Waiting in back-off, or (kubelet >= 1.35) terminated between restarts.
    let Some(cs) = statuses(pod).into_iter().find(|c| {
        !c.init
            && c.restarts() > 0
            && ((c.waiting_reason() == Some("CrashLoopBackOff")
                && c.last_reason() == Some("Completed")
                && c.last_exit() == Some(0))
                || (c.term_reason() == Some("Completed") && c.term_exit() == Some(0)))
    }) else {
        return Vec::new();
    };
    let mut f = finding(
        "pod.crash-loop.completed",
        Severity::Error,
        pod,
        format!(
            "container {} exits with code 0 but restartPolicy Always restarts it forever (restarted {} times)",
            cs.name,
            cs.restarts()
        ),
    )
    .evidence_all(cs.waiting_evidence(pod));
    if cs.term_reason() == Some("Completed") {
        f = f
            .evidence(cs.ev(pod, "state.terminated.reason", "Completed"))
            .evidence(cs.ev(pod, "state.terminated.exitCode", 0));
    }
    vec![
        f.evidence_all(cs.last_evidence(pod))
        .evidence(pod.field("spec.restartPolicy", "Always"))
        .fix("For run-once work use a Job (kubectl create job ...) instead of a Deployment.")
        .fix("For a server, make the process stay in the foreground (no daemonizing, no shell script that exits).")
        .fix(logs_previous(pod, &cs)),
    ]
}

#[cfg(test)]
mod tests;
