//! The push-to-deploy demo, run by `scripts/demo-push` (which `scripts/demo` calls): on the
//! local stack, a fake GitHub serving a sample app, a Binding, a Deployment and a registry
//! Secret, and the real `mosaic-webhook` binary; then one signed `push` delivery, followed live:
//! the Build's phases, the commit statuses GitHub receives, the rollout (the test API server runs
//! no Deployment controller, so the demo plays its part and says so), and at the end the image
//! digest in the registry and the Deployment's image. Stage and result lines go to stdout,
//! set-up progress to stderr. Exits 1 with one `error:` line when a stage fails or does not
//! finish within two minutes.
//!
//! `cargo run -p mosaic-webhook --example demo_push` (after `cargo build -p mosaic-webhook --bin
//! mosaic-webhook`, with a stack named in the environment or startable by `scripts/stack up`).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use mosaic_core::names;
use mosaic_core::resources::{Build, BuildPhase};
use support::Style;

/// The longest the demo waits for the whole flow.
const DEADLINE: Duration = Duration::from_secs(120);
const EXPECTED: [BuildPhase; 5] = [
    BuildPhase::Pending,
    BuildPhase::Building,
    BuildPhase::Pushing,
    BuildPhase::RollingOut,
    BuildPhase::Succeeded,
];

#[tokio::main]
async fn main() -> ExitCode {
    support::one_line_errors("demo-push");
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: demo-push: {e}");
            ExitCode::FAILURE
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..7.min(sha.len())]
}

/// Prints stage lines on stdout, stamped with the seconds since the push was delivered.
struct Stages {
    t0: Instant,
    out: Style,
}

impl Stages {
    fn line(&self, at: Instant, who: &str, what: &str) {
        let t = at.saturating_duration_since(self.t0).as_secs_f64();
        let stamp = self.out.dim(&format!("{t:>+7.2}s"));
        println!("{stamp}  {:<19} {what}", self.out.cyan(who));
    }
}

fn phase_of(b: &Build) -> BuildPhase {
    b.status.as_ref().map(|s| s.phase).unwrap_or_default()
}

fn paint_phase(out: Style, p: BuildPhase) -> String {
    let text = format!("{:<10}", p.as_str());
    match p {
        BuildPhase::Succeeded => out.green(&text),
        BuildPhase::Failed | BuildPhase::Cancelled => out.red(&text),
        BuildPhase::Superseded => out.yellow(&text),
        _ => out.bold(&text),
    }
}

async fn run() -> Result<(), String> {
    let (out, err) = (Style::stdout(), Style::stderr());
    let say = |msg: &str| eprintln!("{}", err.bold(&format!("--> {msg}")));

    say("setting up: a namespace with Mosaic's CRDs, Secrets, a Deployment and a Binding");
    let w = common::world(None, true).await;
    eprintln!(
        "    namespace {ns}: Deployment web (container app, image example.com/web:before)\n    \
         Secret registry (kubernetes.io/dockerconfigjson for {reg}), Secret github (token)\n    \
         Binding web: {repo} branch main -> image {image} -> Deployment web, rollback on failure",
        ns = w.ns(),
        reg = w.reg.host,
        repo = w.repo,
        image = w.image
    );
    let sha = w.gh.commit(
        &w.repo,
        "main",
        support::sample_app("the Mosaic push demo")?,
    );
    eprintln!(
        "    fake GitHub at {} serving {} (private): main is at {} \
         (Dockerfile, busybox, site/index.html, README.md)",
        w.gh.url,
        w.repo,
        short(&sha)
    );

    say("starting the stand-in Deployment controller");
    let mut rolled = support::standin_controller(w.deployments(), "web").await?;
    // The Deployment's first generation, from the set-up: not part of the push.
    tokio::time::timeout(Duration::from_secs(30), rolled.recv())
        .await
        .map_err(|_| "the stand-in controller saw no Deployment within 30 s".to_string())?;
    eprintln!(
        "    note: the test API server runs no Deployment controller, so this demo plays its part:\n    \
         when Deployment web gets a new generation it writes the status a healthy rollout would\n    \
         (1 replica, updated and available); its lines below are marked (stand-in)"
    );

    say("starting mosaic-webhook (the real binary, as a child process)");
    let server = common::start(&w, "demo", &[]).await;
    eprintln!(
        "    pid {}, listening on {} for namespace {}; log: {} (kept if the demo fails)",
        server.child.id(),
        server.url,
        w.ns(),
        server.log.display()
    );
    let mut builds = support::watch(w.builds(), Default::default()).await?;

    say("delivering a signed GitHub push (payload shaped like @octokit/webhooks-examples)");
    let body = common::push_body(&w.repo, &sha);
    let delivery = format!("demo-{}", short(&sha));
    // Connect first: the stamps below time the delivery, not this client's set-up.
    let http = reqwest::Client::new();
    let _ = http.get(format!("{}/healthz", server.url)).send().await;
    let t0 = Instant::now();
    let st = Stages { t0, out };
    st.line(
        t0,
        "github -> webhook",
        &format!(
            "push {} refs/heads/main {} (X-GitHub-Delivery {delivery}, signed X-Hub-Signature-256)",
            w.repo,
            short(&sha)
        ),
    );
    let (status, answer) =
        support::deliver_push(&http, &server.url, &delivery, &body, common::WEBHOOK_SECRET).await?;
    st.line(
        Instant::now(),
        "webhook -> github",
        &format!("HTTP {status} {answer}"),
    );
    let name = answer["created"][0]
        .as_str()
        .and_then(|s| s.split_once('/'))
        .map(|(_, n)| n.to_string())
        .filter(|_| status == 201)
        .ok_or_else(|| {
            format!("the webhook answered {status} {answer}, not 201 with a new Build")
        })?;

    let finished = follow(&w, &server, &st, &name, &sha, &mut builds, &mut rolled).await?;
    report(&w, &finished, &sha, out).await
}

/// Print stage lines until Build `name` is terminal; returns it, or why the flow failed.
async fn follow(
    w: &common::World,
    server: &common::Server,
    st: &Stages,
    name: &str,
    sha: &str,
    builds: &mut tokio::sync::mpsc::UnboundedReceiver<(Instant, Build)>,
    rolled: &mut tokio::sync::mpsc::UnboundedReceiver<support::Rolled>,
) -> Result<Build, String> {
    let deadline = tokio::time::sleep(DEADLINE);
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut phases: Vec<BuildPhase> = Vec::new();
    let mut last: Option<Build> = None;
    let mut statuses = 0;
    let mut print_statuses = |at: Instant| {
        let all = w.gh.statuses(sha);
        for s in &all[statuses.min(all.len())..] {
            st.line(
                at,
                "webhook -> github",
                &format!(
                    "commit status {} {:<8} {:?} (context {})",
                    short(sha),
                    s.state,
                    s.description,
                    s.context
                ),
            );
        }
        statuses = all.len();
    };
    loop {
        tokio::select! {
            Some((at, b)) = builds.recv() => {
                if b.metadata.name.as_deref() != Some(name) {
                    continue;
                }
                print_statuses(at);
                let p = phase_of(&b);
                if phases.last() != Some(&p) {
                    phases.push(p);
                    let msg = b.status.as_ref().and_then(|s| s.message.clone())
                        .unwrap_or_else(|| "recorded by the intake, waiting for a worker".into());
                    st.line(at, "build", &format!("{name} {} {msg}", paint_phase(st.out, p)));
                }
                let done = p.is_terminal();
                last = Some(b);
                if done {
                    break;
                }
            }
            Some(r) = rolled.recv() => {
                print_statuses(r.seen);
                st.line(r.done, "controller", &format!(
                    "(stand-in) Deployment web generation {} runs {}: rollout marked complete",
                    r.generation, r.image));
            }
            _ = tick.tick() => print_statuses(Instant::now()),
            () = &mut deadline => {
                let (phase, msg) = last.as_ref().map(|b| (phase_of(b), b.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default())).unwrap_or_default();
                return Err(format!(
                    "Build {name} did not finish within {} s (still {phase}: {msg}); {}",
                    DEADLINE.as_secs(), support::keep_log(&server.log, "demo-push", w.ns())));
            }
        }
    }
    print_statuses(Instant::now());
    let b = last.expect("loop exits with a Build");
    let s = b.status.clone().unwrap_or_default();
    if s.phase != BuildPhase::Succeeded {
        for f in &s.findings {
            eprintln!("    finding: {}", f.summary);
        }
        if let Some(log) = &s.log_tail {
            eprintln!("    build log tail:\n{}", support::tail(log, 8));
        }
        return Err(format!(
            "Build {name} ended {} ({}): {}; {}",
            s.phase,
            s.reason.unwrap_or_default(),
            s.message.unwrap_or_default(),
            support::keep_log(&server.log, "demo-push", w.ns())
        ));
    }
    if phases != EXPECTED {
        return Err(format!(
            "Build {name} went through {phases:?}, expected {EXPECTED:?}"
        ));
    }
    Ok(b)
}

/// Print and check the outcome: registry, Deployment, GitHub statuses, Binding.
async fn report(w: &common::World, b: &Build, sha: &str, out: Style) -> Result<(), String> {
    let s = b.status.clone().unwrap_or_default();
    let image = s.image.clone().unwrap_or_default();
    let (repo_part, digest) = image
        .split_once('@')
        .ok_or_else(|| format!("Build status.image {image:?} is not by digest"))?;
    println!("\n{}", out.bold("result"));
    let served = common::registry_serves(w, digest).await;
    println!("  registry     {repo_part} has {digest} (HEAD /v2/…/manifests/{digest}: {served})");
    if served != 200 {
        return Err(format!(
            "the registry answered {served} for {repo_part}@{digest}"
        ));
    }
    let dep = w
        .deployments()
        .get("web")
        .await
        .map_err(|e| e.to_string())?;
    let running = common::deployed_image(w).await;
    let commit_ann = dep
        .spec
        .template
        .metadata
        .and_then(|m| m.annotations)
        .and_then(|a| a.get(names::ANNOTATION_COMMIT).cloned())
        .unwrap_or_default();
    println!(
        "  deployment   web container app image {running}\n               \
         (was example.com/web:before; pod template annotation {}={commit_ann})",
        names::ANNOTATION_COMMIT
    );
    if running != image || commit_ann != sha {
        return Err(format!(
            "Deployment web runs {running} for commit {commit_ann:?}, expected {image} for {sha}"
        ));
    }
    let statuses: Vec<(String, String)> =
        w.gh.statuses(sha)
            .into_iter()
            .map(|c| (c.state, c.description))
            .collect();
    let chain: Vec<String> = statuses
        .iter()
        .map(|(state, d)| format!("{state} {d:?}"))
        .collect();
    println!(
        "  github       statuses on {} (context mosaic): {}",
        short(sha),
        chain.join(" -> ")
    );
    let want = [
        "pending building",
        "pending rolling out",
        "success deployed",
    ];
    let got: Vec<String> = statuses
        .iter()
        .map(|(state, d)| format!("{state} {d}"))
        .collect();
    if got.len() != want.len() || !got.iter().zip(want).all(|(g, w)| g.starts_with(w)) {
        return Err(format!(
            "GitHub received {chain:?}, expected pending building, pending rolling out, success"
        ));
    }
    let binding = w.bindings().get("web").await.map_err(|e| e.to_string())?;
    let bs = binding.status.unwrap_or_default();
    let ready = bs
        .conditions
        .first()
        .map(|c| format!("{}={} {}", c.type_, c.status, c.reason))
        .unwrap_or_default();
    println!(
        "  binding      web lastCommit {} lastBuild {} {ready}",
        bs.last_commit.as_deref().map(short).unwrap_or("-"),
        bs.last_build.as_deref().unwrap_or("-")
    );
    let took = |a: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
        a.as_ref().map(|t| t.0.to_string()).unwrap_or("-".into())
    };
    println!(
        "  build        {} times: building {} pushing {} rollingOut {} finished {}",
        b.metadata.name.as_deref().unwrap_or_default(),
        took(&s.phase_times.building),
        took(&s.phase_times.pushing),
        took(&s.phase_times.rolling_out),
        took(&s.phase_times.finished)
    );
    println!(
        "\n{} {} pushed -> built -> {} -> Deployment web rolled to it; GitHub told at every step",
        out.green("ok"),
        short(sha),
        image
    );
    Ok(())
}
