//! Benchmarks of "git is the truth" (issue 12), `#[ignore]`d: `scripts/bench-git` runs them.
//! - `per_build_checks_with_and_without`: in one run of the real binary, Builds of a push
//!   (checked against the branch: `GET …/branches/{b}` and, when the commit is not the head,
//!   `compare`, before the build and again before the apply) alternate with Builds made by hand
//!   of the next commit (trigger `manual`, which are not checked), each a fresh commit of the
//!   same app; the medians of both, their ratio, the fake GitHub's requests per Build, and the
//!   round trip of one branch and one compare request from here.
//! - `resync_cost_for_500_bindings`: 500 Bindings, each of its own repository and deployed at
//!   its head; the resync at a short interval for several rounds while 10 branches move (to
//!   commits without a Dockerfile, so their Builds fail at once); the fake GitHub's request log
//!   counts full answers and 304s, scaled to an hour at the default 300 s interval.
//!
//! Results: docs/benchmarks.md, "Git checks per Build and the resync (issue 12)".

use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams, PostParams};
use mosaic_core::CommitRef;
use mosaic_core::resources::{Binding, Build, BuildPhase, BuildTrigger, build_name};
use mosaic_tests::fake_github::File;
use mosaic_tests::webhook::*;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Wait (polling every 20 ms: this measures, it does not synchronise) until Build `name`
/// is terminal; its phase and the time since `t0`.
async fn finished(w: &World, name: &str, t0: Instant) -> (BuildPhase, f64) {
    let api = w.builds();
    loop {
        if let Ok(Some(b)) = api.get_opt(name).await
            && let Some(s) = b.status.as_ref().filter(|s| s.phase.is_terminal())
        {
            return (s.phase, t0.elapsed().as_secs_f64() * 1e3);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "{name} did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Median round trip (ms) of `n` GETs of `path` on the fake GitHub, with the token.
async fn round_trip(w: &World, path: &str, n: usize) -> f64 {
    let http = reqwest::Client::new();
    let mut v = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let r = http
            .get(format!("{}{path}", w.gh.url))
            .bearer_auth(&w.gh.token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        let _ = r.bytes().await;
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    median(v)
}

#[tokio::test]
#[ignore = "benchmark: scripts/bench-git"]
async fn per_build_checks_with_and_without() {
    let runs: usize = std::env::var("MOSAIC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let server = start(&w, "bench-git", &[]).await;
    let binding = w.bindings().get("web").await.unwrap();
    let (mut checked, mut unchecked) = (Vec::new(), Vec::new());
    let (mut checked_requests, mut unchecked_requests) = (0usize, 0usize);
    let total = |g: mosaic_tests::fake_github::graph::GraphRequests| {
        g.branch_full + g.branch_not_modified + g.compare
    };
    // One unrecorded warm-up of each, then alternate.
    for i in 0..=runs {
        for manual in [false, true] {
            let sha = w.gh.commit(
                &w.repo,
                "main",
                vec![
                    File::new("Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n"),
                    File::new("hello.txt", format!("bench {i} {manual}\n")),
                ],
            );
            let before = total(w.gh.graph_requests());
            let t0 = Instant::now();
            let name = if manual {
                let git_ref = "refs/heads/main".to_string();
                let commit = CommitRef {
                    sha: &sha,
                    git_ref: &git_ref,
                };
                let b =
                    Build::for_commit(&binding, commit, BuildTrigger::manual(Some("bench".into())))
                        .unwrap();
                w.builds().create(&PostParams::default(), &b).await.unwrap();
                b.metadata.name.unwrap()
            } else {
                let (s, j) = push(&server, &w, &format!("bench-{i}"), &sha).await;
                assert_eq!(s, 201, "{j}");
                build_name("web", &sha)
            };
            let (phase, ms) = finished(&w, &name, t0).await;
            assert_eq!(phase, BuildPhase::Succeeded, "{name}");
            let requests = total(w.gh.graph_requests()) - before;
            if i == 0 {
                continue;
            }
            if manual {
                unchecked.push(ms);
                unchecked_requests += requests;
            } else {
                checked.push(ms);
                checked_requests += requests;
            }
        }
    }
    let head = w.gh.head(&w.repo, "main").unwrap();
    let parent = w.gh.commit(&w.repo, "main", vec![File::new("x", "y")]);
    let branch_rt = round_trip(&w, &format!("/repos/{}/branches/main", w.repo), 100).await;
    let compare_rt = round_trip(
        &w,
        &format!("/repos/{}/compare/{head}...{parent}?per_page=1", w.repo),
        100,
    )
    .await;
    let (c, u) = (median(checked.clone()), median(unchecked.clone()));
    let report = serde_json::json!({
        "runs": runs,
        "checked_push_build_ms": {"median": c, "all": checked},
        "unchecked_manual_build_ms": {"median": u, "all": unchecked},
        "difference_ms": c - u, "ratio": c / u,
        "graph_requests_per_checked_build": checked_requests as f64 / runs as f64,
        "graph_requests_per_manual_build": unchecked_requests as f64 / runs as f64,
        "round_trip_ms": {"branch": branch_rt, "compare": compare_rt},
        "load_average": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    });
    println!("BENCH per_build {report}");
}

/// Binding `name` deployed `commit` already: the resync records nothing while it is the head.
async fn deployed(api: &Api<Binding>, name: &str, commit: &str) {
    let st = serde_json::json!({"status": {"lastCommit": commit}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&st))
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "benchmark: scripts/bench-git"]
async fn resync_cost_for_500_bindings() {
    let n: usize = std::env::var("MOSAIC_BENCH_BINDINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let interval: u64 = 20;
    let w = world(None, true).await;
    let ns = w.ns().to_string();
    // Binding web's branch exists too, and is deployed: every Binding's read can be a 304.
    let web_head = w.commit("bench\n");
    deployed(&w.bindings(), "web", &web_head).await;
    let template = w.bindings().get("web").await.unwrap();
    let api: Api<Binding> = w.bindings();
    for i in 0..n {
        let repo = format!("acme/{ns}-{i}");
        w.gh.add_repo(&repo, true);
        // No Dockerfile: a Build of a moved branch fails at once, costing no engine time.
        let files = vec![File::new("hello.txt", format!("{i}\n"))];
        let head = w.gh.commit(&repo, "main", files);
        let mut b = template.clone();
        b.metadata = kube::api::ObjectMeta {
            name: Some(format!("app-{i}")),
            ..Default::default()
        };
        b.spec.repo = repo;
        b.spec.deployment = format!("app-{i}");
        b.status = None;
        api.create(&PostParams::default(), &b).await.unwrap();
        deployed(&api, &format!("app-{i}"), &head).await;
    }
    // The resync runs beside the workers (one here): a moved branch's Build fails at once.
    let interval_s = interval.to_string();
    let _server = start(
        &w,
        "bench-resync",
        &["--concurrency", "1", "--resync-interval", &interval_s],
    )
    .await;
    let t0 = Instant::now();
    let gh = &w.gh;
    // The first round reads every branch in full (nothing remembered yet).
    let first = mosaic_tests::eventually("the first resync round", 900, || async move {
        let g = gh.graph_requests();
        (g.branch_full > n).then_some(g)
    })
    .await;
    let first_s = t0.elapsed().as_secs_f64();
    // Then `rounds` more rounds, 10 branches moving before each.
    let rounds = 3;
    let mut moved = 0;
    let before = w.gh.graph_requests();
    let t1 = Instant::now();
    for r in 0..rounds {
        for i in 0..10 {
            let repo = format!("acme/{ns}-{}", (r * 37 + i * 7) % n);
            w.gh.commit(
                &repo,
                "main",
                vec![File::new("hello.txt", format!("moved {r} {i}\n"))],
            );
            moved += 1;
        }
        let want = before.branch_full + before.branch_not_modified + (r + 1) * (n + 1);
        mosaic_tests::eventually("a resync round", 600, || async move {
            let g = gh.graph_requests();
            (g.branch_full + g.branch_not_modified >= want).then_some(())
        })
        .await;
    }
    let span = t1.elapsed().as_secs_f64();
    let after = w.gh.graph_requests();
    let full = after.branch_full - before.branch_full;
    let not_modified = after.branch_not_modified - before.branch_not_modified;
    let per_round = (full + not_modified) as f64 / rounds as f64;
    let report = serde_json::json!({
        "bindings": n, "interval_s": interval, "first_round": {"branch_full": first.branch_full,
            "branch_304": first.branch_not_modified, "seconds": first_s},
        "measured_rounds": rounds, "seconds": span, "branches_moved": moved,
        "branch_full": full, "branch_304": not_modified, "compare": after.compare - before.compare,
        "share_304": not_modified as f64 / (full + not_modified) as f64,
        "requests_per_round": per_round,
        "per_hour_at_300s": per_round * 12.0,
        "rate_limited_per_hour_at_300s": (full as f64 / rounds as f64) * 12.0,
    });
    println!("BENCH resync {report}");
}
