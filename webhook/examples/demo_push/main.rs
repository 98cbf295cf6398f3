//! The push-to-deploy demo, run by `scripts/demo-push` (which `scripts/demo` calls): on the
//! local stack, a fake GitHub serving a sample app, a Binding (rollback on failure), a
//! Deployment and a registry Secret, and the real `mosaic-webhook` binary; then two signed
//! `push` deliveries, each followed live (the Build's phases, the commit statuses GitHub
//! receives, the rollout):
//!   1. a working commit: built, pushed, rolled out by digest, `success` on the commit;
//!   2. a commit whose container exits at once: the rollout fails, the Build says why in one
//!      sentence with the evidence, the Deployment goes back to push 1's digest and the commit
//!      gets a `failure` status with the cause.
//!
//! The test API server runs no Deployment controller and no kubelet, so the demo plays them
//! (`mosaic_tests::demo::standin`) and marks their lines "(stand-in)". Stage and result lines go to stdout,
//! set-up progress to stderr. Exits 1 with one `error:` line when a stage does not do what it
//! should or a push takes over two minutes. With `--keep`, ends with the commands to try next.
//!
//! `cargo run -p mosaic-webhook --example demo_push [-- --keep]` (after `cargo build -p
//! mosaic-webhook --bin mosaic-webhook`, with a stack named in the environment or startable by
//! `scripts/stack up`).

mod follow;
mod report;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use mosaic_core::resources::{Build, BuildPhase, build_name};
use tokio::sync::mpsc::UnboundedReceiver;

use follow::{Stages, short};
use mosaic_tests::demo::{self, Crashes, Played, Style};
use mosaic_tests::webhook;

const EXPECTED: [BuildPhase; 6] = [
    BuildPhase::Pending,
    BuildPhase::Building,
    BuildPhase::Pushing,
    BuildPhase::RollingOut,
    BuildPhase::Verifying,
    BuildPhase::Succeeded,
];
/// The exit code of the breaking commit's container (its ENTRYPOINT exits 1 without `$PORT`).
const EXIT_CODE: i32 = 1;

#[tokio::main]
async fn main() -> ExitCode {
    demo::one_line_errors("demo-push");
    let keep = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => false,
        [k] if k == "--keep" => true,
        other => {
            eprintln!("error: demo-push: unknown arguments {other:?}; usage: demo_push [--keep]");
            return ExitCode::from(2);
        }
    };
    match run(keep).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: demo-push: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The demo's world: the stack namespace, the webhook, and the watches the stages come from.
struct Demo {
    w: webhook::World,
    server: webhook::Server,
    builds: UnboundedReceiver<(Instant, Build)>,
    played: UnboundedReceiver<Played>,
    out: Style,
}

async fn run(keep: bool) -> Result<(), String> {
    let (out, err) = (Style::stdout(), Style::stderr());
    let say = |msg: &str| eprintln!("{}", err.bold(&format!("--> {msg}")));

    say("setting up a namespace: Mosaic's CRDs, Secrets, Deployment web, Binding web");
    let w = webhook::world(None, true).await;
    eprintln!(
        "    namespace {ns}; Binding web: {repo} main -> {image} -> Deployment web (rollbackOnFailure)\n    \
         fake GitHub at {gh} serves {repo} (private): a static site served by busybox httpd",
        ns = w.ns(),
        repo = w.repo,
        image = w.image,
        gh = w.gh.url,
    );
    let crashing = Arc::new(std::sync::Mutex::new(Vec::new()));
    let crashes = Crashes {
        commits: crashing.clone(),
        exit_code: EXIT_CODE,
    };
    let mut played = demo::standin(w.deployments(), "web", crashes).await?;
    // The Deployment's first generation, from the set-up: not part of any push.
    match tokio::time::timeout(std::time::Duration::from_secs(30), played.recv()).await {
        Ok(Some(Played::Rolled(_))) => {}
        _ => return Err("the stand-in controller saw no Deployment within 30 s".into()),
    }
    eprintln!(
        "    note: the test API server runs no Deployment controller and no kubelet; the demo\n    \
         plays them and marks their lines (stand-in)"
    );
    let server = webhook::start(&w, "demo", &[]).await;
    say(&format!(
        "mosaic-webhook (the real binary) pid {} on {}",
        server.child.id(),
        server.url
    ));
    let builds = demo::watch(w.builds(), Default::default()).await?;
    let mut d = Demo {
        w,
        server,
        builds,
        played,
        out,
    };

    section(out, "push 1: a working commit");
    let good =
        d.w.gh
            .commit(&d.w.repo, "main", demo::sample_app("push 1")?);
    let (b, phases, _) = d.push(&good).await?;
    if phases != EXPECTED || follow::phase_of(&b) != BuildPhase::Succeeded {
        let s = b.status.unwrap_or_default();
        return Err(format!(
            "push 1 went through {phases:?} ({}: {}), expected {EXPECTED:?}; {}",
            s.reason.unwrap_or_default(),
            s.message.unwrap_or_default(),
            demo::keep_log(&d.server.log, "demo-push", d.w.ns())
        ));
    }
    let image = report::success(&d.w, &b, &good, out).await?;

    section(
        out,
        "push 2: a commit that breaks the app (its ENTRYPOINT now needs $PORT, which is not set)",
    );
    let bad =
        d.w.gh
            .commit(&d.w.repo, "main", demo::broken_app("push 2")?);
    crashing.lock().expect("crash list").push(bad.clone());
    let (b, _, st) = d.push(&bad).await?;
    follow::settle(&st, &mut d.played).await;
    report::failure(&d.w, &b, &bad, &image, &good, out).await?;

    if keep {
        let ns = d.w.ns();
        println!(
            "\n{}\n  kubectl mosaic status deployment/web -n {ns}     # the binding, its builds, the failed rollout's findings\n  \
             kubectl mosaic explain deployment/web -n {ns}    # live: what is wrong now (nothing, after the rollback)\n  \
             kubectl get builds -n {ns}",
            out.bold("try next (the stack stays up: scripts/stack down stops it)")
        );
    }
    Ok(())
}

fn section(out: Style, title: &str) {
    println!("\n{}", out.bold(&format!("== {title}")));
}

impl Demo {
    /// Deliver a signed push of `sha` and follow it to the end.
    /// Returns the terminal Build, the phases it went through and the stage clock.
    async fn push(&mut self, sha: &str) -> Result<(Build, Vec<BuildPhase>, Stages), String> {
        let w = &self.w;
        let body = webhook::push_body(&w.repo, sha);
        let delivery = format!("demo-{}", short(sha));
        // Connect first: the stamps below time the delivery, not this client's set-up.
        let http = reqwest::Client::new();
        let _ = http
            .get(format!("{}/healthz", self.server.url))
            .send()
            .await;
        let st = Stages {
            t0: Instant::now(),
            out: self.out,
        };
        st.line(
            st.t0,
            "github -> webhook",
            &format!("push refs/heads/main {} (signed)", short(sha)),
        );
        let (status, answer) = demo::deliver_push(
            &http,
            &self.server.url,
            &delivery,
            &body,
            webhook::WEBHOOK_SECRET,
        )
        .await?;
        st.line(
            Instant::now(),
            "webhook -> github",
            &format!("HTTP {status} {answer}"),
        );
        let name = build_name("web", sha);
        if status != 201 || answer["created"][0].as_str() != Some(&format!("{}/{name}", w.ns())) {
            return Err(format!(
                "the webhook answered {status} {answer}, not 201 with Build {name}"
            ));
        }
        let (b, phases) = follow::follow(
            w,
            &self.server,
            &st,
            &name,
            sha,
            &mut self.builds,
            &mut self.played,
        )
        .await?;
        Ok((b, phases, st))
    }
}
