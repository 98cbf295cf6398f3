//! Unit tests of the engine adapter's error handling: which end's error explains a failed
//! build, and an engine that goes away mid-build or mid-push (a socket that hangs up).

use std::io;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncReadExt;
use tokio::net::UnixListener;

use super::build::build_outcome;
use super::build_log::Failure;
use super::*;
use crate::pipeline::context::{ContextError, ContextSummary};
use crate::pipeline::ports::LogTail;
use crate::pipeline::test_world::{SHA, job};
use mosaic_core::BuildReason;

fn write_error() -> ContextError {
    ContextError::Write(io::Error::new(
        io::ErrorKind::BrokenPipe,
        "build engine stopped reading",
    ))
}

#[test]
fn a_lost_engine_explains_a_closed_context_stream() {
    let lost = || Some(Failure::Lost("error reading a body from connection".into()));
    let r = build_outcome(Err(write_error()), lost());
    assert!(
        matches!(&r, Err(e @ EngineError::Unreachable(m))
            if m == "connection to the Docker engine lost: error reading a body from connection"
                && e.reason(BuildReason::BuildFailed) == "EngineUnavailable"),
        "{r:?}"
    );
    let r = build_outcome(Ok(ContextSummary::default()), lost());
    assert!(matches!(r, Err(EngineError::Unreachable(_))), "{r:?}");
    // The engine's own error explains a closed stream; a real context error wins over it.
    let reported = || Some(Failure::Reported("unknown instruction: FORM".into()));
    let r = build_outcome(Err(write_error()), reported());
    assert!(
        matches!(&r, Err(EngineError::Build(l)) if l.contains("FORM")),
        "{r:?}"
    );
    let mismatch = ContextError::CommitMismatch {
        expected: "a".into(),
        found: "b".into(),
    };
    let r = build_outcome(Err(mismatch), lost());
    assert!(
        matches!(&r, Err(e @ EngineError::Context(ContextError::CommitMismatch { .. }))
            if e.reason(BuildReason::BuildFailed) == "BuildFailed"),
        "{r:?}"
    );
    assert!(build_outcome(Ok(ContextSummary::default()), None).is_ok());
    let stalled = EngineError::Context(ContextError::Read(io::Error::new(
        crate::pipeline::ports::BROKE_OFF,
        "Hyper Error: error reading a body from connection: operation timed out",
    )));
    assert_eq!(
        stalled.reason(BuildReason::BuildFailed),
        "SourceUnavailable"
    );
    let corrupt = EngineError::Context(ContextError::Read(io::Error::new(
        io::ErrorKind::InvalidInput,
        "corrupt deflate stream",
    )));
    assert_eq!(corrupt.reason(BuildReason::BuildFailed), "BuildFailed");
}

/// A gzip tarball shaped like GitHub's for `SHA`, with a Dockerfile and `size` bytes that do
/// not compress (so the context stream outlasts every buffer on the way).
fn big_tarball(size: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let rec = format!("52 comment={SHA}\n");
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XGlobalHeader);
    h.set_size(rec.len() as u64);
    h.set_path("pax_global_header").unwrap();
    h.set_cksum();
    b.append(&h, rec.as_bytes()).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for (path, data) in [
        ("o-r-0123456/Dockerfile", &b"FROM scratch\n"[..]),
        ("o-r-0123456/blob", &noise),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// An "engine" on a Unix socket that reads `read` bytes of the first request, then hangs up.
async fn hangs_up_after(read: usize) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker.sock");
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut seen = 0;
            let mut buf = vec![0; 16 * 1024];
            while seen < read {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen += n,
                }
            }
            drop(conn);
        }
    });
    let docker =
        Docker::connect_with_unix(path.to_str().unwrap(), 30, bollard::API_DEFAULT_VERSION)
            .unwrap();
    let engine = Engine {
        docker,
        host: format!("unix://{}", path.display()),
        builder: Builder::Classic,
        push_timeout: DEFAULT_PUSH_TIMEOUT,
        syntax_frontends: Vec::new(),
    };
    (dir, engine)
}

#[tokio::test]
async fn a_push_that_stalls_ends_at_the_push_timeout_as_an_unavailable_engine() {
    // An engine (or a registry behind it) that takes the request and then says nothing.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stall.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let docker =
        Docker::connect_with_unix(path.to_str().unwrap(), 30, bollard::API_DEFAULT_VERSION)
            .unwrap();
    let engine = Engine {
        docker,
        host: format!("unix://{}", path.display()),
        builder: Builder::Classic,
        push_timeout: DEFAULT_PUSH_TIMEOUT,
        syntax_frontends: Vec::new(),
    }
    .with_push_timeout(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let e = engine.push("r.example/web", "abc", None).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(matches!(e, EngineError::Unreachable(_)), "{e:?}");
    assert!(e.to_string().contains("--push-timeout"), "{e}");
    assert_eq!(e.reason(BuildReason::PushFailed), "EngineUnavailable");
}

#[tokio::test]
async fn an_engine_that_goes_away_mid_build_is_unreachable_not_a_source_problem() {
    let (_dir, engine) = hangs_up_after(256 * 1024).await;
    let tgz = Bytes::from(big_tarball(8 << 20));
    let chunks: Vec<Result<Bytes, io::Error>> = tgz
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let job = job();
    let mut tail = LogTail::default();
    let r = engine
        .build(
            futures::stream::iter(chunks).boxed(),
            &job.plan,
            SHA,
            None,
            &mut tail,
        )
        .await;
    match r {
        Err(e @ EngineError::Unreachable(_)) => {
            let m = e.to_string();
            assert!(
                m.starts_with("connection to the Docker engine lost: "),
                "{m}"
            );
            assert_eq!(e.reason(BuildReason::BuildFailed), "EngineUnavailable");
        }
        other => panic!("expected the engine to be unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn an_engine_that_goes_away_mid_push_is_unreachable() {
    let (_dir, engine) = hangs_up_after(1).await;
    let r = engine
        .push("127.0.0.1:5000/team/web", "0123456789ab", None)
        .await;
    match r {
        Err(e @ EngineError::Unreachable(_)) => {
            assert!(
                e.to_string()
                    .starts_with("connection to the Docker engine lost: "),
                "{e}"
            );
            assert_eq!(e.reason(BuildReason::PushFailed), "EngineUnavailable");
        }
        other => panic!("expected the engine to be unreachable, got {other:?}"),
    }
}
