//! Drill `replicas`: two webhook replicas (identities r1 and r2, 2 builds at a time each) on one
//! API server, and 3 waves of 50 pushes in flight: 10 per app for 5 apps, 50 ms, 300 ms, 1 s apart,
//! delivered alternately to each replica, plus 10 redeliveries of earlier pushes to the other
//! replica. About 1 push in 10 is lost (the branch moved, the delivery never arrived) and
//! delivered only once the wave settled: an out-of-order redelivery of an older commit after
//! newer ones deployed. Checks: every Build was claimed once by one replica (no build ran
//! twice) and ended once; nothing Failed; per app the newest push is deployed, the Deployment
//! only ever moved forward in push order, once per Succeeded Build; GitHub got one final report
//! per commit; every late push ends `Superseded` and moves no Deployment.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mosaic_core::resources::{BuildPhase, build_name};

use crate::record::{Recorder, verdict};
use crate::world::{Webhook, World, controller, start, world};
use crate::{Report, rand_below, terminal};

const APPS: usize = 5;
const PUSHES: usize = 50;
const WAVES: usize = 3;
/// Time between pushes, per wave: a burst, then overlapping builds, then builds mostly apart.
const SPACING: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(300),
    Duration::from_millis(1000),
];

/// Deliver one wave; returns per app the delivered commits in push order, and the lost pushes
/// (app, commit) held back for later.
async fn wave(
    w: &World,
    replicas: &[Webhook; 2],
    n: usize,
    report: &mut Report,
) -> (Vec<Vec<String>>, Vec<(usize, String)>) {
    let mut order: Vec<Vec<String>> = vec![Vec::new(); APPS];
    let mut sent = Vec::new();
    let mut lost = Vec::new();
    let mut handles = Vec::new();
    for k in 0..PUSHES {
        let app = k % APPS;
        let sha = w.commit(app);
        // Lost: the branch moved on GitHub, the delivery did not arrive (never an app's last).
        if k < PUSHES - APPS && rand_below(10) == 0 {
            lost.push((app, sha));
            continue;
        }
        order[app].push(sha.clone());
        let delivery = format!("rep-{n}-{k}");
        sent.push((app, sha.clone(), delivery.clone()));
        let r = &replicas[k % 2];
        let (url, body) = (r.url.clone(), w.push_body(app, &sha));
        handles.push(tokio::spawn(deliver(url, body, delivery)));
        tokio::time::sleep(SPACING[n % SPACING.len()]).await;
    }
    for _ in 0..10 {
        let k = rand_below(sent.len() as u64) as usize;
        let (app, sha, delivery) = sent[k].clone();
        let other = &replicas[(k + 1) % 2];
        handles.push(tokio::spawn(deliver(
            other.url.clone(),
            w.push_body(app, &sha),
            delivery,
        )));
    }
    let mut codes: HashMap<u16, usize> = HashMap::new();
    for h in handles {
        *codes.entry(h.await.unwrap_or(0)).or_default() += 1;
    }
    println!("wave {n}: answers {codes:?}");
    if codes.keys().any(|c| *c != 200 && *c != 201) {
        report.lost(format!("wave {n}: deliveries not recorded: {codes:?}"));
    }
    (order, lost)
}

/// Deliver the lost pushes of a settled wave, out of order (newest first), alternately to each
/// replica. Each must end `Superseded` and no Deployment may move.
async fn late(
    w: &World,
    replicas: &[Webhook; 2],
    n: usize,
    lost: &[(usize, String)],
    report: &mut Report,
) {
    let gens: Vec<i64> = futures::future::join_all((0..APPS).map(|i| w.generation(i))).await;
    let images: Vec<String> = futures::future::join_all((0..APPS).map(|i| w.image(i))).await;
    for (k, (app, sha)) in lost.iter().rev().enumerate() {
        let r = &replicas[k % 2];
        let code = deliver(
            r.url.clone(),
            w.push_body(*app, sha),
            format!("late-{n}-{k}"),
        )
        .await;
        if code != 201 {
            report.lost(format!("wave {n}: the late push of {sha} answered {code}"));
        }
    }
    let mut superseded = 0;
    for (app, sha) in lost {
        let name = build_name(&w.apps[*app].name, sha);
        match terminal(w, &name, 300).await {
            Ok(b)
                if b.status
                    .as_ref()
                    .is_some_and(|s| s.phase == BuildPhase::Superseded) =>
            {
                superseded += 1;
            }
            Ok(b) => report.lost(format!(
                "wave {n}: the late push {name} ended {:?}, not Superseded",
                b.status.map(|s| (s.phase, s.message))
            )),
            Err(e) => report.lost(format!("wave {n}: late push: {e}")),
        }
    }
    for i in 0..APPS {
        if w.generation(i).await != gens[i] || w.image(i).await != images[i] {
            report.lost(format!(
                "wave {n}: a late (older) push moved {}",
                w.apps[i].name
            ));
        }
    }
    println!(
        "wave {n}: {} late pushes delivered after newer ones deployed: {superseded} Superseded",
        lost.len()
    );
    report.count("late_pushes", lost.len());
    report.count("late_superseded", superseded);
}

async fn deliver(url: String, body: Vec<u8>, delivery: String) -> u16 {
    let sig = mosaic_tests::webhook::sign(crate::world::SECRET.as_bytes(), &body);
    reqwest::Client::new()
        .post(format!("{url}/webhooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

pub async fn run(report: &mut Report) {
    let w = world(APPS, 0).await;
    let _ctl = controller(&w, Duration::from_secs(1));
    let rec = Recorder::start(w.builds(), w.deployments());
    let flags = ["--concurrency", "2", "--claim-ttl", "10"];
    let replicas = [start(&w, "r1", &flags).await, start(&w, "r2", &flags).await];
    let mut by_replica: HashMap<String, usize> = HashMap::new();
    let mut phases: HashMap<BuildPhase, usize> = HashMap::new();
    // (terminal phase, final GitHub reports) → Builds.
    let mut reports: HashMap<(BuildPhase, usize), usize> = HashMap::new();
    for n in 0..WAVES {
        let t0 = Instant::now();
        let gens: Vec<i64> = futures::future::join_all((0..APPS).map(|i| w.generation(i))).await;
        let (order, lost) = wave(&w, &replicas, n, report).await;
        for (app, commits) in order.iter().enumerate() {
            let dep = &w.apps[app].name;
            let mut images: HashMap<String, usize> = HashMap::new();
            let mut succeeded = 0;
            for (idx, sha) in commits.iter().enumerate() {
                let name = build_name(dep, sha);
                let b = match terminal(&w, &name, 600).await {
                    Ok(b) => b,
                    Err(e) => {
                        report.lost(format!("wave {n}: {e}"));
                        continue;
                    }
                };
                let st = b.status.clone().unwrap_or_default();
                *phases.entry(st.phase).or_default() += 1;
                let v = verdict(&rec.settle(&name, 30).await);
                for c in &v.claimers {
                    *by_replica.entry(c.clone()).or_default() += 1;
                }
                if v.claims > 1 || v.claimers.len() > 1 {
                    report.lost(format!(
                        "wave {n}: {name} ran {} times, by {:?}",
                        v.claims, v.claimers
                    ));
                }
                if v.terminal_entries != 1 || v.changed_after_terminal {
                    report.lost(format!(
                        "wave {n}: {name} terminal entries {}",
                        v.terminal_entries
                    ));
                }
                match st.phase {
                    BuildPhase::Succeeded => {
                        succeeded += 1;
                        images.insert(st.image.clone().unwrap_or_default(), idx);
                    }
                    // Taken over by a newer push after applying its image (the rollout's
                    // guarded apply allows it while nothing newer has reached the Deployment):
                    // its image is in the Deployment's history below.
                    BuildPhase::Superseded => {
                        if let Some(img) = st
                            .image
                            .clone()
                            .filter(|_| st.phase_times.rolling_out.is_some())
                        {
                            images.insert(img, idx);
                        }
                    }
                    p => report.lost(format!("wave {n}: {name} ended {p}: {:?}", st.message)),
                }
                let finals =
                    w.gh.statuses(sha)
                        .iter()
                        .filter(|s| s.state != "pending")
                        .count();
                *reports.entry((st.phase, finals)).or_default() += 1;
                if finals > 1 {
                    report.lost(format!("wave {n}: {sha} got {finals} final GitHub reports"));
                }
                // The worker logs its decision just after writing the phase: give the line a
                // moment to land before counting.
                let mut claims = w.claims_logged(&name);
                for _ in 0..50 {
                    if claims != 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    claims = w.claims_logged(&name);
                }
                if claims != 1 {
                    report.lost(format!("wave {n}: {name} claimed {claims} times (logs)"));
                }
                if idx + 1 == commits.len() && st.phase != BuildPhase::Succeeded {
                    report.lost(format!(
                        "wave {n}: the newest push of {dep} ended {}",
                        st.phase
                    ));
                }
            }
            // Forward only: every image the Deployment took is one a Build of this wave applied
            // (no rollback, nothing else), they follow push order, and each moved the
            // generation once.
            let applied: Vec<String> = rec
                .rollouts(dep)
                .into_iter()
                .filter(|(g, _)| *g > gens[app])
                .map(|(_, img)| img)
                .collect();
            let seq: Vec<usize> = applied
                .iter()
                .filter_map(|img| images.get(img).copied())
                .collect();
            if seq.len() != applied.len() {
                report.lost(format!(
                    "wave {n}: {dep} took images no Build of the wave applied: {applied:?}"
                ));
            }
            if seq.windows(2).any(|p| p[0] >= p[1]) {
                report.lost(format!("wave {n}: {dep} rolled out of push order: {seq:?}"));
            }
            let moved = w.generation(app).await - gens[app];
            if moved != applied.len() as i64 || succeeded > applied.len() {
                report.lost(format!(
                    "wave {n}: {dep} moved {moved} generations for {} applied images and {succeeded} Succeeded Builds",
                    applied.len()
                ));
            }
            let newest = build_name(dep, commits.last().expect("a commit"));
            let want = w
                .builds()
                .get(&newest)
                .await
                .ok()
                .and_then(|b| b.status)
                .and_then(|s| s.image);
            if Some(w.image(app).await) != want {
                report.lost(format!("wave {n}: {dep} does not run its newest push"));
            }
        }
        println!(
            "wave {n}: all {} delivered pushes settled in {:.1} s",
            PUSHES - lost.len(),
            t0.elapsed().as_secs_f64()
        );
        report.count("pushes", PUSHES);
        late(&w, &replicas, n, &lost, report).await;
    }
    println!("replicas: claims by replica {by_replica:?}; terminal phases {phases:?}");
    let mut r: Vec<_> = reports.into_iter().collect();
    r.sort_by_key(|((p, f), _)| (p.as_str(), *f));
    for ((p, f), c) in r {
        println!("replicas: {c} {p} Builds got {f} final GitHub report(s)");
        report.count(&format!("{p}_with_{f}_final_reports"), c);
    }
    for (r, c) in by_replica {
        report.count(&format!("claimed_by_{r}"), c);
    }
    for (p, c) in phases {
        report.count(p.as_str(), c);
    }
}
