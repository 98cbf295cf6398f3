//! Load drill for the intake (run by `scripts/load`): the real `mosaic-webhook` binary against
//! the real test API server, dockerd and registry on loopback, fed signed push deliveries at a
//! fixed rate (open loop: a slow answer never slows the sender) with a mix of duplicates (same
//! delivery id), older commits redelivered, bad signatures, garbled and oversized bodies. Every
//! push is a real commit on the fake GitHub's graph (the branch moves as each is sent), and two
//! Bindings (`web`, `api`) deploy them to their Deployments. After the load: every Build ends,
//! each Deployment only moved forward in git order and runs the branch head's Build; then the
//! late pushes (lost the first time) are delivered, out of order, and must end `Superseded`
//! without moving a Deployment. Checks, from a watch of the API server (the builders delete
//! old finished Builds), exactly one Build per (Binding, commit), none for a badly signed
//! commit, and that every good delivery got a 2xx within 1 s. `MOSAIC_LOAD_SETTLE_S` bounds the
//! wait for every Build to end (default 1800 s).
//! Prints a JSON summary on stdout; exits 1 when a check fails.
//!
//! MIX `drill` (default) is the mix above; MIX `intake` sends only new, distinct, signed pushes
//! (the intake benchmark of issue 5: every request is a verify + decide + create) and also
//! times the signature check alone, to report its share of the latency.
//!
//! `cargo run -p mosaic-webhook --release --example load -- [DELIVERIES] [RATE] [MIX]`

mod plan;
mod settle;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{DeleteParams, ListParams, PostParams};
use mosaic_core::resources::BuildPhase;
use mosaic_tests::fake_github::File;
use mosaic_tests::webhook::World;
use serde_json::json;

use plan::{Kind, plan, verify_micros};

const BINDINGS: [&str; 2] = ["web", "api"];

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Start the webhook binary for `ns`; returns the child and its URL once `/readyz` is 200.
async fn start_webhook(w: &World) -> (std::process::Child, String) {
    let (ns, dir, github) = (w.ns(), w.dir.path(), w.gh.url.as_str());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let bin = std::env::var_os("MOSAIC_WEBHOOK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| mosaic_tests::bin_path("mosaic-webhook"));
    let log = std::fs::File::create(dir.join("webhook.log")).expect("log file");
    let child = Command::new(&bin)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--namespace", ns])
        .args([
            "--webhook-secret-file",
            w.secret_file().to_str().expect("utf-8 path"),
        ])
        .args([
            "--github-api-url",
            github,
            "--identity",
            "load",
            "--log-format",
            "json",
            // The Builds counted are the deliveries' own: no resync Builds.
            "--resync-interval",
            "0",
            "--verify-window",
            "1s",
        ])
        // MOSAIC_LOAD_CONCURRENCY=0 measures the intake alone (no worker on the API server).
        .args(["--concurrency", &concurrency().to_string()])
        .env("RUST_LOG", "warn")
        .envs(mosaic_tests::stack_vars())
        .env("MOSAIC_DOCKER_HOST", &mosaic_tests::stack().docker_host)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}; build it first", bin.display()));
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    mosaic_tests::eventually("mosaic-webhook /readyz", 60, || {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r = http.get(format!("{url}/readyz")).send().await.ok()?;
            (r.status() == 200).then_some(())
        }
    })
    .await;
    (child, url)
}

/// The webhook's `--concurrency` (MOSAIC_LOAD_CONCURRENCY, default 2); 0 is an intake-only
/// replica, which records Builds and never ends one.
fn concurrency() -> u32 {
    match std::env::var("MOSAIC_LOAD_CONCURRENCY") {
        Err(_) => 2,
        Ok(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("error: load: MOSAIC_LOAD_CONCURRENCY is '{v}'; use a whole number");
            std::process::exit(2);
        }),
    }
}

/// The world: `mosaic_tests`' (Deployment and Binding `web` for `acme/<ns>`), plus Deployment
/// and Binding `api` for the same repository and branch.
async fn load_world() -> World {
    let w = mosaic_tests::webhook::world(None, false).await;
    // Time the intake of an installed cluster, not the API server's hold on creates of a CRD
    // Established under 2 s ago (see await_crds_settled).
    mosaic_tests::await_crds_settled(&w.kube.client).await;
    let dep: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "api"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "app", "image": "example.com/api:before"}]}}}
    }))
    .expect("Deployment");
    w.deployments()
        .create(&PostParams::default(), &dep)
        .await
        .expect("create Deployment api");
    let mut b = w.bindings().get("web").await.expect("Binding web");
    b.metadata = kube::api::ObjectMeta {
        name: Some("api".into()),
        ..Default::default()
    };
    b.status = None;
    b.spec.deployment = "api".into();
    b.spec.image = format!("{}-api", w.image);
    w.bindings()
        .create(&PostParams::default(), &b)
        .await
        .expect("create Binding api");
    w
}

/// POST one planned delivery: (status, latency).
async fn send(http: &reqwest::Client, endpoint: &str, r: &plan::Req) -> (u16, Duration) {
    let start = Instant::now();
    let res = http
        .post(endpoint)
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", &r.delivery)
        .header("x-hub-signature-256", &r.signature)
        .body(r.body.clone())
        .send()
        .await;
    let status = match res {
        Ok(resp) => {
            let s = resp.status().as_u16();
            let _ = resp.bytes().await;
            s
        }
        Err(_) => 0,
    };
    (status, start.elapsed())
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(10_000, |a| a.parse().expect("DELIVERIES is a number"));
    let rate: u64 = args
        .next()
        .map_or(200, |a| a.parse().expect("RATE is a number"));
    let mix = args.next().unwrap_or_else(|| "drill".into());
    let only_new = match mix.as_str() {
        "drill" => false,
        "intake" => true,
        other => {
            eprintln!("error: load: unknown MIX '{other}'; use drill or intake");
            std::process::exit(2);
        }
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();

    let w = load_world().await;
    let ns = w.ns().to_string();
    let repo = w.repo.clone();
    let rollouts = settle::Rollouts::default();
    let _watch = rollouts.watch(w.deployments());
    let seen = settle::Builds::default();
    let _watch_builds = seen.watch(w.builds());
    let _ctl =
        mosaic_tests::webhook::complete_rollouts(w.deployments(), Duration::from_millis(500));
    let (mut child, url) = start_webhook(&w).await;

    // Every push a commit on top of the one before, off the branch until its turn comes.
    let mut prev: Option<String> = None;
    let mut place: HashMap<String, usize> = HashMap::new();
    let mut commit = |i: usize| {
        let files = vec![
            File::new("Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n"),
            File::new("hello.txt", format!("load {seed} push {i}\n")),
        ];
        let sha = w.gh.commit_off_branch(&repo, prev.as_deref(), files);
        place.insert(sha.clone(), place.len());
        prev = Some(sha.clone());
        sha
    };
    let reqs = plan(n, &repo, seed, only_new, &mut commit);
    let head = prev.clone().expect("at least one push");
    eprintln!("load: {n} deliveries at {rate}/s to {url} (namespace {ns})");
    let body_bytes = reqs[0].body.len();
    let verify_us = verify_micros(&reqs[0].body);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(512)
        .build()
        .expect("HTTP client");
    let endpoint = format!("{url}/webhooks/github");
    let period = Duration::from_nanos(1_000_000_000 / rate);
    let t0 = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for (i, r) in reqs.iter().cloned().enumerate() {
        tokio::time::sleep_until(t0 + period * i as u32).await;
        if r.kind.pushes() {
            let sha = r.commit.as_deref().expect("a push names its commit");
            w.gh.move_branch(&repo, "main", sha);
        }
        if r.kind == Kind::Late {
            continue;
        }
        let (http, endpoint) = (http.clone(), endpoint.clone());
        tasks.push((
            i,
            tokio::spawn(async move { send(&http, &endpoint, &r).await }),
        ));
    }
    let mut results: Vec<Option<(u16, Duration)>> = vec![None; n];
    for (i, t) in tasks {
        results[i] = Some(t.await.expect("request task"));
    }
    let wall = t0.elapsed();
    // Good deliveries the intake refused (503 busy, 408, no answer) are redelivered once the
    // load is over, as from GitHub's Recent Deliveries: in send order, 8 at a time, each until
    // answered 2xx (at most 5 tries). Older commits arrive after newer ones deployed.
    let refused: Vec<usize> = (0..n)
        .filter(|&i| reqs[i].kind.good() && reqs[i].kind != Kind::Late)
        .filter(|&i| !results[i].is_some_and(|(s, _)| (200..300).contains(&s)))
        .collect();
    let mut redelivered: HashSet<usize> = HashSet::new();
    for chunk in refused.chunks(8) {
        let answers = futures::future::join_all(chunk.iter().map(|&i| {
            let (http, endpoint, r) = (http.clone(), endpoint.clone(), reqs[i].clone());
            async move {
                for _ in 0..5 {
                    let (s, _) = send(&http, &endpoint, &r).await;
                    if (200..300).contains(&s) {
                        return Some(i);
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                None
            }
        }))
        .await;
        redelivered.extend(answers.into_iter().flatten());
    }
    // The pushes the intake recorded (answered 2xx by it or by a duplicate or redelivery):
    // the Builds to wait for. The others are reported below as not answered in time.
    let recorded: HashSet<&str> = reqs
        .iter()
        .zip(&results)
        .enumerate()
        .filter(|(i, (r, res))| {
            r.kind.good()
                && r.kind != Kind::Late
                && (res.is_some_and(|(s, _)| (200..300).contains(&s)) || redelivered.contains(i))
        })
        .filter_map(|(_, (r, _))| r.commit.as_deref())
        .collect();
    let sent_pushes = recorded.len();

    // Let every Build end, then judge the Deployments.
    let builds = w.builds();
    let limit = std::env::var("MOSAIC_LOAD_SETTLE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1800);
    // Without a worker (intake only) nothing deploys: the Builds are counted, not judged, and
    // there are no late pushes (the intake mix plans none).
    let worker = concurrency() > 0;
    let (settled, settle_time) = settle::settle(
        &seen,
        sent_pushes * BINDINGS.len(),
        worker,
        Duration::from_secs(limit),
    )
    .await;
    let all = seen.all();
    let mut deployments = BTreeMap::new();
    let mut forward_ok = settled.is_some();
    let mut before_late = HashMap::new();
    for b in BINDINGS.into_iter().filter(|_| worker) {
        let h = rollouts.of(b);
        let (v, ok) = settle::judge(b, &h, &all, &place, &head);
        forward_ok &= ok;
        before_late.insert(b, h.last().cloned());
        deployments.insert(b.to_string(), v);
    }

    // The late pushes: delivered now that newer commits deployed.
    let late: Vec<usize> = (0..n).filter(|&i| reqs[i].kind == Kind::Late).collect();
    for &i in &late {
        results[i] = Some(send(&http, &endpoint, &reqs[i]).await);
    }
    let (late_settled, _) = settle::settle(
        &seen,
        (sent_pushes + late.len()) * BINDINGS.len(),
        worker,
        Duration::from_secs(600),
    )
    .await;
    let all = seen.all();
    let late_commits: HashSet<&str> = late
        .iter()
        .filter_map(|&i| reqs[i].commit.as_deref())
        .collect();
    let late_phases = settle::phases(
        &all.iter()
            .filter(|b| late_commits.contains(b.spec.commit.as_str()))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let late_superseded = late_phases
        .get(BuildPhase::Superseded.as_str())
        .copied()
        .unwrap_or_default();
    let mut moved_by_late = 0;
    for b in BINDINGS.into_iter().filter(|_| worker) {
        if rollouts.of(b).last().cloned() != before_late[b] {
            moved_by_late += 1;
        }
    }
    let late_ok = late_settled.is_some()
        && (!worker || late_superseded == late.len() * BINDINGS.len())
        && moved_by_late == 0;
    let results: Vec<(u16, Duration)> = results
        .into_iter()
        .map(|r| r.unwrap_or((0, Duration::ZERO)))
        .collect();
    // MOSAIC_LOAD_TRACE=FILE: one CSV line per request (planned send offset, status, latency).
    if let Some(path) = std::env::var_os("MOSAIC_LOAD_TRACE") {
        let lines: String = results
            .iter()
            .enumerate()
            .map(|(i, (s, took))| {
                format!(
                    "{:.3},{s},{:.3}\n",
                    (period * i as u32).as_secs_f64(),
                    took.as_secs_f64() * 1e3
                )
            })
            .collect();
        std::fs::write(&path, format!("sent_s,status,ms\n{lines}")).expect("write the trace");
    }

    // Tally.
    let mut by_kind: BTreeMap<String, BTreeMap<u16, usize>> = BTreeMap::new();
    let mut good_lat = Vec::new();
    let mut all_lat = Vec::new();
    let (mut unexpected, mut slow_good, mut errors) = (0usize, 0usize, 0usize);
    for (r, (status, took)) in reqs.iter().zip(&results) {
        *by_kind
            .entry(format!("{:?}", r.kind))
            .or_default()
            .entry(*status)
            .or_default() += 1;
        all_lat.push(*took);
        if *status == 0 {
            errors += 1;
        }
        if !r.kind.expected().contains(status) {
            unexpected += 1;
        }
        if r.kind.good() {
            good_lat.push(*took);
            if *took > Duration::from_secs(1) || !(200..300).contains(status) {
                slow_good += 1;
            }
        }
    }
    good_lat.sort();
    all_lat.sort();

    // What the API server holds.
    let mut pairs: HashMap<(String, String), usize> = HashMap::new();
    for b in &all {
        *pairs
            .entry((b.spec.binding.clone(), b.spec.commit.clone()))
            .or_default() += 1;
    }
    let sent: HashSet<&str> = reqs
        .iter()
        .filter(|r| r.kind.pushes())
        .filter_map(|r| r.commit.as_deref())
        .collect();
    let bad: HashSet<&str> = reqs
        .iter()
        .filter(|r| r.kind == Kind::BadSignature)
        .filter_map(|r| r.commit.as_deref())
        .collect();
    let expected: HashSet<(String, String)> = sent
        .iter()
        .flat_map(|c| BINDINGS.map(|b| (b.to_string(), c.to_string())))
        .collect();
    let actual: HashSet<(String, String)> = pairs.keys().cloned().collect();
    let doubled = pairs.values().filter(|&&c| c > 1).count();
    let missing = expected.difference(&actual).count();
    let extra = actual.difference(&expected).count();
    let from_bad = pairs
        .keys()
        .filter(|(_, c)| bad.contains(c.as_str()))
        .count();
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let server_counts: BTreeMap<String, String> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("mosaic_webhook_requests_total{result=\""))
        .filter_map(|l| l.split_once("\"} "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();

    // The webhook's peak and current resident memory (Linux), read before it is stopped.
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let mib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| (kb / 1024.0 * 10.0).round() / 10.0)
    };
    let rss = json!({"peak_mib": mib("VmHWM:"), "at_end_mib": mib("VmRSS:")});
    let ok = doubled == 0
        && missing == 0
        && extra == 0
        && from_bad == 0
        && slow_good == 0
        && unexpected == 0
        && forward_ok
        && late_ok;
    let gh = w.gh.graph_requests();
    let summary = json!({
        "deliveries": n, "rate_per_s": rate, "mix": mix, "wall_s": wall.as_secs_f64(),
        "push_body_bytes": body_bytes,
        "signature_verify_us": verify_us,
        "verify_share_of_good_p50": verify_us / 1000.0 / percentile(&good_lat, 0.5).max(f64::MIN_POSITIVE),
        "achieved_rate_per_s": (n - late.len()) as f64 / wall.as_secs_f64(),
        "by_kind_and_status": by_kind,
        "good_latency_ms": {"p50": percentile(&good_lat, 0.5), "p90": percentile(&good_lat, 0.9),
            "p99": percentile(&good_lat, 0.99), "max": percentile(&good_lat, 1.0)},
        "all_latency_ms": {"p50": percentile(&all_lat, 0.5), "p99": percentile(&all_lat, 0.99),
            "max": percentile(&all_lat, 1.0)},
        "connection_errors": errors, "unexpected_status": unexpected,
        "good_not_2xx_within_1s": slow_good,
        "refused_then_redelivered": {"deliveries": refused.len(), "answered_2xx": redelivered.len()},
        "builds": {"expected": expected.len(), "found": actual.len(), "missing": missing,
            "extra": extra, "duplicated_pairs": doubled, "from_bad_signatures": from_bad,
            "terminal_phases": settle::phases(&all)},
        "settle_s": settle_time.as_secs_f64(),
        "deployments": deployments, "forward_only_and_head_deployed": forward_ok,
        "late_pushes": {"commits": late.len(), "build_phases": late_phases,
            "deployments_moved": moved_by_late, "ok": late_ok},
        "github_requests": {"branch_full": gh.branch_full, "branch_304": gh.branch_not_modified,
            "compare": gh.compare, "tarballs": w.gh.tarball_downloads()},
        "server_requests_total": server_counts,
        "webhook_rss": rss,
        "ok": ok,
    });
    println!("{}", serde_json::to_string_pretty(&summary).expect("JSON"));

    let _ = child.kill();
    let _ = child.wait();
    // The test API server runs no namespace controller: remove the Builds and Bindings here.
    let _ = builds
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await;
    let _ = w
        .bindings()
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await;
    if !ok {
        eprintln!(
            "load: FAILED (see the summary); webhook log: {}",
            w.dir.path().join("webhook.log").display()
        );
        // Keep the log: leave the world's directory behind.
        std::mem::forget(w);
        std::process::exit(1);
    }
    eprintln!("load: ok");
}
