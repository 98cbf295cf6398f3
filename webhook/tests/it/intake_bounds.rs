//! The intake's memory bound on the real stack: 50 parallel 24 MiB bodies that are not validly
//! signed (half carry no signature, half a well-formed wrong one) against an intake-only
//! replica with its default bounds (64 deliveries, 64 MiB of bodies at once). Every one is
//! answered 401 (the unsigned ones before their body is read, the wrongly signed ones as their
//! body ends), 503 with Retry-After (the byte bound), or 408 (an admitted body that did not
//! arrive within the request deadline while 1.2 GB is being sent at once); the replica's peak
//! RSS stays under the memory limit the manifests give the intake, and a signed push right
//! after is recorded.

use std::time::Instant;

use mosaic_tests::webhook::*;

const MIB: usize = 1024 * 1024;

/// The peak resident set of process `pid` so far, in MiB (`VmHWM`).
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM");
    kb / 1024
}

#[tokio::test]
async fn large_unsigned_bodies_get_401_or_503_within_the_memory_limit_and_signed_pushes_still_record()
 {
    let w = world(None, true).await;
    let intake = start(&w, "bounds", &["--concurrency", "0"]).await;
    let pid = intake.child.id();
    let idle = peak_rss_mib(pid);

    let body = bytes::Bytes::from(vec![b'{'; 24 * MIB]);
    let http = reqwest::Client::new();
    let started = Instant::now();
    let answers = futures::future::join_all((0..50).map(|i| {
        let http = http.clone();
        let body = body.clone();
        let url = format!("{}/webhooks/github", intake.url);
        async move {
            let mut req = http
                .post(url)
                .header("content-type", "application/json")
                .header("x-github-event", "push")
                .header("x-github-delivery", format!("storm-{i}"));
            if i % 2 == 1 {
                req = req.header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)));
            }
            match req.body(body).send().await {
                Ok(r) => {
                    let retry = r.headers().get("retry-after").is_some();
                    (Some(r.status().as_u16()), retry)
                }
                Err(_) => (None, false),
            }
        }
    }))
    .await;
    let took = started.elapsed();
    let peak = peak_rss_mib(pid);
    let limit = mosaic_core::install_pods::intake_memory_limit_mib();
    eprintln!(
        "50 x 24 MiB unsigned: {took:?}; intake RSS idle {idle} MiB, peak {peak} MiB (manifest limit {limit} MiB); answers {answers:?}"
    );
    let count = |code: u16| answers.iter().filter(|(s, _)| *s == Some(code)).count();
    assert_eq!(
        count(401) + count(503) + count(408),
        50,
        "every body answered 401, 503 or 408: {answers:?}"
    );
    assert!(count(401) >= 25, "the unsigned ones at once: {answers:?}");
    assert!(count(503) >= 1, "the byte bound was reached: {answers:?}");
    assert!(
        answers
            .iter()
            .filter(|(s, _)| *s == Some(503))
            .all(|(_, retry)| *retry),
        "every 503 says when to retry"
    );
    assert!(
        peak < limit,
        "peak RSS {peak} MiB is not under the intake's memory limit {limit} MiB"
    );

    // The intake still records a signed push.
    let sha = w.commit("after the storm\n");
    let (status, body) = push(&intake, &w, "after", &sha).await;
    assert_eq!(status, 201, "{body}");
    assert!(intake.log.exists());
}
