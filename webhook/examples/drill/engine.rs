//! Drill `docker`: stop the Docker engine (SIGKILL, or SIGTERM as `systemctl stop` does) while
//! a Build is in the middle of its build (the context still streaming, from a paced tarball) or
//! of its push (through a throttled registry), then start it again. Each time: the Build must
//! end (no hang) with a reason, roll nothing, and `/readyz` must say the engine is unreachable
//! while it is down; after the restart a new push must deploy, without restarting the webhook.

use std::time::{Duration, Instant};

use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::fault_proxy::Mode;

use crate::record::{Recorder, verdict};
use crate::world::{controller, start, world};
use crate::{Report, rand_below, reach, recovery_push, stack, terminal};

pub async fn run(report: &mut Report) {
    let w = world(1, 192 * 1024).await;
    w.gh.pace_tarballs(16 * 1024, Duration::from_millis(120));
    w.proxy.set_mode(Mode::Throttle(64 * 1024));
    let _ctl = controller(&w, Duration::from_millis(500));
    let rec = Recorder::start(w.builds(), w.deployments());
    let wh = start(&w, "engine", &[]).await;
    let trials = [
        ("KILL", BuildPhase::Building),
        ("TERM", BuildPhase::Building),
        ("KILL", BuildPhase::Pushing),
        ("TERM", BuildPhase::Pushing),
    ];
    let mut stops = 0;
    for round in 0..2 {
        for (sig, phase) in trials {
            let label = format!("round {round}, SIG{sig} during {phase}");
            let sha = w.commit(0);
            let name = build_name("app0", &sha);
            let downloads = w.gh.tarball_downloads();
            let (status, body) = wh
                .push(&w, 0, &sha, &format!("eng-{round}-{sig}-{phase}"))
                .await;
            if status != 201 {
                report.lost(format!("{label}: push answered {status}: {body}"));
                continue;
            }
            if let Err(e) = reach(&w, &name, phase, Some("engine")).await {
                report.lost(format!("{label}: {e}"));
                continue;
            }
            if phase == BuildPhase::Building {
                // Mid-build: the download (and so the context upload to dockerd) has begun.
                mosaic_tests::eventually("the tarball download", 60, || async {
                    (w.gh.tarball_downloads() > downloads).then_some(())
                })
                .await;
            }
            tokio::time::sleep(Duration::from_millis(200 + rand_below(500))).await;
            let generation = w.generation(0).await;
            stack::stop_part("docker", sig);
            stops += 1;
            let stopped = Instant::now();
            let (ready, why) = wh.readyz().await;
            let b = terminal(&w, &name, 300).await;
            let took = stopped.elapsed().as_secs_f64();
            match b {
                Err(e) => report.lost(format!("{label}: {e}")),
                Ok(b) => {
                    let st = b.status.clone().unwrap_or_default();
                    let v = verdict(&rec.settle(&name, 30).await);
                    println!(
                        "{label}: {} {} after {took:.1} s: {}; /readyz while down: {ready} {why}",
                        st.phase,
                        st.reason.as_deref().unwrap_or(""),
                        st.message.as_deref().unwrap_or("")
                    );
                    report.note(format!(
                        "{label}: {} {}: {}",
                        st.phase,
                        st.reason.as_deref().unwrap_or(""),
                        st.message.as_deref().unwrap_or("")
                    ));
                    if v.terminal_entries != 1 || v.changed_after_terminal {
                        report.lost(format!("{label}: terminal entries {}", v.terminal_entries));
                    }
                    if st.phase == BuildPhase::Succeeded {
                        report.note(format!("{label}: the Build still succeeded"));
                    } else if w.generation(0).await != generation {
                        report.lost(format!("{label}: a failed Build rolled the Deployment"));
                    }
                    if ready != 503 || !why.contains("Docker engine unreachable") {
                        report.note(format!(
                            "{label}: /readyz while down answered {ready} {why}"
                        ));
                    }
                }
            }
            // Recovery: the engine is back; the same webhook process deploys a new push.
            stack::start_part("docker");
            crate::world::ready(&wh, 60).await;
            recovery_push(
                &w,
                &wh,
                &format!("eng-{round}-{sig}-{phase}-after"),
                &label,
                report,
            )
            .await;
        }
    }
    report.count("engine_stops", stops);
}
