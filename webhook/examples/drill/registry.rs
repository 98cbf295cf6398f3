//! Drill `registry`: the registry fails during a push, then recovers. Four cases: it answers
//! 500 to everything for good; it answers 500 for 15 s and then recovers; its process is
//! SIGKILLed mid-push (a throttled upload in flight) and started 5 s later; it is stopped
//! before the push and started 20 s later. Each time the Build must end (no hang) either
//! deployed or Failed with the registry's answer, never half-rolled, and the next push after
//! the recovery must deploy.

use std::time::{Duration, Instant};

use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::fault_proxy::Mode;

use crate::record::{Recorder, verdict};
use crate::world::{Webhook, World, controller, start, world};
use crate::{Report, reach, recovery_push, stack, terminal};

#[derive(Debug, Clone, Copy)]
enum Case {
    Always500,
    Flaky500,
    KilledMidPush,
    DownThenUp,
}

async fn fault(w: &World, case: Case, name: &str) -> Result<(), String> {
    match case {
        Case::Always500 => Ok(()),
        Case::Flaky500 => {
            reach(w, name, BuildPhase::Pushing, Some("registry")).await?;
            tokio::time::sleep(Duration::from_secs(15)).await;
            w.proxy.set_mode(Mode::Pass);
            Ok(())
        }
        Case::KilledMidPush => {
            reach(w, name, BuildPhase::Pushing, Some("registry")).await?;
            tokio::time::sleep(Duration::from_millis(800)).await;
            stack::stop_part("registry", "KILL");
            tokio::time::sleep(Duration::from_secs(5)).await;
            stack::start_part("registry");
            Ok(())
        }
        Case::DownThenUp => {
            reach(w, name, BuildPhase::Pushing, Some("registry")).await?;
            tokio::time::sleep(Duration::from_secs(20)).await;
            stack::start_part("registry");
            Ok(())
        }
    }
}

async fn trial(w: &World, wh: &Webhook, rec: &Recorder, case: Case, report: &mut Report) {
    let label = format!("{case:?}");
    match case {
        Case::Always500 | Case::Flaky500 => w.proxy.set_mode(Mode::Status(500)),
        Case::KilledMidPush => w.proxy.set_mode(Mode::Throttle(64 * 1024)),
        Case::DownThenUp => {
            w.proxy.set_mode(Mode::Pass);
            stack::stop_part("registry", "TERM");
        }
    }
    let generation = w.generation(0).await;
    let sha = w.commit(0);
    let name = build_name("app0", &sha);
    let t0 = Instant::now();
    let (status, body) = wh.push(w, 0, &sha, &format!("reg-{label}")).await;
    if status != 201 {
        report.lost(format!("{label}: push answered {status}: {body}"));
        return;
    }
    if let Err(e) = fault(w, case, &name).await {
        report.note(format!("{label}: {e}"));
    }
    let b = terminal(w, &name, 300).await;
    let took = t0.elapsed().as_secs_f64();
    w.proxy.set_mode(Mode::Pass);
    if !stack::alive_part("registry") {
        stack::start_part("registry");
    }
    match b {
        Err(e) => report.lost(format!("{label}: {e}")),
        Ok(b) => {
            let st = b.status.clone().unwrap_or_default();
            let v = verdict(&rec.settle(&name, 30).await);
            let secs = |t: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
                t.as_ref().map(|t| t.0.as_second())
            };
            let pushing = match (
                secs(&st.phase_times.pushing),
                secs(&st.phase_times.finished),
            ) {
                (Some(a), Some(b)) => format!("{} s", b - a),
                _ => "-".into(),
            };
            let line = format!(
                "{label}: {} {} after {took:.1} s (from Pushing to the end: {pushing}): {}",
                st.phase,
                st.reason.as_deref().unwrap_or(""),
                st.message.as_deref().unwrap_or("")
            );
            println!("{line}");
            report.note(line);
            if v.terminal_entries != 1 || v.changed_after_terminal {
                report.lost(format!("{label}: terminal entries {}", v.terminal_entries));
            }
            let moved = w.generation(0).await - generation;
            let expect = i64::from(st.phase == BuildPhase::Succeeded);
            if moved != expect {
                report.lost(format!(
                    "{label}: {} but the Deployment moved {moved} generations",
                    st.phase
                ));
            }
        }
    }
    recovery_push(w, wh, &format!("reg-{label}-after"), &label, report).await;
}

pub async fn run(report: &mut Report) {
    let w = world(1, 192 * 1024).await;
    let _ctl = controller(&w, Duration::from_millis(500));
    let rec = Recorder::start(w.builds(), w.deployments());
    let wh = start(&w, "registry", &[]).await;
    for case in [
        Case::Always500,
        Case::Flaky500,
        Case::KilledMidPush,
        Case::DownThenUp,
    ] {
        trial(&w, &wh, &rec, case, report).await;
        report.count("registry_faults", 1);
    }
}
