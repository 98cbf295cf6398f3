//! `scripts/stack down` unmounts what is left under its own state directory and nothing of a
//! sibling stack whose directory only shares its prefix (`…-123` and `…-1234`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Mount points, as the kernel lists them.
fn mounted(path: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("read /proc/self/mounts");
    let want = path.to_string_lossy();
    mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .any(|m| m == want)
}

/// A directory with a tmpfs mounted inside, both removed on drop.
struct Mounted {
    dir: PathBuf,
    mount: PathBuf,
}

impl Mounted {
    fn new(dir: PathBuf) -> Self {
        let mount = dir.join("docker/data");
        std::fs::create_dir_all(&mount).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "tmpfs"])
            .arg(&mount)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount -t tmpfs {} failed (the stack needs root and mounts too): {}",
            mount.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir, mount }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        // Already gone when `down` unmounted it.
        let _ = Command::new("umount")
            .arg(&self.mount)
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn down_unmounts_its_own_dir_and_not_a_sibling_sharing_the_prefix() {
    let base = std::env::temp_dir().join(format!("mosaic-down-{}", std::process::id()));
    let mine = Mounted::new(PathBuf::from(format!("{}-123", base.display())));
    let sibling = Mounted::new(PathBuf::from(format!("{}-1234", base.display())));
    assert!(mounted(&mine.mount) && mounted(&sibling.mount));

    let out = Command::new(mosaic_tests::workspace_root().join("scripts/stack"))
        .arg("down")
        .env("MOSAIC_STACK_DIR", &mine.dir)
        .output()
        .expect("run scripts/stack down");
    assert!(
        out.status.success(),
        "scripts/stack down failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!mounted(&mine.mount), "its own mount is left behind");
    assert!(!mine.dir.exists(), "{} not removed", mine.dir.display());
    assert!(
        mounted(&sibling.mount),
        "the sibling stack's {} was unmounted",
        sibling.mount.display()
    );
}
