//! Unit tests of registry_auth: every case either adapter handled before they shared it.

use super::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn docker_hub_has_one_name() {
    for alias in [
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
        "https://index.docker.io/v1/",
        "http://registry-1.docker.io",
        "Docker.IO",
    ] {
        assert_eq!(canonical_host(alias), "docker.io", "{alias}");
    }
    assert_eq!(canonical_host("https://ghcr.io/v2/"), "ghcr.io");
    assert_eq!(canonical_host("127.0.0.1:5000"), "127.0.0.1:5000");
    assert_eq!(canonical_host("[::1]:5000"), "[::1]:5000");
}

#[test]
fn loopback_with_and_without_port_is_plain_http() {
    for h in [
        "localhost",
        "localhost:5000",
        "127.0.0.1",
        "127.0.0.1:5000",
        "[::1]",
        "[::1]:5000",
    ] {
        assert!(is_loopback(h), "{h}");
        assert!(api_base(h, &[]).starts_with("http://"), "{h}");
    }
    for h in [
        "ghcr.io",
        "[2001:db8::1]:5000",
        "registry.local:5000",
        "localhost.example.com",
    ] {
        assert!(!is_loopback(h), "{h}");
    }
    let listed = ["registry.kube-system.svc:5000".to_string()];
    assert!(plain_http("registry.kube-system.svc:5000", &listed));
    assert!(!plain_http("registry.kube-system.svc:5001", &listed));
    assert!(!plain_http("ghcr.io", &listed));
}

#[test]
fn api_base_per_host() {
    assert_eq!(api_base("127.0.0.1:5000", &[]), "http://127.0.0.1:5000");
    assert_eq!(api_base("localhost:1", &[]), "http://localhost:1");
    assert_eq!(api_base("[::1]:5000", &[]), "http://[::1]:5000");
    assert_eq!(api_base("docker.io", &[]), "https://registry-1.docker.io");
    assert_eq!(
        api_base("index.docker.io", &[]),
        "https://registry-1.docker.io"
    );
    assert_eq!(api_base("ghcr.io", &[]), "https://ghcr.io");
    let listed = ["registry.kube-system.svc:5000".to_string()];
    assert_eq!(
        api_base("registry.kube-system.svc:5000", &listed),
        "http://registry.kube-system.svc:5000"
    );
}

#[test]
fn official_images_live_under_library() {
    let path = |s: &str| repository_path(&ImageRef::parse(s).unwrap());
    assert_eq!(path("nginx:1"), "library/nginx");
    assert_eq!(path("docker.io/nginx"), "library/nginx");
    assert_eq!(path("acme/api"), "acme/api");
    assert_eq!(path("ghcr.io/a/b"), "a/b");
    assert_eq!(path("127.0.0.1:5000/app"), "app");
}

#[test]
fn credentials_by_any_spelling_of_the_host() {
    let cfg = serde_json::json!({"auths": {
        "127.0.0.1:5000": {"auth": b64("u:p:with:colons")},
        "https://index.docker.io/v1/": {"username": "hub", "password": "hp"},
        "[::1]:5000": {"auth": b64("six:pw")},
        "ghcr.io": {"auth": "!!!"},
        "quay.io": {},
    }})
    .to_string();
    let a = credentials_for(cfg.as_bytes(), "127.0.0.1:5000").unwrap();
    assert_eq!(
        (a.host.as_str(), a.username.as_str(), a.password.as_str()),
        ("127.0.0.1:5000", "u", "p:with:colons")
    );
    for hub in [
        "docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
    ] {
        assert_eq!(
            credentials_for(cfg.as_bytes(), hub).unwrap().username,
            "hub"
        );
    }
    assert_eq!(
        credentials_for(cfg.as_bytes(), "[::1]:5000")
            .unwrap()
            .username,
        "six"
    );
    assert!(
        !format!("{a:?}").contains("with:colons"),
        "Debug hides the password"
    );
}

#[test]
fn defects_are_named_without_the_secret() {
    let cfg = serde_json::json!({"auths": {
        "ghcr.io": {"auth": "!!!"},
        "quay.io": {"username": "only"},
        "r.example.com": {"auth": b64("no-colon")},
    }})
    .to_string();
    let err = |host| credentials_for(cfg.as_bytes(), host).unwrap_err();
    assert_eq!(
        err("nowhere.io"),
        CredentialsError::NoCredentials("nowhere.io".into())
    );
    assert!(matches!(err("ghcr.io"), CredentialsError::BadConfig(m) if m.contains("not base64")));
    assert!(matches!(err("quay.io"), CredentialsError::BadConfig(m) if m.contains("neither")));
    assert!(
        matches!(err("r.example.com"), CredentialsError::BadConfig(m) if m.contains("user:password") && !m.contains("no-colon"))
    );
    assert!(matches!(
        credentials_for(b"not json", "x"),
        Err(CredentialsError::BadConfig(_))
    ));
    assert_eq!(
        credentials_for(b"{}", "x"),
        Err(CredentialsError::NoCredentials("x".into()))
    );
}

#[test]
fn of_two_keys_for_one_host_the_usable_one_wins() {
    let cfg = serde_json::json!({"auths": {
        "docker.io": {"auth": "!!!"},
        "https://index.docker.io/v1/": {"auth": b64("a:b")},
        "index.docker.io": {"auth": b64("c:d")},
    }})
    .to_string();
    let c = DockerConfig::parse(cfg.as_bytes()).unwrap();
    assert_eq!(c.credentials_for("docker.io").unwrap().username, "a");
}

#[test]
fn basic_authorization_header() {
    let a = RegistryAuth {
        host: "h".into(),
        username: "u".into(),
        password: "p".into(),
    };
    assert_eq!(a.basic_authorization(), "Basic dTpw");
}

#[test]
fn bearer_challenges_with_quoted_and_bare_values() {
    assert_eq!(
        Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#
        ),
        Some(Challenge::Bearer {
            realm: "https://auth.docker.io/token".into(),
            service: Some("registry.docker.io".into()),
            scope: Some("repository:library/nginx:pull".into()),
        })
    );
    // A scope with several actions holds a comma inside its quotes.
    let c = Challenge::parse(
        r#"bearer Realm="https://r.io/token", scope="repository:a/b:pull,push", service=reg"#,
    )
    .unwrap();
    assert_eq!(
        c,
        Challenge::Bearer {
            realm: "https://r.io/token".into(),
            service: Some("reg".into()),
            scope: Some("repository:a/b:pull,push".into()),
        }
    );
    assert_eq!(
        c.token_query(),
        vec![("service", "reg"), ("scope", "repository:a/b:pull,push")]
    );
    let escaped = Challenge::parse(r#"Bearer realm="https://r.io/t?a=\"b\"""#).unwrap();
    assert!(
        matches!(escaped, Challenge::Bearer { realm, service: None, scope: None } if realm == r#"https://r.io/t?a="b""#)
    );
    assert_eq!(
        Challenge::parse(r#"Bearer realm=https://r.io/token,error="insufficient_scope""#)
            .unwrap()
            .token_query(),
        Vec::<(&str, &str)>::new()
    );
}

#[test]
fn other_challenges() {
    assert_eq!(
        Challenge::parse(r#"Basic realm="Registry Realm""#),
        Some(Challenge::Basic)
    );
    assert_eq!(Challenge::parse("Negotiate"), None);
    assert_eq!(Challenge::parse(""), None);
    assert_eq!(Challenge::parse(r#"Bearer service="reg""#), None);
    assert!(Challenge::Basic.token_query().is_empty());
}

#[test]
fn tokens_from_either_field() {
    assert_eq!(
        token_from_response(br#"{"token": "t", "access_token": "t", "expires_in": 300}"#)
            .as_deref(),
        Some("t")
    );
    assert_eq!(
        token_from_response(br#"{"access_token": "a"}"#).as_deref(),
        Some("a")
    );
    assert_eq!(token_from_response(br#"{"token": ""}"#), None);
    assert_eq!(token_from_response(b"<html>"), None);
}

#[test]
fn accept_lists_indexes_and_manifests_of_both_kinds() {
    for t in [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ] {
        assert_eq!(MANIFEST_ACCEPT.matches(t).count(), 1, "{t}");
    }
    assert!(!MANIFEST_ACCEPT.contains("  "));
}

#[test]
fn a_malformed_document_is_described_without_quoting_it() {
    let pw = "Leak-pw-7Hq2";
    let docs = [
        // Not JSON, cut short, with a password before the cut.
        format!(r#"{{"auths": {{"r.example": {{"username": "u", "password": "{pw}""#),
        format!(r#"{{"auths": {{"r.example": {{"password": "{pw}" "username": 1}}}}}}"#),
        // Wrong types, each quoting the value in serde's own message.
        format!(r#"{{"auths": "{pw}"}}"#),
        format!(r#"{{"auths": {{"r.example": "{pw}"}}}}"#),
        format!(r#"{{"auths": {{"r.example": {{"username": "u", "password": ["{pw}"]}}}}}}"#),
        r#"{"auths": {"r.example": {"username": "u", "password": 7391028475}}}"#.to_string(),
        format!(r#"{{"auths": {{"r.example": {{"auth": {{"{pw}": true}}}}}}}}"#),
        format!(r#"["{pw}"]"#),
        format!("{pw}\n"),
    ];
    for doc in &docs {
        let e = credentials_for(doc.as_bytes(), "r.example").expect_err(doc);
        let text = e.to_string();
        assert!(matches!(e, CredentialsError::BadConfig(_)), "{doc}: {text}");
        assert!(!text.contains(pw), "{doc}: {text}");
        assert!(!text.contains("7391028475"), "{doc}: {text}");
        assert!(text.contains("line 1, column"), "{doc}: {text}");
    }
    // Bad base64, or base64 of no `user:password`: named by host, never shown.
    for auth in [format!("{pw}!!"), b64(pw)] {
        let doc = format!(r#"{{"auths": {{"r.example": {{"auth": "{auth}"}}}}}}"#);
        let text = credentials_for(doc.as_bytes(), "r.example")
            .expect_err(&doc)
            .to_string();
        assert!(text.contains("auth for r.example is not"), "{text}");
        assert!(!text.contains(pw) && !text.contains(&auth), "{text}");
    }
}

#[test]
fn loopback_means_this_machine_by_address() {
    for h in [
        "127.0.0.1",
        "127.1.2.3:5000",
        "[::1]:5000",
        "LOCALHOST",
        "[0:0:0:0:0:0:0:1]",
    ] {
        assert!(is_loopback(h), "{h}");
    }
    for h in [
        "127.0.0.1.example.com",
        "127.evil.io:5000",
        "[::2]",
        "128.0.0.1",
    ] {
        assert!(!is_loopback(h), "{h}");
    }
}

#[test]
fn a_token_realm_must_be_https_except_on_loopback() {
    for (scheme, host) in [
        ("https", "auth.example.com"),
        ("HTTPS", "10.0.0.1"),
        ("http", "localhost"),
        ("http", "127.0.0.1"),
        ("http", "127.9.9.9"),
        ("http", "[::1]"),
    ] {
        assert_eq!(check_realm(scheme, Some(host)), Ok(()), "{scheme}://{host}");
    }
    for (scheme, host) in [
        ("http", Some("auth.example.com")),
        ("http", Some("10.0.0.1")),
        ("http", Some("127.0.0.1.example.com")),
        ("http", Some("[::2]")),
        ("http", Some("169.254.169.254")),
        ("ftp", Some("auth.example.com")),
        ("file", None),
        ("https", None),
    ] {
        let why = check_realm(scheme, host).expect_err(scheme);
        assert!(why.contains("https"), "{why}");
        assert!(why.contains(host.unwrap_or("")), "{why}");
    }
}
