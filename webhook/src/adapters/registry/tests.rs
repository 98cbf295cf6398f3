//! Unit tests of registry.rs: which digest-check failures are retried. Credentials, hosts and
//! challenges are `mosaic_core::registry_auth`'s, tested there.

use super::*;

#[test]
fn only_transient_failures_are_retried() {
    let not_served = |status| RegistryError::NotServed {
        host: "h".into(),
        reference: "r".into(),
        status,
    };
    assert_eq!(not_served(500).kind(), Kind::Transient);
    assert_eq!(not_served(503).kind(), Kind::Transient);
    assert_eq!(not_served(429).kind(), Kind::Transient);
    assert_eq!(not_served(404).kind(), Kind::Permanent);
    let unreachable = RegistryError::Unreachable {
        host: "h".into(),
        message: "connection refused".into(),
    };
    assert_eq!(unreachable.kind(), Kind::Transient);
    let refused = RegistryError::Unauthorized {
        host: "h".into(),
        reference: "r".into(),
        status: 401,
    };
    assert_eq!(refused.kind(), Kind::Refused);
    let gave_up = RegistryError::GaveUp {
        attempts: 4,
        last: Box::new(not_served(500)),
    };
    assert_eq!(
        gave_up.to_string(),
        "registry h does not serve r (HTTP 500) (gave up after 4 attempts)"
    );
    let port = gave_up.port();
    assert_eq!(
        (port.kind, port.reason),
        (Kind::Transient, BuildReason::DigestNotServed)
    );
}
