//! The hostile-Dockerfile drill (`scripts/drill hostile`; needs root, a loop device and the
//! cgroup v1 `pids` and `cpu` controllers, so it is ignored by default): the real
//! `mosaic-webhook` builds, one after the other, a `RUN` that tries the metadata address, the
//! API server and a live listener standing in for another namespace's pod, a `RUN` that fills
//! the disk and a fork bomb, on a private engine shaped like the manifests' builder: its image
//! store on a file system of its own (the emptyDir's `sizeLimit`), the engine and every build
//! step in one pids cgroup (the kubelet's `podPidsLimit`) and one CPU quota, no bridge (this
//! stack's egress settings: build steps have no network). Each Build ends with its reason, the
//! engine stays up, and a plain commit after them deploys. Prints the figures
//! docs/reliability.md records.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mosaic_core::resources::{Build, BuildPhase, build_name};
use mosaic_tests::dockerd::{PrivateDockerd, Shape};
use mosaic_tests::fake_github::File;
use mosaic_tests::webhook::*;

/// The engine's image store, standing in for the `docker-data` emptyDir's `sizeLimit`.
const DISK_MIB: u64 = 512;
/// The pids bound of the engine with every build step (a node's `podPidsLimit`).
const PIDS_MAX: u32 = 400;
/// Half a CPU for the engine and its builds (the manifests give the engine 2; this machine is shared).
const CPU_QUOTA_US: u32 = 50_000;
/// `--build-timeout` of the drill's builder.
const BUILD_TIMEOUT_SECS: u64 = 40;
const BUSYBOX: &str = "/bin/busybox";

/// What the drill sets up and takes down again: a loop-mounted file system and two cgroups.
struct Bounds {
    image: PathBuf,
    mount: PathBuf,
    cgroups: Vec<PathBuf>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a setup command");
    assert!(out.status.success(), "{cmd:?}: {out:?}");
}

impl Bounds {
    fn create(stack_dir: &Path) -> Self {
        let dir = stack_dir.join(format!("hostile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let image = dir.join("disk.img");
        let mount = dir.join("data");
        std::fs::create_dir_all(&mount).unwrap();
        run(Command::new("truncate")
            .arg(format!("--size={DISK_MIB}M"))
            .arg(&image));
        run(Command::new("mkfs.ext4").arg("-q").arg(&image));
        run(Command::new("mount")
            .arg("-o")
            .arg("loop")
            .arg(&image)
            .arg(&mount));
        let name = format!("mosaic-hostile-{}", std::process::id());
        let pids = PathBuf::from("/sys/fs/cgroup/pids").join(&name);
        let cpu = PathBuf::from("/sys/fs/cgroup/cpu").join(&name);
        for c in [&pids, &cpu] {
            std::fs::create_dir_all(c).expect("create a cgroup (cgroup v1, root)");
        }
        std::fs::write(pids.join("pids.max"), PIDS_MAX.to_string()).unwrap();
        std::fs::write(cpu.join("cpu.cfs_quota_us"), CPU_QUOTA_US.to_string()).unwrap();
        Bounds {
            image,
            mount,
            cgroups: vec![pids, cpu],
        }
    }
    fn pids(&self, file: &str) -> u64 {
        let s = std::fs::read_to_string(self.cgroups[0].join(file)).unwrap_or_default();
        s.trim().parse().unwrap_or(0)
    }
    fn used_mib(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=used", "-BM"])
            .arg(&self.mount)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .nth(1)
            .and_then(|l| l.trim().trim_end_matches('M').parse().ok())
            .unwrap_or(0)
    }
    fn cgroup_name(&self) -> String {
        format!(
            "/{}",
            self.cgroups[0].file_name().unwrap().to_string_lossy()
        )
    }
}

impl Drop for Bounds {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
        let _ = std::fs::remove_file(&self.image);
        for c in &self.cgroups {
            let _ = std::fs::remove_dir(c);
        }
    }
}

/// Commit `run` as the repository's Dockerfile step, on a static busybox `FROM scratch`.
fn commit(w: &World, run: &str) -> String {
    let busybox =
        std::fs::read(BUSYBOX).unwrap_or_else(|e| panic!("{BUSYBOX}: {e}; install busybox-static"));
    let dockerfile = format!(
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nRUN {run}\n"
    );
    w.gh.commit(
        &w.repo,
        "main",
        vec![
            File::new("Dockerfile", dockerfile),
            File::executable("busybox", busybox),
        ],
    )
}

/// Push `sha` and wait for its Build to end; the Build and the seconds it took.
async fn build(server: &Server, w: &World, sha: &str, secs: u64) -> (Build, f64) {
    let t = Instant::now();
    let (status, body) = push(server, w, &format!("hostile-{sha}"), sha).await;
    assert_eq!(status, 201, "{body}");
    let b = terminal(w, &build_name("web", sha), secs).await;
    (b, t.elapsed().as_secs_f64())
}

fn tail(b: &Build) -> String {
    let st = b.status.as_ref().unwrap();
    format!(
        "{} {:?}: {}\n{}",
        st.reason.as_deref().unwrap_or("-"),
        st.phase,
        st.message.as_deref().unwrap_or("-"),
        st.log_tail.as_deref().unwrap_or("")
    )
}

/// The engine answers `/_ping`, and how long it took.
fn ping(d: &PrivateDockerd) -> Option<f64> {
    let t = Instant::now();
    Command::new("curl")
        .args(["-sf", "--max-time", "10", "--unix-socket"])
        .arg(d.dir.join("docker.sock"))
        .arg("http://d/_ping")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| t.elapsed().as_secs_f64())
}

fn api_server_port() -> u16 {
    let kubeconfig = std::fs::read_to_string(&mosaic_tests::stack().kubeconfig).unwrap();
    kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://127.0.0.1:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("the stack's kubeconfig names https://127.0.0.1:PORT")
}

/// The host's first non-loopback address (`hostname -I`).
fn host_address() -> String {
    let out = Command::new("hostname").arg("-I").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace()
        .find(|a| a.contains('.'))
        .expect("a non-loopback IPv4 address")
        .to_string()
}

#[tokio::test]
#[ignore = "needs root, a loop device and cgroup v1; run by `scripts/drill hostile`"]
async fn hostile_dockerfiles_are_bounded_and_the_next_build_deploys() {
    let stack_dir = PathBuf::from(
        mosaic_tests::stack()
            .docker_host
            .trim_start_matches("unix://"),
    )
    .parent()
    .and_then(Path::parent)
    .unwrap()
    .to_path_buf();
    let bounds = Bounds::create(&stack_dir);
    let engine = PrivateDockerd::start_with(&Shape {
        cgroups: bounds.cgroups.clone(),
        data_root: Some(bounds.mount.clone()),
        args: vec![format!("--cgroup-parent={}", bounds.cgroup_name())],
    });
    let w = world(None, true).await;
    let host = engine.host();
    let timeout = BUILD_TIMEOUT_SECS.to_string();
    let server = start(
        &w,
        "hostile",
        &[
            "--docker-host",
            &host,
            "--build-timeout",
            &timeout,
            "--engine-disk-budget",
            "64Mi",
            "--engine-prune-interval",
            "5",
        ],
    )
    .await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let idle_pids = bounds.pids("pids.current");
    println!(
        "engine: {DISK_MIB} MiB image store ({} MiB used), pids.max {PIDS_MAX} ({idle_pids} in use idle), {}% of a CPU, --build-timeout {BUILD_TIMEOUT_SECS} s",
        bounds.used_mib(),
        CPU_QUOTA_US / 1000
    );

    // 1. The network: the metadata address, the API server and a live listener on the host's
    //    address (another namespace's pod). Each is live from the host, none from a build step.
    let pod = TcpListener::bind("0.0.0.0:0").unwrap();
    let pod_target = format!("{}:{}", host_address(), pod.local_addr().unwrap().port());
    let api_target = format!("127.0.0.1:{}", api_server_port());
    for live in [&pod_target, &api_target] {
        std::net::TcpStream::connect(live.as_str())
            .unwrap_or_else(|e| panic!("{live} must be live from the host: {e}"));
    }
    let targets = format!("169.254.169.254:80 {api_target} {pod_target}");
    let sha = commit(
        &w,
        &format!(
            "for t in {targets}; do if nc -w 3 ${{t%:*}} ${{t#*:}} </dev/null; then echo \"REACHED $t\"; else echo \"refused $t\"; fi; done; exit 7"
        ),
    );
    let (b, secs) = build(&server, &w, &sha, 120).await;
    let text = tail(&b);
    assert_eq!(
        b.status.as_ref().unwrap().phase,
        BuildPhase::Failed,
        "{text}"
    );
    for t in targets.split(' ') {
        assert!(
            text.lines().any(|l| l == format!("refused {t}")),
            "{t}: {text}"
        );
    }
    assert!(!text.lines().any(|l| l.starts_with("REACHED")), "{text}");
    println!("network: Build Failed in {secs:.1} s, every target refused:\n{text}");

    // 2. A disk filler: writes until the image store is full.
    let before = bounds.used_mib();
    let sha = commit(&w, "dd if=/dev/zero of=/fill bs=1M");
    let (b, secs) = build(&server, &w, &sha, 300).await;
    let text = tail(&b);
    assert_eq!(
        b.status.as_ref().unwrap().phase,
        BuildPhase::Failed,
        "{text}"
    );
    assert!(text.contains("No space left on device"), "{text}");
    let ping_after_fill = ping(&engine).expect("the engine answers after the disk filled");
    let after = bounds.used_mib();
    assert!(
        after < before + 64,
        "the filler's layer is gone: {before} -> {after} MiB"
    );
    println!(
        "disk filler: Build Failed in {secs:.1} s; store {before} MiB before, {after} MiB after; engine /_ping {ping_after_fill:.3} s\n{text}"
    );

    // 3. A fork bomb that keeps its step alive: bounded by the pids cgroup, ended by the
    //    build timeout.
    let sha = commit(&w, "bomb() { bomb | bomb & }; bomb; sleep 3600");
    let t = Instant::now();
    let (status, body) = push(&server, &w, "hostile-bomb", &sha).await;
    assert_eq!(status, 201, "{body}");
    let (mut peak, mut slowest_ping, mut failed_pings) = (0u64, 0f64, 0u32);
    let name = build_name("web", &sha);
    let b = loop {
        peak = peak.max(bounds.pids("pids.current"));
        match ping(&engine) {
            Some(s) => slowest_ping = slowest_ping.max(s),
            None => failed_pings += 1,
        }
        let b = w.builds().get(&name).await.unwrap();
        if b.status.as_ref().is_some_and(|s| s.phase.is_terminal()) {
            break b;
        }
        assert!(
            t.elapsed() < Duration::from_secs(BUILD_TIMEOUT_SECS * 6 + 120),
            "the fork bomb's Build never ended"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let secs = t.elapsed().as_secs_f64();
    let text = tail(&b);
    assert_eq!(
        b.status.as_ref().unwrap().phase,
        BuildPhase::Failed,
        "{text}"
    );
    let settled = mosaic_tests::eventually("the bomb's processes to be gone", 60, || {
        let n = bounds.pids("pids.current");
        async move { (n <= idle_pids + 20).then_some(n) }
    })
    .await;
    println!(
        "fork bomb: Build Failed in {secs:.1} s; pids peak {peak} of {PIDS_MAX} (pids.events max: {}), {settled} after; engine /_ping slowest {slowest_ping:.3} s, {failed_pings} failed\n{text}",
        std::fs::read_to_string(bounds.cgroups[0].join("pids.events"))
            .unwrap_or_default()
            .trim()
    );
    assert!(
        peak <= u64::from(PIDS_MAX),
        "pids.current {peak} over the limit"
    );

    // 4. A plain commit after all three builds, pushes and deploys on the same engine.
    let sha = w.commit("after the hostile builds\n");
    let (b, secs) = build(&server, &w, &sha, 180).await;
    let st = b.status.clone().unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{}", tail(&b));
    assert_eq!(deployed_image(&w).await, st.image.clone().unwrap());
    println!(
        "next Build: Succeeded in {secs:.1} s, deployed {}; store {} MiB used",
        st.image.unwrap(),
        bounds.used_mib()
    );
    drop(server);
    drop(engine);
    drop(bounds);
}
