//! krew distribution: `scripts/release` packages the built binary and renders
//! `dist/mosaic.yaml`; the manifest must pass every krew rule, install through an
//! emulated `kubectl krew install --manifest --archive`, and then run through
//! the real kubectl (`kubectl mosaic version`, `kubectl plugin list`, completion).
//! scripts/test points `MOSAIC_RELEASE_DIST` at what `scripts/release` made of the static musl
//! plugin, so the release a user installs (archive, manifest, krew install) is what is tested.

use crate::support::{krew, krew_install};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const KUBECTL: &str = "/usr/bin/kubectl";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// The release every test reads: the dist dir `MOSAIC_RELEASE_DIST` names (scripts/test releases
/// the static musl plugin there), else scripts/release run once here on the cargo-built binary.
fn release() -> (Value, PathBuf) {
    if let Some(dist) = std::env::var_os("MOSAIC_RELEASE_DIST") {
        return read_release(Path::new(&dist));
    }
    static DIST: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dist = DIST.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        run_release(d.path());
        d
    });
    read_release(dist.path())
}

fn run_release(dist: &Path) {
    let out = Command::new(root().join("scripts/release"))
        .args([
            "--binary",
            env!("CARGO_BIN_EXE_kubectl-mosaic"),
            "--os",
            "linux",
            "--arch",
            "amd64",
            "--dist",
        ])
        .arg(dist)
        .output()
        .expect("run scripts/release");
    assert!(
        out.status.success(),
        "scripts/release failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_release(dist: &Path) -> (Value, PathBuf) {
    let text = std::fs::read_to_string(dist.join("mosaic.yaml")).unwrap();
    let manifest: Value = serde_yaml::from_str(&text).unwrap();
    let archive = dist.join(format!("kubectl-mosaic_{}_linux_amd64.tar.gz", version()));
    assert!(archive.exists(), "missing {}", archive.display());
    (manifest, archive)
}

#[test]
fn rendered_manifest_passes_every_krew_rule() {
    let (m, archive) = release();
    krew::validate("mosaic.yaml", &m).unwrap();
    assert_eq!(m["spec"]["version"], version());
    let p = &m["spec"]["platforms"][0];
    assert!(krew::selector_matches(&p["selector"], "linux", "amd64"));
    let sha = p["sha256"].as_str().unwrap();
    use sha2::Digest;
    assert_eq!(
        sha,
        hex::encode(sha2::Sha256::digest(std::fs::read(&archive).unwrap()))
    );
    assert!(
        p["uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/kubectl-mosaic_{}_linux_amd64.tar.gz", version()))
    );

    // The archive holds exactly the binary (0755) and LICENSE, as regular files at the root.
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&archive).unwrap(),
    ));
    let mut entries: Vec<(String, u32, bool)> = ar
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.path().unwrap().to_string_lossy().to_string(),
                e.header().mode().unwrap(),
                e.header().entry_type() == tar::EntryType::Regular,
            )
        })
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        vec![
            ("LICENSE".into(), 0o644, true),
            ("kubectl-mosaic".into(), 0o755, true)
        ]
    );

    // The template itself lists all six platforms, without overlap, once rendered with dummy sums.
    let template = std::fs::read_to_string(root().join("krew/mosaic.yaml")).unwrap();
    let mut full = template
        .replace("{{VERSION}}", "v1.2.3")
        .replace("{{URI_BASE}}", "https://example.com");
    for p in [
        "linux_amd64",
        "linux_arm64",
        "darwin_amd64",
        "darwin_arm64",
        "windows_amd64",
        "windows_arm64",
    ] {
        full = full.replace(&format!("{{{{SHA256_{p}}}}}"), &"a".repeat(64));
    }
    let full: Value = serde_yaml::from_str(&full).unwrap();
    krew::validate("mosaic.yaml", &full).unwrap();
    for (os, arch) in [
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("darwin", "amd64"),
        ("darwin", "arm64"),
        ("windows", "amd64"),
        ("windows", "arm64"),
    ] {
        let n = full["spec"]["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| krew::selector_matches(&p["selector"], os, arch))
            .count();
        assert_eq!(n, 1, "{os}/{arch}");
    }
}

#[test]
fn the_validator_rejects_what_krew_rejects() {
    let (good, _) = release();
    type Mutation = (&'static str, fn(&mut Value), &'static str);
    let cases: Vec<Mutation> = vec![
        (
            "wrong apiVersion",
            |m| m["apiVersion"] = "krew.googlecontainertools.github.com/v1alpha1".into(),
            "apiVersion",
        ),
        ("wrong kind", |m| m["kind"] = "Plug".into(), "kind"),
        (
            "name differs from file",
            |m| m["metadata"]["name"] = "mosaic2".into(),
            "should be named",
        ),
        (
            "no leading v",
            |m| m["spec"]["version"] = "0.1.0".into(),
            "version",
        ),
        (
            "two-part version",
            |m| m["spec"]["version"] = "v0.1".into(),
            "version",
        ),
        (
            "leading zero",
            |m| m["spec"]["version"] = "v0.01.0".into(),
            "version",
        ),
        (
            "uppercase sha",
            |m| {
                let s = m["spec"]["platforms"][0]["sha256"]
                    .as_str()
                    .unwrap()
                    .to_uppercase();
                m["spec"]["platforms"][0]["sha256"] = s.into();
            },
            "sha256",
        ),
        (
            "no bin",
            |m| m["spec"]["platforms"][0]["bin"] = "".into(),
            "`bin`",
        ),
        (
            "unclean to",
            |m| m["spec"]["platforms"][0]["files"][0]["to"] = "./".into(),
            "not clean",
        ),
        (
            "empty files",
            |m| m["spec"]["platforms"][0]["files"] = serde_json::json!([]),
            "non-empty",
        ),
        (
            "unknown selector key",
            |m| m["spec"]["platforms"][0]["selector"]["matchLabels"]["libc"] = "musl".into(),
            "not supported",
        ),
        (
            "no selector",
            |m| m["spec"]["platforms"][0]["selector"] = Value::Null,
            "nil selector",
        ),
        (
            "line break",
            |m| m["spec"]["shortDescription"] = "a\nb".into(),
            "line breaks",
        ),
        (
            "too long",
            |m| m["spec"]["shortDescription"] = "x".repeat(51).into(),
            "50",
        ),
        (
            "unsupported platform",
            |m| m["spec"]["platforms"][0]["selector"]["matchLabels"]["arch"] = "s390x".into(),
            "supported platforms",
        ),
        (
            "overlap",
            |m| {
                let p = m["spec"]["platforms"][0].clone();
                m["spec"]["platforms"].as_array_mut().unwrap().push(p);
            },
            "overlapping",
        ),
        (
            "no platforms",
            |m| m["spec"]["platforms"] = serde_json::json!([]),
            "platform",
        ),
    ];
    for (what, mutate, want) in cases {
        let mut m = good.clone();
        mutate(&mut m);
        let err = krew::validate("mosaic.yaml", &m).expect_err(what);
        assert!(err.contains(want), "{what}: {err}");
    }
    assert!(krew::validate("mosaic.yml", &good).is_err());
    assert!(krew::valid_version("v1.2.3-rc.1+build.5"));
    assert!(!krew::valid_version("v1.2.3.4"));
}

#[test]
fn emulated_krew_install_runs_through_the_real_kubectl() {
    let (m, archive) = release();
    let krew_root = tempfile::tempdir().unwrap();
    let link = krew_install::install(&m, &archive, krew_root.path(), "linux", "amd64").unwrap();
    assert_eq!(link, krew_root.path().join("bin/kubectl-mosaic"));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        krew_root
            .path()
            .join("store/mosaic")
            .join(version())
            .join("kubectl-mosaic")
    );
    assert!(
        krew_install::license_installed(krew_root.path()),
        "LICENSE not extracted"
    );
    let again =
        krew_install::install(&m, &archive, krew_root.path(), "linux", "amd64").unwrap_err();
    assert!(again.contains("already installed"), "{again}");

    let bin_dir = krew_root.path().join("bin");
    let home = tempfile::tempdir().unwrap();
    let path = format!("{}:/usr/bin:/bin", bin_dir.display());
    let kubectl = |args: &[&str], path: &str| {
        Command::new(KUBECTL)
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", home.path())
            .output()
            .expect("run /usr/bin/kubectl (is kubectl installed?)")
    };

    let out = kubectl(&["mosaic", "version"], &path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Plugin Version: {}\n", version())
    );

    let out = kubectl(&["mosaic", "--help"], &path);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: kubectl mosaic"), "{help}");

    // Only the krew bin dir on PATH: the plugin is found and nothing is wrong with it.
    let out = kubectl(&["plugin", "list"], &bin_dir.display().to_string());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "plugin list failed: {stderr}");
    assert!(stdout.contains(&link.display().to_string()), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");

    // kubectl's plugin completion runs kubectl_complete-mosaic from PATH.
    std::fs::copy(
        root().join("krew/kubectl_complete-mosaic"),
        bin_dir.join("kubectl_complete-mosaic"),
    )
    .unwrap();
    let out = kubectl(&["__complete", "mosaic", ""], &path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for sub in [
        "bind", "unbind", "list", "status", "deploy", "logs", "explain", "version",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{sub}\t"))),
            "{sub} missing: {stdout}"
        );
    }
    assert!(stdout.lines().any(|l| l == ":4"), "{stdout}");
    let out = kubectl(&["__complete", "mosaic", "list", "-o", ""], &path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l == "wide"), "{stdout}");
}

fn tar_gz(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    let raw = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    gz.finish().unwrap()
}

fn with_archive(m: &Value, bytes: &[u8]) -> (Value, tempfile::NamedTempFile) {
    use sha2::Digest;
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let mut m = m.clone();
    m["spec"]["platforms"][0]["sha256"] = hex::encode(sha2::Sha256::digest(bytes)).into();
    (m, f)
}

#[test]
fn the_emulator_refuses_bad_archives() {
    let (m, archive) = release();
    let file = |b: &mut tar::Builder<Vec<u8>>, name: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o755);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, name, &b"hi"[..]).unwrap();
    };

    // Wrong checksum.
    let mut wrong = m.clone();
    wrong["spec"]["platforms"][0]["sha256"] = "0".repeat(64).into();
    let e = krew_install::install(
        &wrong,
        &archive,
        tempfile::tempdir().unwrap().path(),
        "linux",
        "amd64",
    )
    .unwrap_err();
    assert!(e.contains("checksum does not match"), "{e}");

    // A symlink entry.
    let bytes = tar_gz(|b| {
        file(b, "kubectl-mosaic");
        file(b, "LICENSE");
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_cksum();
        b.append_link(&mut h, "alias", "kubectl-mosaic").unwrap();
    });
    let (mm, f) = with_archive(&m, &bytes);
    let e = krew_install::install(
        &mm,
        f.path(),
        tempfile::tempdir().unwrap().path(),
        "linux",
        "amd64",
    )
    .unwrap_err();
    assert!(e.contains("unable to handle file type"), "{e}");

    // Path traversal: the tar crate refuses to write `..` names, so patch the header bytes.
    let mut raw = tar::Builder::new(Vec::new());
    file(&mut raw, "xxevil");
    let mut raw = raw.into_inner().unwrap();
    raw[..6].copy_from_slice(b"../evi");
    let mut h = tar::Header::new_old();
    h.as_mut_bytes().copy_from_slice(&raw[..512]);
    h.set_cksum();
    raw[..512].copy_from_slice(h.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let (mm, f) = with_archive(&m, &gz.finish().unwrap());
    let e = krew_install::install(
        &mm,
        f.path(),
        tempfile::tempdir().unwrap().path(),
        "linux",
        "amd64",
    )
    .unwrap_err();
    assert!(e.contains("suspicious path"), "{e}");

    // Not an archive at all.
    let (mm, f) = with_archive(&m, b"#!/bin/sh\necho\n");
    let e = krew_install::install(
        &mm,
        f.path(),
        tempfile::tempdir().unwrap().path(),
        "linux",
        "amd64",
    )
    .unwrap_err();
    assert!(e.contains("not a supported archive format"), "{e}");

    // The binary missing from the archive.
    let (mm, f) = with_archive(&m, &tar_gz(|b| file(b, "LICENSE")));
    let e = krew_install::install(
        &mm,
        f.path(),
        tempfile::tempdir().unwrap().path(),
        "linux",
        "amd64",
    )
    .unwrap_err();
    assert!(e.contains("kubectl-mosaic"), "{e}");

    // A platform the manifest does not offer.
    let e = krew_install::install(
        &m,
        &archive,
        tempfile::tempdir().unwrap().path(),
        "linux",
        "ppc64le",
    )
    .unwrap_err();
    assert!(e.contains("does not offer installation"), "{e}");
}
