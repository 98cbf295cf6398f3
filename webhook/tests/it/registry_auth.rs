//! Real-stack test of the registry credential check the push stage asks when the engine says a
//! push was refused (`registry::accepts`): the stack's registry, with htpasswd auth, accepts
//! its own credentials and refuses a wrong password.

use mosaic_webhook::registry::{RegistryAuth, accepts};

#[tokio::test]
async fn the_registry_accepts_its_credentials_and_refuses_a_wrong_password() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = mosaic_tests::registry();
    let http = reqwest::Client::new();
    let mut auth = RegistryAuth {
        host: r.host.clone(),
        username: r.user.clone(),
        password: r.password.clone(),
    };
    assert!(
        accepts(&http, &[], &auth, &r.host)
            .await
            .expect("the registry answers"),
        "the stack's credentials are accepted"
    );
    auth.password.push_str("-wrong");
    assert!(
        !accepts(&http, &[], &auth, &r.host)
            .await
            .expect("the registry answers"),
        "a wrong password is refused"
    );
}

/// `--insecure-registry` reaches the digest and credential checks: a registry named by a
/// non-loopback host (here resolved to the stack's registry, as cluster DNS would resolve
/// `registry.kube-system.svc`) is reached over plain HTTP only when listed.
#[tokio::test]
async fn a_listed_registry_is_reached_over_plain_http() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = mosaic_tests::registry();
    let port = r.host.rsplit_once(':').expect("host:port").1;
    let name = "registry.kube-system.svc";
    let host = format!("{name}:{port}");
    let addr: std::net::SocketAddr = r.host.parse().expect("ip:port");
    let http = reqwest::Client::builder()
        .resolve(name, addr)
        .build()
        .unwrap();
    let auth = RegistryAuth {
        host: host.clone(),
        username: r.user.clone(),
        password: r.password.clone(),
    };
    let plain = [host.clone()];
    assert!(
        accepts(&http, &plain, &auth, &host)
            .await
            .expect("the registry answers over plain HTTP"),
        "listed: plain HTTP"
    );
    let e = accepts(&http, &[], &auth, &host)
        .await
        .expect_err("HTTPS to a plain-HTTP registry fails");
    assert!(e.to_string().contains(&host), "{e}");
}

/// A registry on loopback whose `/v2/` answers 401 with a `Bearer` challenge naming
/// `realm(port)`, whose `/token` gives a token, and whose `/v2/` accepts that token. Returns its
/// host and how many token requests it answered.
async fn challenging_registry(
    realm: impl Fn(u16) -> String + Send + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tokens = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = tokens.clone();
    let challenge = format!("Bearer realm=\"{}\",service=\"test\"", realm(port));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (challenge, counted) = (challenge.clone(), counted.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let answer = if req.starts_with("GET /token") {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let body = r#"{"token":"t0k"}"#;
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else if req
                    .to_ascii_lowercase()
                    .contains("authorization: bearer t0k")
                {
                    "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
                } else {
                    format!(
                        "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: {challenge}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                };
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("127.0.0.1:{port}"), tokens)
}

/// A token realm must be https, except on loopback: credentials are never sent to a plain
/// HTTP realm elsewhere, whatever the registry's challenge says.
#[tokio::test]
async fn credentials_go_only_to_an_https_or_loopback_token_realm() {
    use std::sync::atomic::Ordering;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let auth = |host: &str| RegistryAuth {
        host: host.to_string(),
        username: "u".into(),
        password: "p".into(),
    };
    for realm in [
        |port| format!("http://127.0.0.1:{port}/token"),
        |port| format!("http://localhost:{port}/token"),
    ] {
        let (host, tokens) = challenging_registry(realm).await;
        let ok = accepts(&http, &[], &auth(&host), &host).await;
        assert!(matches!(ok, Ok(true)), "{ok:?}");
        assert_eq!(tokens.load(Ordering::SeqCst), 1);
    }
    for realm in [
        |_| "http://auth.registry.invalid/token".to_string(),
        |_| "http://169.254.169.254/latest/token".to_string(),
        |_| "ftp://auth.registry.invalid/token".to_string(),
    ] {
        let (host, tokens) = challenging_registry(realm).await;
        let e = accepts(&http, &[], &auth(&host), &host)
            .await
            .expect_err("a plain HTTP realm elsewhere is refused");
        let text = e.to_string();
        assert!(
            matches!(e, mosaic_webhook::registry::RegistryError::Realm { .. }),
            "{text}"
        );
        assert!(text.contains("https") && text.contains(&host), "{text}");
        assert_eq!(tokens.load(Ordering::SeqCst), 0);
    }
}
