//! Bounded reads during a rollout (issue 13): a builder watching one rollout asks the API
//! server for little. Siblings come from the Build watch cache, the Deployment from its watch,
//! pods are read on a change or every few seconds (only the new ReplicaSet's, once known), and
//! the diagnosis of a failure reads only the Events of the objects involved. Counted from the
//! stack API server's audit log: every request the builder made while its Build was rolling
//! out, per second of that rollout. Goal: fewer than 5 per second.

use std::collections::BTreeMap;

use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;

/// The builder's requests (by verb and resource) received between `from` and `to`.
pub(crate) fn requests_between(
    log: &std::path::Path,
    user: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if e["impersonatedUser"]["username"].as_str() != Some(user) {
            continue;
        }
        let Some(at) = e["requestReceivedTimestamp"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        else {
            continue;
        };
        let at = at.to_utc();
        if at < from || at > to {
            continue;
        }
        let o = &e["objectRef"];
        let what = format!(
            "{} {}{}",
            e["verb"].as_str().unwrap_or_default(),
            o["resource"].as_str().unwrap_or("(other)"),
            o["subresource"]
                .as_str()
                .map(|s| format!("/{s}"))
                .unwrap_or_default()
        );
        seen.insert(e["auditID"].as_str().unwrap_or_default().to_string(), what);
    }
    let mut counts = BTreeMap::new();
    for what in seen.into_values() {
        *counts.entry(what).or_default() += 1;
    }
    counts
}

/// When the newest request in the log was received.
pub(crate) fn last_logged(log: &std::path::Path) -> chrono::DateTime<chrono::Utc> {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|e| {
            chrono::DateTime::parse_from_rfc3339(e["requestReceivedTimestamp"].as_str()?).ok()
        })
        .map(|t| t.to_utc())
        .next()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_rolling_build_asks_the_api_server_fewer_than_5_times_a_second() {
    let log = crate::audit::audit_log();
    let w = world(None, false).await;
    let user = format!("system:serviceaccount:{}:mosaic-builder-reads", w.ns());
    let kc = crate::audit::impersonating(&w, &user, "reads.kubeconfig");
    // The heartbeat as installed (not the tests' 1 s), so what is counted is the watching.
    let server = start_with(
        &w,
        "reads",
        &[
            "--heartbeat",
            "10",
            "--claim-ttl",
            "30",
            "--verify-window",
            "5s",
        ],
        &kc,
    )
    .await;
    let _controller =
        deployment_controller(&w, Rollouts::SlowReady(std::time::Duration::from_secs(10)));
    let sha = w.commit("reads: one rollout\n");
    let (s, j) = push(&server, &w, "d-reads", &sha).await;
    assert_eq!(s, 201, "{j}");
    let b = terminal(&w, &build_name("web", &sha), 180).await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let to_chrono = |t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time| {
        chrono::DateTime::parse_from_rfc3339(&t.0.to_string())
            .unwrap()
            .to_utc()
    };
    // Whole seconds: the second the rollout was announced in also holds the checks before it.
    let from =
        to_chrono(st.phase_times.rolling_out.as_ref().unwrap()) + chrono::Duration::seconds(1);
    let to = to_chrono(st.phase_times.finished.as_ref().unwrap());
    let secs = (to - from).num_milliseconds() as f64 / 1000.0;
    assert!(secs >= 10.0, "the rollout lasted {secs} s");
    // The audit log is written asynchronously: wait until it holds a request after the end.
    mosaic_tests::eventually("the audit log to pass the rollout's end", 30, || {
        let last = last_logged(&log);
        async move { (last >= to).then_some(()) }
    })
    .await;
    let counts = requests_between(&log, &user, from, to);
    let total: usize = counts.values().sum();
    let rate = total as f64 / secs;
    eprintln!("rollout of {secs:.1} s: {total} requests, {rate:.2}/s: {counts:?}");
    assert!(
        rate < 5.0,
        "{total} requests in {secs:.1} s ({rate:.2}/s): {counts:?}"
    );
    // The guarded apply lists them once (twice after a conflict); watching never does.
    assert!(
        counts.get("list builds").copied().unwrap_or(0) <= 2,
        "siblings come from the watch cache: {counts:?}"
    );
}
