//! Unit tests of registry.rs: credentials picked by host, which digest-check failures are
//! retried, and the API base and auth challenges.

use super::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn picks_credentials_by_host() {
    let cfg = serde_json::json!({"auths": {
        "127.0.0.1:5000": {"auth": b64("u:p:with:colons")},
        "https://index.docker.io/v1/": {"username": "hub", "password": "hp"},
        "ghcr.io": {"auth": "!!!"},
    }})
    .to_string();
    let a = credentials_for(cfg.as_bytes(), "127.0.0.1:5000").unwrap();
    assert_eq!(
        (a.username.as_str(), a.password.as_str()),
        ("u", "p:with:colons")
    );
    assert_eq!(
        credentials_for(cfg.as_bytes(), "docker.io")
            .unwrap()
            .username,
        "hub"
    );
    assert!(
        matches!(credentials_for(cfg.as_bytes(), "quay.io"), Err(RegistryError::NoCredentials(h)) if h == "quay.io")
    );
    assert!(matches!(
        credentials_for(cfg.as_bytes(), "ghcr.io"),
        Err(RegistryError::BadConfig(_))
    ));
    assert!(matches!(
        credentials_for(b"not json", "x"),
        Err(RegistryError::BadConfig(_))
    ));
    assert!(
        !format!("{a:?}").contains("with:colons"),
        "Debug hides the password"
    );
}

#[test]
fn only_transient_failures_are_retried() {
    let not_served = |status| RegistryError::NotServed {
        host: "h".into(),
        reference: "r".into(),
        status,
    };
    assert!(transient(&not_served(500)));
    assert!(transient(&not_served(503)));
    assert!(transient(&not_served(429)));
    assert!(!transient(&not_served(404)));
    assert!(transient(&RegistryError::Unreachable {
        host: "h".into(),
        message: "connection refused".into()
    }));
    assert!(!transient(&RegistryError::Unauthorized {
        host: "h".into(),
        reference: "r".into(),
        status: 401
    }));
    let gave_up = RegistryError::GaveUp {
        attempts: 4,
        last: Box::new(not_served(500)),
    };
    assert_eq!(
        gave_up.to_string(),
        "registry h does not serve r (HTTP 500) (gave up after 4 attempts)"
    );
}

#[test]
fn api_base_and_challenges() {
    assert_eq!(api_base("127.0.0.1:5000", &[]), "http://127.0.0.1:5000");
    assert_eq!(api_base("localhost:1", &[]), "http://localhost:1");
    assert_eq!(api_base("docker.io", &[]), "https://registry-1.docker.io");
    assert_eq!(api_base("ghcr.io", &[]), "https://ghcr.io");
    let plain = ["registry.kube-system.svc:5000".to_string()];
    assert_eq!(
        api_base("registry.kube-system.svc:5000", &plain),
        "http://registry.kube-system.svc:5000"
    );
    assert_eq!(api_base("ghcr.io", &plain), "https://ghcr.io");
    let p = bearer_params(
        r#"Bearer realm="https://auth.io/token",service="reg",scope="repository:a/b:pull""#,
    )
    .unwrap();
    assert_eq!(p[0], ("realm".into(), "https://auth.io/token".into()));
    assert_eq!(p.len(), 3);
    assert!(bearer_params("Basic realm=x").is_none());
}
