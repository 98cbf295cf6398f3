//! Hostile HTTP against the real `mosaic-webhook` binary, over raw TCP so nothing is cleaned
//! up by a client library: headers too large or too many (431), a chunked body past the 25 MiB
//! cap (413), and slowloris-style slow bodies and headers, which must be cut off by the server's
//! timeouts while good deliveries keep being answered promptly.

use std::time::{Duration, Instant};

use mosaic_tests::webhook::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_string()
}

/// Write `request`, then read until the server closes or `limit` passes. Returns the status
/// code of the first response (0 when none came) and the whole response as text. Write errors
/// are expected (the server may refuse before reading everything) and ignored.
async fn raw(server: &Server, request: &[u8], limit: Duration) -> (u16, String) {
    let mut s = TcpStream::connect(addr(server)).await.expect("connect");
    let _ = s.write_all(request).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut buf)).await;
    (status_of(&buf), String::from_utf8_lossy(&buf).into_owned())
}

/// The intake's answers are one line of JSON with an `error` that says what to do.
fn assert_json_error(response: &str, what: &str) {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(body.trim())
        .unwrap_or_else(|e| panic!("{what}: the answer is not JSON ({e}): {response:?}"));
    assert!(
        v["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: no error line in {v}"
    );
}

fn status_of(response: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(response);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

const HEAD: &str = "POST /webhooks/github HTTP/1.1\r\nHost: mosaic\r\nx-github-event: push\r\n";

async fn no_builds(w: &World) {
    let n = w
        .builds()
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(n, 0, "no Build recorded");
}

#[tokio::test]
async fn oversized_headers_and_bodies_are_refused() {
    let w = world(None, true).await;
    let server = start(&w, "hostile-size", &[]).await;
    let limit = Duration::from_secs(10);

    let big = format!(
        "{HEAD}x-big: {}\r\ncontent-length: 0\r\n\r\n",
        "a".repeat(1 << 20)
    );
    assert_eq!(
        raw(&server, big.as_bytes(), limit).await.0,
        431,
        "a 1 MiB header"
    );

    let many: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
    let many = format!("{HEAD}{many}content-length: 0\r\n\r\n");
    assert_eq!(
        raw(&server, many.as_bytes(), limit).await.0,
        431,
        "200 headers"
    );

    // Chunked, so no Content-Length announces the size: the cap applies while reading.
    let chunk = format!("100000\r\n{}\r\n", "a".repeat(0x10_0000));
    // A well-formed signature: an unsigned body would be refused (401) before it is read.
    let mut chunked = format!(
        "{HEAD}x-hub-signature-256: sha256={}\r\ntransfer-encoding: chunked\r\n\r\n",
        "0".repeat(64)
    )
    .into_bytes();
    for _ in 0..30 {
        chunked.extend_from_slice(chunk.as_bytes());
    }
    let (status, answer) = raw(&server, &chunked, limit).await;
    assert_eq!(status, 413, "30 MiB chunked body");
    assert_json_error(&answer, "30 MiB chunked body");

    // An announced size over the cap is refused before any body byte is sent: without the
    // early check the server would wait for the body and answer 408 at the deadline.
    let announced = format!("{HEAD}content-length: {}\r\n\r\n", 26 << 20);
    let (status, answer) = raw(&server, announced.as_bytes(), limit).await;
    assert_eq!(
        status, 413,
        "Content-Length of 26 MiB, no body sent: {answer}"
    );
    assert_json_error(&answer, "announced 26 MiB");
    no_builds(&w).await;
}

#[tokio::test]
async fn slow_bodies_time_out_and_do_not_starve_good_deliveries() {
    let w = world(None, true).await;
    let server = start(&w, "hostile-slow", &["--request-timeout", "2"]).await;
    let sha = w.commit("slow\n");
    let body = push_body(&w.repo, &sha);
    let sig = sign(WEBHOOK_SECRET.as_bytes(), &body);
    let head = format!(
        "{HEAD}x-hub-signature-256: {sig}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );

    // 50 connections that send a valid head, then one body byte every 500 ms.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let (a, head, body) = (addr(&server), head.clone(), body.clone());
        slow.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let mut s = TcpStream::connect(a).await.expect("connect");
            s.write_all(head.as_bytes()).await.expect("head");
            let (mut rd, mut wr) = s.into_split();
            let drip = tokio::spawn(async move {
                for b in body {
                    if wr.write_all(&[b]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            });
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut buf)).await;
            drip.abort();
            (
                status_of(&buf),
                t0.elapsed(),
                String::from_utf8_lossy(&buf).into_owned(),
            )
        }));
    }
    // Meanwhile a good delivery is answered at once.
    let t0 = Instant::now();
    let (status, j) = deliver(&server, "ping", "d-ping", b"{}", WEBHOOK_SECRET).await;
    assert_eq!(status, 200, "{j}");
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "ping took {:?}",
        t0.elapsed()
    );

    for h in slow {
        let (status, took, answer) = h.await.unwrap();
        assert_eq!(status, 408, "a slow body gets 408 Request Timeout");
        assert_json_error(&answer, "slow body");
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
            "cut off after the 2 s request timeout, took {took:?}"
        );
    }
    no_builds(&w).await;
}

/// A client that drips header lines (never finishing the head) is disconnected once the
/// header-read timeout (the request timeout) passes. This was an open finding of the first
/// drill run: `axum::serve` set no timer, so such connections stayed open indefinitely.
#[tokio::test]
async fn slow_headers_are_cut_off() {
    let w = world(None, true).await;
    let server = start(&w, "hostile-slowhead", &["--request-timeout", "2"]).await;
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr(&server)).await.expect("connect");
    s.write_all(HEAD.as_bytes()).await.expect("request line");
    let mut closed = false;
    for i in 0..60 {
        if s.write_all(format!("x-drip-{i}: v\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        let mut b = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(500), s.read(&mut b)).await {
            Ok(Ok(_)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "connection still open after {:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
}
