//! Fault drills that take minutes or stop parts of the stack (issue #7), run by `scripts/drill`:
//! the real `mosaic-webhook` binary against the real API server, dockerd and registry.
//!
//! - `kill`: SIGKILL the webhook 20 times across Building, Pushing and RollingOut.
//! - `docker`: stop dockerd (SIGKILL or SIGTERM) mid-build and mid-push, then start it again.
//! - `registry`: the registry answering 500, or stopped mid-push, then recovering.
//! - `kube`: restart the API server and etcd during Building, Pushing and RollingOut, and
//!   deliver a push while the API is down.
//! - `replicas`: two webhook replicas, 50 pushes in flight over 5 apps.
//! - `takeover`: two builders with a dockerd each; the holder SIGKILLed in Pushing or
//!   RollingOut, the other takes over on its own engine.
//!
//! Each prints what it did and what it saw, then a JSON summary; exits 1 when anything was lost
//! (an accepted push without exactly one terminal Build, a Build run twice, a Deployment rolled
//! twice or to an older commit). `docker`, `registry` and `kube` refuse to run on a stack
//! `scripts/drill` did not start for them.
//!
//! `cargo run -p mosaic-webhook --example drill -- <kill|docker|registry|kube|replicas>`

mod engine;
mod kill;
mod kube_restart;
mod record;
mod registry;
mod replicas;
mod rounds;
mod stack;
mod takeover;
mod world;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mosaic_core::resources::{Build, BuildPhase};

/// What a drill found.
#[derive(Default)]
pub struct Report {
    lost: Vec<String>,
    notes: Vec<String>,
    counts: BTreeMap<String, usize>,
}

impl Report {
    /// Something was lost or broke an invariant: the drill fails.
    pub fn lost(&mut self, what: String) {
        println!("LOST: {what}");
        self.lost.push(what);
    }
    /// Worth recording, not a loss.
    pub fn note(&mut self, what: String) {
        println!("note: {what}");
        self.notes.push(what);
    }
    pub fn count(&mut self, what: &str, n: usize) {
        *self.counts.entry(what.to_string()).or_default() += n;
    }
}

/// A number below `n` (clock-seeded; drills need spread, not reproducibility).
pub fn rand_below(n: u64) -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    (t.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17) % n.max(1)
}

/// Wait up to `secs` for Build `name` to reach a terminal phase.
pub async fn terminal(w: &world::World, name: &str, secs: u64) -> Result<Build, String> {
    let api = w.builds();
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(b) = api.get(name).await
            && b.status.as_ref().is_some_and(|s| s.phase.is_terminal())
        {
            return Ok(b);
        }
        if std::time::Instant::now() > deadline {
            let st = api.get(name).await.ok().and_then(|b| b.status);
            return Err(format!(
                "{name} not terminal after {secs} s (HANG): {:?} {:?}",
                st.as_ref().map(|s| s.phase),
                st.and_then(|s| s.message)
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until Build `name` is in `phase`, claimed by `who` when given; returns who holds it.
pub async fn reach(
    w: &world::World,
    name: &str,
    phase: BuildPhase,
    who: Option<&str>,
) -> Result<String, String> {
    let api = w.builds();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(b) = api.get(name).await
            && let Some(s) = b.status
        {
            if s.phase == phase
                && let Some(holder) = s.claimed_by
                && who.is_none_or(|w| w == holder)
            {
                return Ok(holder);
            }
            if s.phase.is_terminal() {
                return Err(format!("ended {} before reaching {phase}", s.phase));
            }
        }
        if Instant::now() > deadline {
            let under = who.map(|w| format!(" under {w}")).unwrap_or_default();
            return Err(format!("did not reach {phase}{under} within 120 s"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// After a fault, a new push through `wh` must deploy: its Build Succeeds.
pub async fn recovery_push(
    w: &world::World,
    wh: &world::Webhook,
    delivery: &str,
    label: &str,
    report: &mut Report,
) {
    let sha = w.commit(0);
    let name = mosaic_core::resources::build_name("app0", &sha);
    let (status, _) = wh.push(w, 0, &sha, delivery).await;
    match terminal(w, &name, 180).await {
        Ok(b)
            if status == 201
                && b.status
                    .as_ref()
                    .is_some_and(|s| s.phase == BuildPhase::Succeeded) =>
        {
            println!("{label}: recovery push deployed");
        }
        Ok(b) => report.lost(format!(
            "{label}: recovery push ended {:?}",
            b.status.map(|s| (s.phase, s.message))
        )),
        Err(e) => report.lost(format!("{label}: recovery push: {e}")),
    }
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let name = std::env::args().nth(1).unwrap_or_default();
    let mut report = Report::default();
    let started = std::time::Instant::now();
    match name.as_str() {
        "kill" => kill::run(&mut report).await,
        "takeover" => takeover::run(&mut report).await,
        "docker" | "registry" | "kube" => {
            if let Err(e) = stack::private_dir() {
                eprintln!("error: drill {name}: {e}");
                std::process::exit(2);
            }
            match name.as_str() {
                "docker" => engine::run(&mut report).await,
                "registry" => registry::run(&mut report).await,
                _ => kube_restart::run(&mut report).await,
            }
        }
        "replicas" => replicas::run(&mut report).await,
        _ => {
            eprintln!(
                "error: unknown drill {name:?}; usage: drill kill|docker|registry|kube|replicas|takeover"
            );
            std::process::exit(2);
        }
    }
    let summary = serde_json::json!({
        "drill": name,
        "seconds": started.elapsed().as_secs(),
        "counts": report.counts,
        "lost": report.lost,
        "notes": report.notes,
        "ok": report.lost.is_empty(),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).expect("JSON summary")
    );
    if !report.lost.is_empty() {
        eprintln!("drill {name}: FAILED: {} problem(s)", report.lost.len());
        std::process::exit(1);
    }
    eprintln!("drill {name}: ok, nothing lost");
}
