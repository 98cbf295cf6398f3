//! Stopping and starting parts of the drill's own stack (`scripts/stack up` with a private
//! `MOSAIC_STACK_DIR`, marked by `scripts/drill` with a `.drill` file): dockerd and the registry
//! through their pid files and `scripts/stack up`; the API server and etcd by restarting the
//! same command lines (same ports, same etcd data, same certificates), which `up.sh` cannot do
//! (it wipes etcd and picks new ports).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The private stack's directory; refuses a stack `scripts/drill` did not start for drills.
pub fn private_dir() -> Result<PathBuf, String> {
    let dir = std::env::var_os("MOSAIC_STACK_DIR").map(PathBuf::from).ok_or(
        "MOSAIC_STACK_DIR is not set: run destructive drills through scripts/drill, which starts a private stack",
    )?;
    if !dir.join(".drill").exists() {
        return Err(format!(
            "{} is not a drill stack (no .drill marker): this drill stops stack parts; run it through scripts/drill",
            dir.display()
        ));
    }
    Ok(dir)
}

fn pid_of(dir: &std::path::Path, file: &str) -> u32 {
    let p = dir.join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: not a pid: {e}", p.display()))
}

/// Running and not a zombie?
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let state = s.rsplit(") ").next().and_then(|r| r.chars().next());
        !matches!(state, Some('Z' | 'X') | None)
    })
}

/// Send `sig` (`KILL`, `TERM`) to `pid` and wait up to `secs` for it to exit.
pub fn stop_pid(pid: u32, sig: &str, secs: u64) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok || !alive(pid), "kill -{sig} {pid} failed");
    let deadline = Instant::now() + Duration::from_secs(secs);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "pid {pid} still running {secs} s after SIG{sig}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stop dockerd or the registry (`part` = `docker` | `registry`) with `sig`.
pub fn stop_part(part: &str, sig: &str) {
    let dir = private_dir().expect("private stack");
    let file = format!("{part}/{part}.pid");
    let pid = pid_of(&dir, &file);
    // dockerd's own containerd: it exits with dockerd (on SIGTERM, or by its parent-death signal).
    let containerd = dir.join("docker/exec/containerd/containerd.pid");
    let child = (part == "docker")
        .then(|| std::fs::read_to_string(&containerd).ok())
        .flatten()
        .and_then(|p| p.trim().parse::<u32>().ok());
    stop_pid(pid, sig, 60);
    if let Some(c) = child {
        let deadline = Instant::now() + Duration::from_secs(30);
        while alive(c) {
            assert!(
                Instant::now() < deadline,
                "containerd {c} outlived dockerd by 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // A killed dockerd leaves its pid files, and a new one refuses to start (or waits for a
    // containerd that is gone) while they name processes not yet reaped: remove them.
    let _ = std::fs::remove_file(dir.join(file));
    let _ = std::fs::remove_file(containerd);
}

/// Is dockerd or the registry running?
pub fn alive_part(part: &str) -> bool {
    let dir = private_dir().expect("private stack");
    std::fs::read_to_string(dir.join(format!("{part}/{part}.pid")))
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .is_some_and(alive)
}

/// Start a stopped part again with `scripts/stack up` (same dir, data, port and password).
pub fn start_part(part: &str) {
    let dir = private_dir().expect("private stack");
    let script = mosaic_tests::workspace_root().join("scripts/stack");
    let out = Command::new(&script)
        .arg("up")
        .env("MOSAIC_STACK_DIR", &dir)
        .env("MOSAIC_STACK_PARTS", part)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run scripts/stack up");
    assert!(out.success(), "scripts/stack up ({part}) failed");
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/cmdline: {e}"))
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Start `args` in a new session, appending to `log`; returns its pid.
fn launch(args: &[String], log: &std::path::Path) -> u32 {
    let out = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let err = out.try_clone().expect("log handle");
    let child = Command::new("setsid")
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", args[0]));
    let pid = child.id();
    // Reap it whenever it exits (a later restart stops it), so no zombie is left behind.
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    pid
}

/// The API server and etcd, stopped: how to start them again.
pub struct KubeDown {
    dir: PathBuf,
    api: Vec<String>,
    etcd: Vec<String>,
}

/// Stop the API server and etcd with `sig` (the API server first: its shutdown stalls when
/// etcd is already gone).
pub fn stop_kube(sig: &str) -> KubeDown {
    let dir = private_dir().expect("private stack").join("kube");
    let api_pid = pid_of(&dir, "apiserver.pid");
    let etcd_pid = pid_of(&dir, "etcd.pid");
    let down = KubeDown {
        api: cmdline(api_pid),
        etcd: cmdline(etcd_pid),
        dir,
    };
    stop_pid(api_pid, sig, 30);
    stop_pid(etcd_pid, sig, 30);
    down
}

/// Start both again with their own command lines; returns once the API answers `/readyz`.
pub async fn start_kube(down: KubeDown, client: &kube::Client) {
    let etcd = launch(&down.etcd, &down.dir.join("etcd.log"));
    std::fs::write(down.dir.join("etcd.pid"), etcd.to_string()).expect("etcd.pid");
    let api = launch(&down.api, &down.dir.join("apiserver.log"));
    std::fs::write(down.dir.join("apiserver.pid"), api.to_string()).expect("apiserver.pid");
    mosaic_tests::eventually("the restarted API server to be ready", 60, || async {
        let r = client.request_text(
            http::Request::get("/readyz")
                .body(Vec::new())
                .expect("request"),
        );
        (r.await.ok()? == "ok").then_some(())
    })
    .await;
}
