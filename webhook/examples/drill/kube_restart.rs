//! Drill `kube`: restart the Kubernetes API server and etcd (same ports and data; SIGTERM or
//! SIGKILL, 3 s down, twice 45 s) while the webhook holds a Build in Building, Pushing or
//! RollingOut, and
//! once while no Build runs, delivering a push during the outage (the intake must answer 503,
//! and the redelivery after it must record the push). The webhook is not restarted: its
//! watches must resume and every Build must finish, exactly once, rolled once.

use std::time::{Duration, Instant};

use mosaic_core::resources::{BuildPhase, build_name};

use crate::record::phases;
use crate::rounds::{Rounds, rounds};
use crate::world::start;
use crate::{Report, rand_below, reach, stack, terminal};

/// Down time of a short restart; the last trial stays down longer than the webhook's 30 s
/// retry budget for its own API calls.
const OUTAGE: Duration = Duration::from_secs(3);
const LONG_OUTAGE: Duration = Duration::from_secs(45);

/// A recorded push: its Build, commit, the Deployment's generation before it, when it was sent.
struct Pushed {
    name: String,
    sha: String,
    generation: i64,
    t0: Instant,
}

impl Pushed {
    fn new(sha: String, generation: i64, t0: Instant) -> Self {
        Pushed {
            name: build_name("app0", &sha),
            sha,
            generation,
            t0,
        }
    }
}

/// Check the push's Build after the restart: the checks of every push (`Ended::check`), and
/// what GitHub was told and how often it was claimed.
async fn check(r: &Rounds, p: &Pushed, label: &str, report: &mut Report) {
    let b = match terminal(&r.w, &p.name, 300).await {
        Ok(b) => b,
        Err(e) => return report.lost(format!("{label}: {e}")),
    };
    // After a long outage the drill's own watch may back off for up to 30 s more.
    let end = r.ended(&b, p.generation, 90).await;
    let claims = r.w.claims_logged(&p.name);
    println!(
        "{label}: {} after {:.1} s; phases {}; claims {claims}; rollouts {}; {}",
        end.status.phase,
        p.t0.elapsed().as_secs_f64(),
        phases(&end.history),
        end.moved,
        end.status.message.as_deref().unwrap_or("")
    );
    end.check(label, report);
    let reports: Vec<String> =
        r.w.gh
            .statuses(&p.sha)
            .into_iter()
            .map(|s| s.state)
            .collect();
    println!("{label}: GitHub statuses {reports:?}");
    if reports.iter().any(|s| s == "failure" || s == "error") {
        report.note(format!(
            "{label}: GitHub was told {reports:?} for a Build that Succeeded"
        ));
    }
    if claims > 1 {
        report.note(format!(
            "{label}: claimed {claims} times (rebuilt after the restart)"
        ));
    }
}

/// Stop the API server and etcd with `sig`, keep them down for `outage`, start them again.
async fn restart(sig: &str, outage: Duration, client: &kube::Client, report: &mut Report) {
    let down = stack::stop_kube(sig);
    tokio::time::sleep(outage).await;
    stack::start_kube(down, client).await;
    report.count("api_restarts", 1);
}

pub async fn run(report: &mut Report) {
    let mut r = rounds(64 * 1024).await;
    let w = &r.w;
    w.gh.pace_tarballs(16 * 1024, Duration::from_millis(120));
    let wh = start(w, "kube", &[]).await;
    let client = w.kube.client.clone();
    let trials = [
        ("TERM", BuildPhase::Building),
        ("KILL", BuildPhase::Pushing),
        ("TERM", BuildPhase::RollingOut),
        ("KILL", BuildPhase::Building),
        ("TERM", BuildPhase::Pushing),
        ("KILL", BuildPhase::RollingOut),
        ("TERM", BuildPhase::Pushing),
        ("TERM", BuildPhase::RollingOut),
    ];
    for (k, (sig, phase)) in trials.into_iter().enumerate() {
        let outage = if k + 2 >= trials.len() {
            LONG_OUTAGE
        } else {
            OUTAGE
        };
        let label = format!("SIG{sig} during {phase}, down {} s", outage.as_secs());
        let generation = w.generation(0).await;
        let sha = w.commit(0);
        let name = build_name("app0", &sha);
        let t0 = Instant::now();
        let (status, body) = wh.push(w, 0, &sha, &format!("kube-{sig}-{phase}")).await;
        if status != 201 {
            report.lost(format!("{label}: push answered {status}: {body}"));
            continue;
        }
        if let Err(e) = reach(w, &name, phase, Some("kube")).await {
            report.lost(format!("{label}: {e}"));
            continue;
        }
        tokio::time::sleep(Duration::from_millis(rand_below(500))).await;
        restart(sig, outage, &client, report).await;
        if outage == LONG_OUTAGE {
            r.rec.resume(w.builds(), w.deployments());
        }
        check(&r, &Pushed::new(sha, generation, t0), &label, report).await;
    }

    // After a long outage with nothing running: how soon does the webhook's own Build watch
    // see (and claim) a new push?
    let label = "push right after a 45 s outage".to_string();
    restart("TERM", LONG_OUTAGE, &client, report).await;
    r.rec.resume(w.builds(), w.deployments());
    let generation = w.generation(0).await;
    let sha = mosaic_tests::eventually("the intake to record again", 60, || async {
        let sha = w.commit(0);
        let (s, _) = wh.push(w, 0, &sha, &format!("kube-after-{sha}")).await;
        (s == 201).then_some(sha)
    })
    .await;
    let t0 = Instant::now();
    let name = build_name("app0", &sha);
    match reach(w, &name, BuildPhase::Building, Some("kube")).await {
        Ok(_) => println!(
            "{label}: recorded, claimed {:.1} s later",
            t0.elapsed().as_secs_f64()
        ),
        Err(e) => report.lost(format!("{label}: {e}")),
    }
    check(&r, &Pushed::new(sha, generation, t0), &label, report).await;

    // A push while the API is down: 503 (the delivery is GitHub's to retry), then recorded.
    let label = "push during the outage".to_string();
    let generation = w.generation(0).await;
    let sha = w.commit(0);
    let down = stack::stop_kube("TERM");
    let t0 = Instant::now();
    let (during, body) = wh.push(w, 0, &sha, "kube-outage").await;
    println!(
        "{label}: answered {during} after {:.1} s: {body}",
        t0.elapsed().as_secs_f64()
    );
    stack::start_kube(down, &client).await;
    report.count("api_restarts", 1);
    if during == 201 || during == 200 {
        report.lost(format!(
            "{label}: answered {during} although the API server was down"
        ));
    }
    let (after, body) = mosaic_tests::eventually("the redelivery to be recorded", 60, || async {
        let (s, b) = wh.push(w, 0, &sha, "kube-outage").await;
        (s == 201 || s == 200).then_some((s, b))
    })
    .await;
    println!("{label}: redelivery answered {after}: {body}");
    check(&r, &Pushed::new(sha, generation, t0), &label, report).await;
    if !wh.log_contains("recording build failed") {
        report.note(format!(
            "{label}: no 'recording build failed' line in the log"
        ));
    }
}
