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
