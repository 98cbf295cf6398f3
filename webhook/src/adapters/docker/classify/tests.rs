//! Which engine errors are transient, refused or permanent, from the words dockerd writes.

use super::*;

#[test]
fn transient_engine_errors() {
    for m in [
        "received unexpected HTTP status: 500 Internal Server Error",
        "unknown: 503 Service Unavailable",
        "error parsing HTTP 502 response body",
        "status: 504",
    ] {
        assert!(names_a_5xx(m) || m.contains("HTTP 502"), "{m} names a 5xx");
    }
    for m in [
        "unauthorized: authentication required",
        "dial tcp 127.0.0.1:5000: connect: connection refused",
        "layer of 512 bytes",
        "sha256:500abc",
    ] {
        assert!(!names_a_5xx(m), "{m} names no 5xx");
    }
    let push = |m: &str| EngineError::Push {
        tag: "r/a:1".into(),
        message: m.into(),
    };
    assert_eq!(
        push("received unexpected HTTP status: 500 Internal Server Error").kind(),
        Kind::Transient
    );
    assert_eq!(
        push("unauthorized: authentication required").kind(),
        Kind::Refused
    );
    assert_eq!(
        EngineError::Unreachable("lost".into()).kind(),
        Kind::Transient
    );
    let read =
        |kind, m: &str| EngineError::Context(ContextError::Read(std::io::Error::new(kind, m)));
    let broke = read(crate::pipeline::ports::BROKE_OFF, "operation timed out").of_build();
    assert_eq!(
        (broke.kind, broke.reason),
        (Kind::Transient, BuildReason::SourceUnavailable)
    );
    assert_eq!(
        read(std::io::ErrorKind::InvalidInput, "corrupt deflate stream").kind(),
        Kind::Permanent,
        "bad data is not retried"
    );
    let step =
        EngineError::Build("The command '/bin/sh -c false' returned a non-zero code: 1".into());
    assert_eq!(step.kind(), Kind::Permanent);
    let lost = EngineError::Unreachable("lost".into()).of_push();
    assert_eq!(lost.reason, BuildReason::EngineUnavailable);
}

#[test]
fn refusals_are_named() {
    assert!(names_a_refusal("unauthorized: authentication required"));
    assert!(names_a_refusal(
        "denied: requested access to the resource is denied; Authentication Required"
    ));
    assert!(!names_a_refusal(
        "received unexpected HTTP status: 502 Bad Gateway"
    ));
}
