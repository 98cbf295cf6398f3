//! Drill `kill`: SIGKILL the webhook while it holds a Build in Building, Pushing or RollingOut,
//! 20 times over 11 pushes (some pushes are killed twice or three times, in the same or another
//! phase), restarting it in place (same identity, as a container restart in the same Pod does)
//! or as a new replica (another identity, which waits out the claim TTL). Building is
//! lengthened by a paced tarball download, Pushing by a throttled registry, RollingOut by a
//! Deployment controller that completes rollouts after 3 s. Checks every push: its Build ends
//! Succeeded, enters a terminal phase exactly once and never changes after, the Deployment's
//! generation moved exactly once and to the Build's image, GitHub got its success report, and a
//! Build whose last kill landed in RollingOut was not downloaded (built) again after it.

use std::time::{Duration, Instant};

use mosaic_core::resources::{BuildPhase, build_name};

use crate::record::{phases, verdict};
use crate::rounds::rounds;
use crate::world::{Webhook, start};
use crate::{Report, rand_below, reach};

const SCHEDULE: &[&[BuildPhase]] = {
    use BuildPhase::{Building as B, Pushing as P, RollingOut as R};
    &[
        &[B],
        &[P],
        &[R],
        &[B, P, R],
        &[B, B],
        &[P, P],
        &[R, R],
        &[B, R],
        &[P, R],
        &[R, B],
        &[B, P],
    ]
};

pub async fn run(report: &mut Report) {
    // ~1.5 s per tarball download, ~6 s per layer upload, 3 s per rollout.
    let r = rounds(32 * 1024).await;
    let (w, rec) = (&r.w, &r.rec);
    w.gh.pace_tarballs(16 * 1024, Duration::from_millis(120));
    let mut generation = w.generation(0).await;
    let mut incarnation = 0;
    let mut next_identity = |same: Option<&str>| -> String {
        incarnation += 1;
        same.map_or_else(|| format!("kill-{incarnation}"), str::to_string)
    };
    let mut wh: Webhook = start(w, &next_identity(None), &[]).await;
    let mut kills = 0;
    for (round, plan) in SCHEDULE.iter().enumerate() {
        let sha = w.commit(0);
        let name = build_name("app0", &sha);
        let t0 = Instant::now();
        let downloads = w.gh.tarball_downloads();
        // Downloads when the last kill landed in RollingOut (the image was pushed by then).
        let mut after_rolling_out = None;
        let (status, body) = wh.push(w, 0, &sha, &format!("kill-{round}")).await;
        if status != 201 {
            report.lost(format!("round {round}: push answered {status}: {body}"));
            continue;
        }
        let mut landed = Vec::new();
        for (k, phase) in plan.iter().enumerate() {
            if let Err(e) = reach(w, &name, *phase, Some(wh.identity.as_str())).await {
                report.lost(format!("round {round}: {e}"));
                break;
            }
            // Land somewhere inside the phase, not always at its start (Pushing is the shortest).
            let spread = if *phase == BuildPhase::Pushing {
                150
            } else {
                400
            };
            tokio::time::sleep(Duration::from_millis(rand_below(spread))).await;
            wh.kill();
            kills += 1;
            let st = w.builds().get(&name).await.ok().and_then(|b| b.status);
            let at = st.map(|s| s.phase).unwrap_or_default();
            report.count(&format!("killed_in_{at}"), 1);
            after_rolling_out = (at == BuildPhase::RollingOut).then(|| w.gh.tarball_downloads());
            // Alternate: restart in place (same identity) and a new replica.
            let same = (round + k) % 2 == 0;
            landed.push(format!("{at}{}", if same { "/same" } else { "/new" }));
            let id = next_identity(same.then_some(wh.identity.as_str()));
            wh = start(w, &id, &[]).await;
        }
        let b = match crate::terminal(w, &name, 180).await {
            Ok(b) => b,
            Err(e) => {
                report.lost(format!("round {round}: {e}"));
                continue;
            }
        };
        let end = r.ended(&b, generation, 30).await;
        let successes =
            w.gh.statuses(&sha)
                .iter()
                .filter(|s| s.state == "success")
                .count();
        let fetched = w.gh.tarball_downloads();
        println!(
            "round {round:2}: killed in [{}]; {} after {:.1} s; phases {}; claims {}; downloads {}; rollouts {}; success reports {}",
            landed.join(", "),
            end.status.phase,
            t0.elapsed().as_secs_f64(),
            phases(&end.history),
            w.claims_logged(&name),
            fetched - downloads,
            end.moved,
            successes
        );
        if let Some(d) = after_rolling_out.filter(|d| fetched > *d) {
            report.lost(format!(
                "round {round}: {name} was downloaded {} more times after a kill in RollingOut (rebuilt, finding 18)",
                fetched - d
            ));
        }
        end.check(&format!("round {round}"), report);
        if successes != 1 {
            report.note(format!(
                "round {round}: {successes} success reports for {sha}"
            ));
        }
        generation = end.generation;
    }
    // Nothing changes once everything is terminal: re-check every Build's history at the end.
    let builds = w
        .builds()
        .list(&Default::default())
        .await
        .expect("list Builds");
    for b in &builds.items {
        let name = b.metadata.name.clone().unwrap_or_default();
        let v = verdict(&rec.settle(&name, 30).await);
        if v.terminal_entries != 1 || v.changed_after_terminal {
            report.lost(format!(
                "{name}: terminal entries {}, changed after terminal {}",
                v.terminal_entries, v.changed_after_terminal
            ));
        }
    }
    let deploys = rec.rollouts("app0");
    println!(
        "kill: {kills} SIGKILLs over {} pushes; {} Builds; Deployment generations seen {:?}",
        SCHEDULE.len(),
        builds.items.len(),
        deploys.iter().map(|(g, _)| *g).collect::<Vec<_>>()
    );
    report.count("sigkills", kills);
    report.count("pushes", SCHEDULE.len());
    drop(wh);
}
