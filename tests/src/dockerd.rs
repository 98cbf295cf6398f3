//! A private dockerd of its own, beside the stack's (hermetic as the stack's: no bridge, no
//! iptables), for tests and drills that prune an engine or need a second one (one engine per
//! builder, as in production). It lives under the stack's directory (so `scripts/stack down`
//! unmounts what it leaves) and is stopped with SIGTERM on drop.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What a private dockerd runs in and with, beyond the hermetic defaults.
#[derive(Debug, Default)]
pub struct Shape {
    /// Cgroup directories (`/sys/fs/cgroup/<controller>/<path>`) the engine runs in.
    pub cgroups: Vec<PathBuf>,
    /// Its image store (default: `data` under its own directory).
    pub data_root: Option<PathBuf>,
    /// More `dockerd` flags.
    pub args: Vec<String>,
}

/// A running private dockerd.
pub struct PrivateDockerd {
    pid: u32,
    pub dir: PathBuf,
}

impl PrivateDockerd {
    /// Start one and wait (up to 60 s) until it answers `/_ping`.
    pub fn start() -> Self {
        Self::start_with(&Shape::default())
    }

    /// As `start`, shaped by `shape` (a builder pod's bounds, for the hostile-Dockerfile drill).
    pub fn start_with(shape: &Shape) -> Self {
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
        // Join the cgroups first (a shell that then becomes dockerd), so containerd and every
        // container the engine starts are counted there from their first pid.
        let join: String = shape
            .cgroups
            .iter()
            .map(|c| format!("echo $$ > '{}/cgroup.procs' && ", c.display()))
            .collect();
        let data_root = shape.data_root.clone().unwrap_or_else(|| dir.join("data"));
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("{join}exec dockerd \"$@\""))
            .arg("dockerd")
            .arg("--host")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .arg("--data-root")
            .arg(data_root)
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .args(["--bridge=none", "--iptables=false", "--ip-forward=false"])
            .arg("--ip-masq=false")
            .args(&shape.args)
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
