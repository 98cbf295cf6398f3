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
        accepts(&http, &auth, &r.host)
            .await
            .expect("the registry answers"),
        "the stack's credentials are accepted"
    );
    auth.password.push_str("-wrong");
    assert!(
        !accepts(&http, &auth, &r.host)
            .await
            .expect("the registry answers"),
        "a wrong password is refused"
    );
}
