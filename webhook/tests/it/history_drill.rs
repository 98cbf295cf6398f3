//! The history drill (issue 13), ignored (minutes of API writes): 50,000 terminal Builds across
//! 500 Bindings in one namespace, created directly through the API with bounded concurrency.
//! Then the real `mosaic-webhook` (builder and intake in one process) starts over them; its
//! RSS is read idle and during one rollout, and its requests during that rollout are counted
//! from the stack API server's audit log. Goals: RSS under 128 MiB, fewer than 5 requests per
//! second per rolling Build. Run:
//! `cargo test -p mosaic-webhook --test it history_drill -- --ignored --nocapture`
//! (figures in docs/reliability.md).

use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use mosaic_core::names::LABEL_BINDING;
use mosaic_core::resources::{Binding, Build, BuildPhase, build_name};
use mosaic_tests::webhook::*;
use serde_json::json;

const BINDINGS: usize = 500;
const PER_BINDING: usize = 100;
const CONCURRENCY: usize = 32;

/// The resident and peak memory of process `pid`, in MiB.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Create the drill's Bindings and terminal Builds in `ns`.
async fn fill(client: &kube::Client, ns: &str, registry: &str) {
    let bindings: Api<Binding> = Api::namespaced(client.clone(), ns);
    let builds: Api<Build> = Api::namespaced(client.clone(), ns);
    let started = std::time::Instant::now();
    for i in 0..BINDINGS {
        let b: Binding = serde_json::from_value(json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "metadata": {"name": format!("h-{i}")},
            "spec": {"deployment": format!("h-{i}"), "repo": format!("acme/history-{i}"),
                "branch": "main", "image": format!("{registry}/history/h-{i}")}
        }))
        .unwrap();
        bindings.create(&PostParams::default(), &b).await.unwrap();
    }
    let jobs = (0..BINDINGS).flat_map(|i| (0..PER_BINDING).map(move |j| (i, j)));
    let created = futures::stream::iter(jobs)
        .map(|(i, j)| {
            let api = builds.clone();
            async move {
                let commit = format!("{:012x}{}", i * 1_000_000 + j, "0".repeat(28));
                let binding = format!("h-{i}");
                let name = build_name(&binding, &commit);
                let b: Build = serde_json::from_value(json!({
                    "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
                    "metadata": {"name": name, "labels": {LABEL_BINDING: binding}},
                    "spec": {"binding": binding, "commit": commit, "ref": "refs/heads/main",
                        "trigger": {"type": "manual", "user": "history-drill"}}
                }))
                .unwrap();
                api.create(&PostParams::default(), &b).await.unwrap();
                let phase = if j % 4 == 0 { "Failed" } else { "Succeeded" };
                let status = json!({"status": {"phase": phase, "reason": "Deployed",
                    "message": "history drill", "phaseTimes": {
                        "pending": "2026-12-01T00:00:00Z", "finished": "2026-12-01T00:01:00Z"}}});
                api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(CONCURRENCY)
        .count()
        .await;
    let made = started.elapsed();
    eprintln!(
        "history drill: {created} terminal Builds across {BINDINGS} Bindings in {ns} in {:.0} s ({:.0}/s)",
        made.as_secs_f64(),
        created as f64 / made.as_secs_f64()
    );
}

/// Start the real binary for `w`, also watching `history_ns`, as `user`; wait (up to 10
/// minutes) until it is ready and return it with how long that took.
async fn start_over_history(
    w: &World,
    history_ns: &str,
    kubeconfig: &std::path::Path,
) -> (Server, f64) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let log = w.dir.path().join("history.log");
    let child = std::process::Command::new(webhook_bin())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--namespace", &format!("{},{history_ns}", w.ns())])
        .args(["--webhook-secret-file", w.secret_file().to_str().unwrap()])
        .args(["--github-api-url", &w.gh.url, "--identity", "history"])
        .args([
            "--resync-interval",
            "0",
            "--retry-pauses",
            "1,2",
            "--rollout-timeout",
            "60",
        ])
        .args([
            "--heartbeat",
            "10",
            "--claim-ttl",
            "30",
            "--verify-window",
            "5s",
        ])
        .env("RUST_LOG", "info")
        .envs(mosaic_tests::stack_vars())
        .env("KUBECONFIG", kubeconfig)
        .env("MOSAIC_DOCKER_HOST", &mosaic_tests::stack().docker_host)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start mosaic-webhook");
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
    };
    let started = std::time::Instant::now();
    let url = format!("{}/readyz", server.url);
    mosaic_tests::eventually("mosaic-webhook /readyz over the history", 600, || {
        let url = url.clone();
        async move {
            let r = reqwest::get(&url).await.ok()?;
            (r.status() == 200).then_some(())
        }
    })
    .await;
    (server, started.elapsed().as_secs_f64())
}

#[tokio::test]
#[ignore = "the history drill: minutes of API writes; run by hand (docs/reliability.md)"]
async fn history_drill() {
    let log = crate::audit::audit_log();
    let w = world(None, false).await;
    let builds = w.builds();
    // A namespace filled by an earlier run (`MOSAIC_HISTORY_NS`), or a new one filled now.
    let history_ns = match std::env::var("MOSAIC_HISTORY_NS") {
        Ok(ns) => ns,
        Err(_) => {
            let k = mosaic_tests::kube().await;
            fill(&k.client, &k.namespace, &w.reg.host).await;
            k.namespace.clone()
        }
    };
    let user = format!("system:serviceaccount:{}:mosaic-history", w.ns());
    let kc = crate::audit::impersonating(&w, &user, "history.kubeconfig");
    let (server, ready_after) = start_over_history(&w, &history_ns, &kc).await;
    let pid = server.child.id();
    eprintln!(
        "history drill: ready after {ready_after:.1} s, RSS {:.1} MiB",
        rss_mib(pid).0
    );
    // The history's Builds are cached once their list is done and the watch begins.
    let t0 = std::time::Instant::now();
    mosaic_tests::eventually("the watch of the history's Builds", 600, || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let watching = text.lines().any(|l| {
            l.contains(&user)
                && l.contains(r#""verb":"watch""#)
                && l.contains(r#""resource":"builds""#)
                && l.contains(&format!(r#""namespace":"{history_ns}""#))
        });
        async move { watching.then_some(()) }
    })
    .await;
    eprintln!(
        "history drill: the history's Builds cached {:.1} s after start, RSS {:.1} MiB",
        t0.elapsed().as_secs_f64() + ready_after,
        rss_mib(pid).0
    );
    // Idle: the watch caches hold every Build; give the controllers time to settle.
    let mut idle = (0.0, 0.0);
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        idle = rss_mib(pid);
    }
    eprintln!(
        "history drill: idle RSS {:.1} MiB (peak so far {:.1} MiB)",
        idle.0, idle.1
    );

    let _controller =
        deployment_controller(&w, Rollouts::SlowReady(std::time::Duration::from_secs(10)));
    let sha = w.commit("history: one rollout\n");
    let (s, j) = push(&server, &w, "d-history", &sha).await;
    assert_eq!(s, 201, "{j}");
    let name = build_name("web", &sha);
    let mut during: f64 = 0.0;
    let b = loop {
        let b = builds.get(&name).await.unwrap();
        let phase = b.status.as_ref().map(|s| s.phase).unwrap_or_default();
        if matches!(phase, BuildPhase::RollingOut | BuildPhase::Verifying) {
            during = during.max(rss_mib(pid).0);
        }
        if phase.is_terminal() {
            break b;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let peak = rss_mib(pid).1;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let to_chrono = |t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time| {
        chrono::DateTime::parse_from_rfc3339(&t.0.to_string())
            .unwrap()
            .to_utc()
    };
    let from =
        to_chrono(st.phase_times.rolling_out.as_ref().unwrap()) + chrono::Duration::seconds(1);
    let to = to_chrono(st.phase_times.finished.as_ref().unwrap());
    let secs = (to - from).num_milliseconds() as f64 / 1000.0;
    mosaic_tests::eventually("the audit log to pass the rollout's end", 30, || {
        let last = crate::rollout_reads::last_logged(&log);
        async move { (last >= to).then_some(()) }
    })
    .await;
    let counts = crate::rollout_reads::requests_between(&log, &user, from, to);
    let total: usize = counts.values().sum();
    let rate = total as f64 / secs;
    eprintln!(
        "history drill: rollout {secs:.1} s, {total} requests ({rate:.2}/s): {counts:?}; \
         RSS during the rollout {during:.1} MiB, peak {peak:.1} MiB"
    );
    assert!(peak < 128.0, "peak RSS {peak:.1} MiB");
    assert!(rate < 5.0, "{rate:.2} requests/s");
}
