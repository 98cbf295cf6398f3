//! Unit tests of the flags: defaults, repeated and comma-separated values, the value checks,
//! and the webhook secret files' errors.

use super::*;

#[test]
fn flags_parse_with_defaults_and_repeats() {
    let c = Config::try_parse_from([
        "mosaic-webhook",
        "--webhook-secret-file",
        "/a",
        "--webhook-secret-file",
        "/b",
        "--namespace",
        "x,y",
        "--identity",
        "pod-1",
    ])
    .unwrap();
    assert_eq!(c.webhook_secret_files.len(), 2);
    assert_eq!(c.namespaces, ["x", "y"]);
    assert_eq!(c.identity(), "pod-1");
    assert_eq!(c.listen.port(), 8080);
    assert_eq!(c.builder, Builder::Classic);
    assert_eq!(c.retry_pauses, [15, 45]);
    let short = Config::try_parse_from([
        "mosaic-webhook",
        "--webhook-secret-file",
        "/a",
        "--retry-pauses",
        "1,2,4",
    ])
    .unwrap();
    assert_eq!(short.retry_pauses, [1, 2, 4]);
    // A builder needs no webhook secret (it refuses every delivery); an intake does.
    let builder = Config::try_parse_from(["mosaic-webhook"]).unwrap();
    assert!(builder.secrets().unwrap().is_empty());
    let intake = Config::try_parse_from(["mosaic-webhook", "--concurrency", "0"]).unwrap();
    let e = intake.secrets().unwrap_err().to_string();
    assert!(e.contains("give --webhook-secret-file"), "{e}");
    assert!(
        Config::try_parse_from([
            "mosaic-webhook",
            "--webhook-secret-file",
            "/a",
            "--concurrency",
            "65"
        ])
        .is_err()
    );
    let pin = format!("docker/dockerfile:1@sha256:{}", "ab".repeat(32));
    let c = Config::try_parse_from(["m", "--syntax-frontends", &pin]).unwrap();
    assert_eq!(c.syntax_frontends, [pin]);
    assert!(
        Config::try_parse_from(["m"])
            .unwrap()
            .syntax_frontends
            .is_empty()
    );
    let e = Config::try_parse_from(["m", "--syntax-frontends", "docker/dockerfile:1"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not pinned"), "{e}");
    let intake_only = Config::try_parse_from([
        "mosaic-webhook",
        "--webhook-secret-file",
        "/a",
        "--concurrency",
        "0",
    ])
    .unwrap();
    assert_eq!(intake_only.concurrency, 0);
}

#[test]
fn default_secrets_and_plain_http_registries() {
    let c = Config::try_parse_from([
        "m",
        "--webhook-secret-file",
        "/a",
        "--default-github-secret",
        "mosaic-system/mosaic-github",
        "--insecure-registry",
        "r.kube-system.svc:5000",
        "--insecure-registry",
        "10.0.0.5:5000",
    ])
    .unwrap();
    assert_eq!(
        c.default_github_secret,
        Some(SecretRef {
            namespace: "mosaic-system".into(),
            name: "mosaic-github".into()
        })
    );
    assert_eq!(c.default_registry_secret, None);
    assert_eq!(
        c.insecure_registries,
        ["r.kube-system.svc:5000", "10.0.0.5:5000"]
    );
    assert_eq!(c.engine_wait_secs, 120);
    // The kubelet leaves `$(POD_NAMESPACE)` as is when the variable is not defined.
    let e = Config::try_parse_from([
        "m",
        "--webhook-secret-file",
        "/a",
        "--default-registry-secret",
        "$(POD_NAMESPACE)/mosaic-registry",
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("NAMESPACE/NAME") && e.contains("POD_NAMESPACE"),
        "{e}"
    );
    let e = Config::try_parse_from([
        "m",
        "--webhook-secret-file",
        "/a",
        "--insecure-registry",
        "http://r:5000",
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("HOST:PORT"), "{e}");
}

#[test]
fn builder_is_chosen_by_flag() {
    let c = Config::try_parse_from(["m", "--webhook-secret-file", "/a", "--builder", "buildkit"])
        .unwrap();
    assert_eq!(c.builder, Builder::Buildkit);
    let e = Config::try_parse_from(["m", "--webhook-secret-file", "/a", "--builder", "kaniko"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("classic") && e.contains("buildkit"), "{e}");
}

#[test]
fn secret_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let c =
        Config::try_parse_from(["m", "--webhook-secret-file", empty.to_str().unwrap()]).unwrap();
    assert!(matches!(c.secrets(), Err(ConfigError::EmptySecret(p)) if p == empty));
    let c = Config::try_parse_from(["m", "--webhook-secret-file", "/nonexistent/s"]).unwrap();
    assert!(
        c.secrets()
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/s")
    );
}
