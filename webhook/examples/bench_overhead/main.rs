//! Push-to-rolled overhead benchmark (run by `scripts/bench-overhead`): Mosaic's time from a
//! signed `push` delivery to the Deployment rolled to the new digest, against the same steps by
//! hand on the same machine and stack — `curl` the commit's tarball from the (fake) GitHub and
//! untar it, `docker build`, `docker push`, `kubectl set image` to the pushed digest, `kubectl
//! rollout status`. Every run commits a fresh change to the sample app (so each build has one
//! layer to make and the shared busybox layer is cached for both paths alike), the paths
//! alternate and swap order every run, and one unrecorded warm-up run of each goes first.
//!
//! "Rolled" is the moment the stand-in Deployment controller (the test API server runs none) has
//! written a complete rollout for the generation whose image is the new digest; it watches the
//! Deployment and cannot tell which path changed it. Prints per-run lines on stderr and, on
//! stdout, median and p90 seconds for each path, their ratio and per-stage medians.
//!
//! `cargo run --release -p mosaic-webhook --example bench_overhead -- [RUNS]`

mod report;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mosaic_core::names;
use mosaic_core::resources::{Build, BuildPhase};
use mosaic_tests::demo::{self, Rolled, median_p90};
use mosaic_tests::webhook;
use report::{fmt_marks, label_steps, machine, stage_metrics, summary};
use tokio::process::Command;
use tokio::sync::mpsc::UnboundedReceiver;

/// The longest one run may take.
const RUN_DEADLINE: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() -> ExitCode {
    demo::one_line_errors("bench-overhead");
    let runs = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 5,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!(
                "error: bench-overhead: RUNS must be a whole number above 0; usage: scripts/bench-overhead [RUNS]"
            );
            return ExitCode::from(2);
        }
    };
    match run(runs).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: bench-overhead: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Seconds since the push, at which each step finished (by name).
pub type Marks = BTreeMap<&'static str, f64>;

struct Bench {
    w: webhook::World,
    server: webhook::Server,
    rolled: UnboundedReceiver<Rolled>,
    builds: UnboundedReceiver<(Instant, Build)>,
    docker_config: tempfile::TempDir,
    http: reqwest::Client,
    nonce: u64,
}

fn secs(t0: Instant, t: Instant) -> f64 {
    t.saturating_duration_since(t0).as_secs_f64()
}

impl Bench {
    fn commit(&self, label: &str) -> Result<String, String> {
        Ok(self.w.gh.commit(
            &self.w.repo,
            "main",
            demo::sample_app(&format!("{label} ({:x})", self.nonce))?,
        ))
    }

    /// Wait for the stand-in controller to roll `want(image)`; returns its report.
    async fn rolled_to(
        &mut self,
        deadline: Instant,
        want: impl Fn(&str) -> bool,
    ) -> Result<Rolled, String> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rolled.recv()).await {
                Ok(Some(r)) if want(&r.image) => return Ok(r),
                Ok(Some(_)) => {}
                Ok(None) => return Err("the stand-in controller stopped".into()),
                Err(_) => {
                    return Err(format!(
                        "no rollout within {} s; {}",
                        RUN_DEADLINE.as_secs(),
                        demo::keep_log(&self.server.log, "bench-overhead", self.w.ns())
                    ));
                }
            }
        }
    }

    /// Mosaic: deliver the signed push, then follow the Build and the rollout.
    async fn mosaic(&mut self, label: &str) -> Result<Marks, String> {
        let sha = self.commit(label)?;
        let name = mosaic_core::resources::build_name("web", &sha);
        let body = webhook::push_body(&self.w.repo, &sha);
        let prefix = format!("{}@sha256:", self.w.image);
        let t0 = Instant::now();
        let deadline = t0 + RUN_DEADLINE;
        let (status, answer) = demo::deliver_push(
            &self.http,
            &self.server.url,
            &format!("bench-{sha}"),
            &body,
            webhook::WEBHOOK_SECRET,
        )
        .await?;
        let mut m = Marks::new();
        m.insert("answered", secs(t0, Instant::now()));
        if status != 201 {
            return Err(format!("the webhook answered {status} {answer}"));
        }
        let mut rolled: Option<Rolled> = None;
        let mut last: Option<Build> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::select! {
                Some((at, b)) = self.builds.recv() => {
                    if b.metadata.name.as_deref() != Some(name.as_str()) {
                        continue;
                    }
                    let key = match b.status.as_ref().map(|s| s.phase).unwrap_or_default() {
                        BuildPhase::Pending => "pending",
                        BuildPhase::Building => "building",
                        BuildPhase::Pushing => "pushing",
                        BuildPhase::RollingOut => "rollingOut",
                        BuildPhase::Verifying => "verifying",
                        _ => "finished",
                    };
                    m.entry(key).or_insert(secs(t0, at));
                    last = Some(b);
                }
                Some(r) = self.rolled.recv() => {
                    if r.image.starts_with(&prefix) && r.seen >= t0 && rolled.is_none() {
                        rolled = Some(r);
                    }
                }
                () = tokio::time::sleep(left) => {
                    return Err(format!("Mosaic run {label}: not rolled and finished within {} s; {}",
                        RUN_DEADLINE.as_secs(), demo::keep_log(&self.server.log, "bench-overhead", self.w.ns())));
                }
            }
            let done = last
                .as_ref()
                .and_then(|b| b.status.as_ref())
                .is_some_and(|s| s.phase.is_terminal());
            if done && rolled.is_some() {
                break;
            }
            if done
                && last
                    .as_ref()
                    .and_then(|b| b.status.as_ref())
                    .map(|s| s.phase)
                    != Some(BuildPhase::Succeeded)
            {
                break;
            }
        }
        let s = last.and_then(|b| b.status).unwrap_or_default();
        if s.phase != BuildPhase::Succeeded {
            return Err(format!(
                "Mosaic run {label}: Build {name} ended {}: {}; {}",
                s.phase,
                s.message.unwrap_or_default(),
                demo::keep_log(&self.server.log, "bench-overhead", self.w.ns())
            ));
        }
        let r = rolled.expect("loop exits with a rollout on success");
        if s.image.as_deref() != Some(r.image.as_str()) {
            return Err(format!(
                "Mosaic run {label}: the Deployment rolled to {} but the Build recorded {:?}",
                r.image, s.image
            ));
        }
        m.insert("controllerSaw", secs(t0, r.seen));
        m.insert("rolled", secs(t0, r.done));
        Ok(m)
    }

    /// By hand: curl | tar, docker build, docker push, kubectl set image, kubectl rollout status.
    /// `oci_labels` adds the three image labels Mosaic's builds carry.
    async fn manual(&mut self, label: &str, oci_labels: bool) -> Result<Marks, String> {
        let sha = self.commit(label)?;
        let short = &sha[..7];
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let tag = format!("{}:{short}", self.w.image);
        let ns = self.w.ns().to_string();
        let url = format!("{}/repos/{}/tarball/{sha}", self.w.gh.url, self.w.repo);
        let t0 = Instant::now();
        let deadline = t0 + RUN_DEADLINE;
        let mut m = Marks::new();
        let fetch = format!(
            "curl -fsSL -H \"Authorization: Bearer $GITHUB_TOKEN\" '{url}' | tar -xz -C '{}' --strip-components=1",
            dir.path().display()
        );
        self.cmd("sh", &["-c", &fetch]).await?;
        m.insert("fetched", secs(t0, Instant::now()));
        let path = dir.path().display().to_string();
        let mut build = vec!["build".to_string(), "-q".into(), "-t".into(), tag.clone()];
        if oci_labels {
            let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            for l in [
                format!("{}={created}", names::OCI_LABEL_CREATED),
                format!("{}={sha}", names::OCI_LABEL_REVISION),
                format!(
                    "{}=https://github.com/{}",
                    names::OCI_LABEL_SOURCE,
                    self.w.repo
                ),
            ] {
                build.extend(["--label".to_string(), l]);
            }
        }
        build.push(path);
        let build: Vec<&str> = build.iter().map(String::as_str).collect();
        self.cmd("docker", &build).await?;
        m.insert("built", secs(t0, Instant::now()));
        let pushed = self.cmd("docker", &["push", &tag]).await?;
        m.insert("pushed", secs(t0, Instant::now()));
        let digest = pushed
            .split("digest: ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .ok_or_else(|| format!("docker push printed no digest:\n{pushed}"))?;
        let image = format!("{}@{digest}", self.w.image);
        self.cmd(
            "kubectl",
            &[
                "-n",
                &ns,
                "set",
                "image",
                "deployment/web",
                &format!("app={image}"),
            ],
        )
        .await?;
        m.insert("applied", secs(t0, Instant::now()));
        self.cmd(
            "kubectl",
            &[
                "-n",
                &ns,
                "rollout",
                "status",
                "deployment/web",
                "--timeout=120s",
            ],
        )
        .await?;
        m.insert("finished", secs(t0, Instant::now()));
        let r = self.rolled_to(deadline, |i| i == image).await?;
        m.insert("controllerSaw", secs(t0, r.seen));
        m.insert("rolled", secs(t0, r.done));
        Ok(m)
    }

    /// Run a command with the stack's environment; its stdout, or one line saying why it failed.
    async fn cmd(&self, prog: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new(prog)
            .args(args)
            .envs(mosaic_tests::stack_vars())
            .env("DOCKER_CONFIG", self.docker_config.path())
            .env("DOCKER_BUILDKIT", "0")
            .env("GITHUB_TOKEN", webhook::GITHUB_TOKEN)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("cannot run {prog}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{prog} {} failed ({}): {}",
                args.first().copied().unwrap_or_default(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

async fn run(runs: usize) -> Result<(), String> {
    eprintln!("==> setting up: namespace, CRDs, Secrets, Deployment web, Binding web, fake GitHub");
    let w = webhook::world(None, false).await;
    let rolled = demo::standin_controller(w.deployments(), "web").await?;
    let window = std::env::var("MOSAIC_BENCH_VERIFY_WINDOW").unwrap_or_else(|_| "10s".into());
    eprintln!("==> verification window: {window}");
    let builds = demo::watch(w.builds(), Default::default()).await?;
    // Mosaic with its own defaults for heartbeat, claim TTL and rollout timeout.
    let server = webhook::start(
        &w,
        "bench",
        &[
            "--heartbeat",
            "5",
            "--claim-ttl",
            "30",
            "--rollout-timeout",
            "600",
            // The window a good commit waits before it is Succeeded (the webhook's default
            // unless MOSAIC_BENCH_VERIFY_WINDOW says): "finished" includes it, "rolled" not.
            "--verify-window",
            &window,
        ],
    )
    .await;
    let docker_config = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut b = Bench {
        w,
        server,
        rolled,
        builds,
        docker_config,
        http: reqwest::Client::new(),
        nonce,
    };
    // The set-up generation of the Deployment, rolled by the stand-in: not part of any run.
    b.rolled_to(Instant::now() + RUN_DEADLINE, |i| {
        i == "example.com/web:before"
    })
    .await?;
    let login = format!(
        "printf '%s' \"$REG_PASSWORD\" | docker login -u '{}' --password-stdin '{}' >/dev/null",
        b.w.reg.user, b.w.reg.host
    );
    let out = Command::new("sh")
        .args(["-c", &login])
        .envs(mosaic_tests::stack_vars())
        .env("DOCKER_CONFIG", b.docker_config.path())
        .env("REG_PASSWORD", &b.w.reg.password)
        .output()
        .await
        .map_err(|e| format!("cannot run docker login: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "docker login to {} failed: {}",
            b.w.reg.host,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    eprintln!("==> machine: {}", machine());
    eprintln!("==> warm-up: one run of each path (not recorded)");
    for path in PATHS {
        let m = b.one(path, "warm-up").await?;
        eprintln!("    {:<16} rolled {:.3} s", path.name(), m["rolled"]);
    }
    let before = stage_metrics(&b.server.url).await;

    let mut results: Vec<(Path, Vec<Marks>)> = PATHS.iter().map(|p| (*p, Vec::new())).collect();
    for i in 0..runs {
        // Rotate the order every run, so no path always follows another.
        let order: Vec<usize> = (0..PATHS.len()).map(|k| (i + k) % PATHS.len()).collect();
        eprintln!("==> run {}/{runs}", i + 1);
        for k in order {
            let m = b.one(PATHS[k], &format!("run {i}")).await?;
            eprintln!("    {:<16} {}", PATHS[k].name(), fmt_marks(&m));
            results[k].1.push(m);
        }
    }
    let after = stage_metrics(&b.server.url).await;
    summary(runs, &results, &before, &after);
    let log = std::fs::read_to_string(&b.server.log).unwrap_or_default();
    // The first build in the log is the warm-up.
    let labels: Vec<f64> = label_steps(&log).into_iter().skip(1).collect();
    let (med, p90) = median_p90(&labels);
    println!(
        "mosaic build log: LABEL steps (from the first to \"Successfully built\") median {med:.3} s, p90 {p90:.3} s (n={})",
        labels.len()
    );
    Ok(())
}

/// The paths compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Mosaic,
    ByHand,
    ByHandLabels,
}

pub const PATHS: [Path; 3] = [Path::Mosaic, Path::ByHand, Path::ByHandLabels];

impl Path {
    pub fn name(self) -> &'static str {
        match self {
            Path::Mosaic => "mosaic",
            Path::ByHand => "by hand",
            Path::ByHandLabels => "by hand + labels",
        }
    }
}

impl Bench {
    async fn one(&mut self, path: Path, label: &str) -> Result<Marks, String> {
        let label = format!("{label} {}", path.name());
        match path {
            Path::Mosaic => self.mosaic(&label).await,
            Path::ByHand => self.manual(&label, false).await,
            Path::ByHandLabels => self.manual(&label, true).await,
        }
    }
}
