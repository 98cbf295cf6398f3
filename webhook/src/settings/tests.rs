//! Flags to settings: typed durations, the API retry budget from `--claim-ttl`, no engine for
//! an intake-only replica, and one clear error for each combination that cannot work.

use clap::Parser;

use super::*;

/// Settings from `flags` (with a readable webhook secret file).
fn settings(flags: &[&str]) -> Result<Settings, SettingsError> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("mosaic-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join(format!("secret-{n}"));
    std::fs::write(&secret, "s3cret").unwrap();
    let mut args = vec![
        "mosaic-webhook",
        "--webhook-secret-file",
        secret.to_str().unwrap(),
    ];
    args.extend(flags);
    Settings::from_config(&Config::try_parse_from(args).unwrap())
}

#[test]
fn defaults_are_typed_and_the_api_budget_follows_the_claim_ttl() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.claim_ttl, Duration::from_secs(30));
    assert_eq!(s.api_retry_budget, Duration::from_secs(30));
    assert_eq!(s.heartbeat, Duration::from_secs(5));
    assert_eq!(
        s.retry_pauses,
        [Duration::from_secs(15), Duration::from_secs(45)]
    );
    assert_eq!(s.max_inflight_bytes, 64 * 1024 * 1024);
    assert_eq!(
        s.engine.as_ref().unwrap().push_timeout,
        Duration::from_secs(600)
    );
    let long = settings(&["--claim-ttl", "120"]).unwrap();
    assert_eq!(long.api_retry_budget, Duration::from_secs(120));
    let short = settings(&["--claim-ttl", "3", "--heartbeat", "1"]).unwrap();
    assert_eq!(
        short.api_retry_budget,
        Duration::from_secs(30),
        "never under an API server's restart"
    );
    assert!(settings(&["--concurrency", "0"]).unwrap().engine.is_none());
}

#[test]
fn flags_that_cannot_work_are_one_clear_error() {
    let e = settings(&["--claim-ttl", "5", "--heartbeat", "5"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--heartbeat (5 s) must be shorter than --claim-ttl (5 s), or other replicas take running Builds over; lower --heartbeat or raise --claim-ttl"
    );
    let e = settings(&["--claim-ttl", "0"]).unwrap_err();
    assert!(matches!(e, SettingsError::ZeroClaimTtl), "{e}");
    let e = settings(&["--rollout-timeout", "0"]).unwrap_err();
    assert!(e.to_string().contains("got 0 for --rollout-timeout"), "{e}");
    let missing = Config::try_parse_from([
        "mosaic-webhook",
        "--webhook-secret-file",
        "/nonexistent/secret",
    ])
    .unwrap();
    let e = Settings::from_config(&missing).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read webhook secret file /nonexistent/secret"),
        "{e}"
    );
}
