//! Drill `takeover`: two builders, each with its own dockerd (as in production, one dind per
//! builder pod), both running. The builder holding a Build is SIGKILLed in Pushing or in
//! RollingOut and stays down until the other one has finished the Build (it takes the stale
//! claim over on its own engine, which has none of the first one's images). Pushing is
//! lengthened by a throttled registry, RollingOut by a Deployment controller that completes
//! rollouts after 3 s. Checks every push: the Build ends Succeeded, enters a terminal phase
//! once, the Deployment moved exactly one generation and to the Build's digest; counts how the
//! taker got the image (continued from the recorded digest, found under the Build's tag, or
//! built again on its own engine).

use std::time::{Duration, Instant};

use mosaic_core::resources::{BuildPhase, build_name};

use crate::record::phases;
use crate::rounds::rounds;
use crate::world::{Webhook, start};
use crate::{Report, rand_below, reach};

/// Where each round's kill lands.
const SCHEDULE: &[BuildPhase] = {
    use BuildPhase::{Pushing as P, RollingOut as R};
    &[P, R, P, R, P, R, P, R, P, R]
};

/// How the taker came by the image, from its log.
fn how(wh: &Webhook, name: &str) -> &'static str {
    let log = std::fs::read_to_string(&wh.log).unwrap_or_default();
    let mine = |needle: &str| {
        log.lines()
            .any(|l| l.contains(needle) && l.contains(&format!("\"build\":\"{name}\"")))
    };
    if mine("taken over after its push") {
        "continued_from_pushed_digest"
    } else {
        "built_again_on_its_own_engine"
    }
}

pub async fn run(report: &mut Report) {
    if let Err(e) = crate::stack::private_dir() {
        report.lost(format!("takeover: {e}"));
        return;
    }
    let engine2 = mosaic_tests::dockerd::PrivateDockerd::start();
    let hosts = [mosaic_tests::stack().docker_host.clone(), engine2.host()];
    let r = rounds(32 * 1024).await;
    let (w, rec) = (&r.w, &r.rec);
    let ids = ["builder-a", "builder-b"];
    let launch = |i: usize| {
        let host = hosts[i].clone();
        let id = ids[i];
        async move { start(w, id, &["--docker-host", &host]).await }
    };
    let mut builders: [Option<Webhook>; 2] = [Some(launch(0).await), Some(launch(1).await)];
    let mut generation = w.generation(0).await;
    for (round, phase) in SCHEDULE.iter().enumerate() {
        let sha = w.commit(0);
        let name = build_name("app0", &sha);
        let t0 = Instant::now();
        let downloads = w.gh.tarball_downloads();
        let intake = builders.iter().flatten().next().expect("a builder runs");
        let (status, body) = intake.push(w, 0, &sha, &format!("takeover-{round}")).await;
        if status != 201 {
            report.lost(format!("round {round}: push answered {status}: {body}"));
            continue;
        }
        let holder = match reach(w, &name, *phase, None).await {
            Ok(h) => h,
            Err(e) => {
                report.lost(format!("round {round}: {e}"));
                continue;
            }
        };
        let spread = if *phase == BuildPhase::Pushing {
            3000
        } else {
            1500
        };
        tokio::time::sleep(Duration::from_millis(rand_below(spread))).await;
        let k = ids
            .iter()
            .position(|i| *i == holder)
            .expect("a builder's identity");
        let at = w.builds().get(&name).await.ok().and_then(|b| b.status);
        let image_at_kill = at.as_ref().and_then(|s| s.image.clone());
        let at = at.map(|s| s.phase).unwrap_or_default();
        if let Some(mut wh) = builders[k].take() {
            wh.kill();
        }
        report.count(&format!("killed_in_{at}"), 1);
        let b = match crate::terminal(w, &name, 180).await {
            Ok(b) => b,
            Err(e) => {
                report.lost(format!("round {round}: {e}"));
                builders[k] = Some(launch(k).await);
                continue;
            }
        };
        let end = r.ended(&b, generation, 30).await;
        let st = &end.status;
        let taker = st.claimed_by.clone().unwrap_or_default();
        let way = builders[1 - k]
            .as_ref()
            .map_or("unknown", |wh| how(wh, &name));
        report.count(way, 1);
        println!(
            "round {round}: killed {holder} in {at} (image recorded: {}); taken over by {taker}: {way}; {} after {:.1} s; phases {}; rollouts {}; tarball downloads {}",
            image_at_kill.is_some(),
            st.phase,
            t0.elapsed().as_secs_f64(),
            phases(&end.history),
            end.moved,
            w.gh.tarball_downloads() - downloads,
        );
        end.check(&format!("round {round}"), report);
        if taker == holder {
            report.lost(format!(
                "round {round}: finished by the killed builder {holder}"
            ));
        }
        if let Some(recorded) = image_at_kill
            && Some(&recorded) != st.image.as_ref()
        {
            report.lost(format!(
                "round {round}: the killed builder had pushed {recorded}, the taker deployed {:?}",
                st.image
            ));
        }
        generation = end.generation;
        // The killed builder's pod restarts (its engine kept running).
        builders[k] = Some(launch(k).await);
    }
    let deploys = rec.rollouts("app0");
    let images: std::collections::BTreeSet<_> = deploys.iter().map(|(_, i)| i.clone()).collect();
    println!(
        "takeover: {} rounds; Deployment generations {:?}; {} distinct images deployed",
        SCHEDULE.len(),
        deploys.iter().map(|(g, _)| *g).collect::<Vec<_>>(),
        images.len()
    );
    report.count("rounds", SCHEDULE.len());
    drop(builders);
    drop(engine2);
}
