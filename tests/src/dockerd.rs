//! A private dockerd of its own, beside the stack's (hermetic as the stack's: no bridge, no
//! iptables), for tests and drills that prune an engine or need a second one (one engine per
//! builder, as in production). It lives under the stack's directory (so `scripts/stack down`
//! unmounts what it leaves) and is stopped with SIGTERM on drop.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A running private dockerd.
pub struct PrivateDockerd {
    pid: u32,
    pub dir: PathBuf,
}

impl PrivateDockerd {
    /// Start one and wait (up to 60 s) until it answers `/_ping`.
    pub fn start() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let sock = crate::stack()
            .docker_host
            .strip_prefix("unix://")
            .map(PathBuf::from)
            .expect("the stack's dockerd is on a unix socket");
        let stack_dir = sock
            .parent()
            .and_then(|p| p.parent())
            .expect("the stack's directory");
        let dir = stack_dir.join(format!(
            "dockerd-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("private dockerd dir");
        let log = std::fs::File::create(dir.join("dockerd.log")).expect("dockerd log");
        let child = Command::new("dockerd")
            .arg("--host")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .args(["--bridge=none", "--iptables=false", "--ip-forward=false"])
            .arg("--ip-masq=false")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start a private dockerd");
        let pid = child.id();
        // Reap it whenever it exits.
        std::thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
        });
        let d = PrivateDockerd { pid, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !Command::new("curl")
            .args(["-sf", "--unix-socket"])
            .arg(d.dir.join("docker.sock"))
            .arg("http://d/_ping")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(
                Instant::now() < deadline,
                "the private dockerd did not answer within 60 s (log: {})",
                d.dir.join("dockerd.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    /// Its address, `unix://…`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.join("docker.sock").display())
    }

    /// A bollard client for it.
    pub fn client(&self) -> bollard::Docker {
        bollard::Docker::connect_with_unix(
            &self.dir.join("docker.sock").to_string_lossy(),
            120,
            bollard::API_DEFAULT_VERSION,
        )
        .expect("a client for the private dockerd")
    }
}

impl Drop for PrivateDockerd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
            && std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                .is_ok_and(|s| !s.contains(") Z"))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
