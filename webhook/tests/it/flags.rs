//! The webhook binary refuses flags that cannot work before it connects to anything: one line
//! on stderr saying what, why and what to do, and exit code 2. Needs no stack.

use std::process::Command;

/// Run the binary with a readable secret file and `flags`; returns (exit code, stderr).
fn run(flags: &[&str]) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("mosaic-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, "s3cret").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mosaic-webhook"))
        .arg("--webhook-secret-file")
        .arg(&secret)
        .args(flags)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_heartbeat_not_shorter_than_the_claim_ttl_is_refused_with_exit_2() {
    let (code, err) = run(&["--claim-ttl", "10", "--heartbeat", "20"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        "mosaic-webhook: --heartbeat (20 s) must be shorter than --claim-ttl (10 s), or other replicas take running Builds over; lower --heartbeat or raise --claim-ttl"
    );
    let (code, err) = run(&["--build-timeout", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
