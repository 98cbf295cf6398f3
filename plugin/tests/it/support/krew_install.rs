//! A test-side re-implementation of `kubectl krew install --manifest --archive`
//! (krew `internal/installation`): sha256 check, tar.gz extraction refusing
//! traversal and links, file operations, the bin link and the receipt; plus
//! `validate-krew-manifest`'s LICENSE check.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::krew::{is_clean, s, selector_matches};

const LICENSE_NAMES: &[&str] = &[
    "license",
    "license.txt",
    "license.md",
    "licenses",
    "licenses.txt",
    "licenses.md",
    "copying",
    "copying.txt",
];

fn suspicious(name: &str) -> bool {
    name.contains("..") || name.starts_with('/') || name.starts_with('\\')
}

fn is_sub_path(base: &Path, p: &Path) -> bool {
    p.strip_prefix(base)
        .is_ok_and(|r| !r.components().any(|c| matches!(c, Component::ParentDir)))
}

/// Extract a tar.gz into `dir` the way krew does: regular files and dirs only.
pub fn extract_tar_gz(bytes: &[u8], dir: &Path) -> Result<(), String> {
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for e in ar.entries().map_err(|e| e.to_string())? {
        let mut e = e.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&e.path_bytes()).to_string();
        if name == "pax_global_header" {
            continue;
        }
        if suspicious(&name) {
            return Err(format!("refusing to extract suspicious path {name:?}"));
        }
        let path = dir.join(&name);
        let mode = e.header().mode().unwrap_or(0o644);
        match e.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&path).map_err(|e| e.to_string())?
            }
            tar::EntryType::Regular => {
                std::fs::create_dir_all(path.parent().unwrap_or(dir)).map_err(|e| e.to_string())?;
                let mut data = vec![];
                e.read_to_end(&mut data).map_err(|e| e.to_string())?;
                std::fs::write(&path, data).map_err(|e| e.to_string())?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| e.to_string())?;
            }
            t => {
                return Err(format!(
                    "unable to handle file type {t:?} for {name:?} in tar"
                ));
            }
        }
    }
    Ok(())
}

fn glob_match(pat: &str, name: &str) -> bool {
    match pat.split_once('*') {
        None => pat == name,
        Some((pre, rest)) => {
            name.starts_with(pre)
                && (0..=name.len() - pre.len()).any(|i| {
                    name.is_char_boundary(pre.len() + i) && glob_match(rest, &name[pre.len() + i..])
                })
        }
    }
}

fn apply_files(staging: &Path, tmp: &Path, files: &[(String, String)]) -> Result<(), String> {
    for (from, to) in files {
        if !is_clean(to) {
            return Err(format!("the provided path is not clean, {to:?}"));
        }
        let src = staging.join(from.trim_start_matches('/'));
        let moves: Vec<(PathBuf, PathBuf)> = if src.exists() {
            let mut target = tmp.join(to);
            if target.is_dir() {
                target = target.join(src.file_name().ok_or("bad from")?);
            }
            vec![(src, target)]
        } else {
            let parent = src.parent().ok_or("bad glob")?;
            let pat = src
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or("bad glob")?
                .to_string();
            let mut found = vec![];
            for e in std::fs::read_dir(parent).map_err(|e| e.to_string())? {
                let e = e.map_err(|e| e.to_string())?;
                let n = e.file_name().to_string_lossy().to_string();
                if glob_match(&pat, &n) {
                    found.push((e.path(), tmp.join(to).join(&n)));
                }
            }
            if found.is_empty() {
                return Err(format!(
                    "no files in the plugin archive matched the glob pattern={from}"
                ));
            }
            found
        };
        for (a, b) in moves {
            if !is_sub_path(staging, &a) || !is_sub_path(tmp, &b) {
                return Err(format!(
                    "file operation {from} -> {to} leaves the install directory"
                ));
            }
            std::fs::create_dir_all(b.parent().unwrap_or(tmp)).map_err(|e| e.to_string())?;
            if b.is_dir() {
                std::fs::remove_dir_all(&b).map_err(|e| e.to_string())?;
            }
            std::fs::rename(&a, &b).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// `kubectl krew install --manifest=M --archive=A` with `KREW_ROOT=root`, `KREW_OS`, `KREW_ARCH`.
/// Returns the bin link it created.
pub fn install(
    m: &Value,
    archive: &Path,
    root: &Path,
    os: &str,
    arch: &str,
) -> Result<PathBuf, String> {
    let name = s(m, "/metadata/name");
    let version = s(m, "/spec/version");
    for d in ["bin", "store", "receipts", "index"] {
        std::fs::create_dir_all(root.join(d)).map_err(|e| e.to_string())?;
    }
    let receipt = root.join("receipts").join(format!("{name}.yaml"));
    if receipt.exists() {
        return Err("can't install, the newest version is already installed".into());
    }
    let platforms = m
        .pointer("/spec/platforms")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let p = platforms
        .iter()
        .find(|p| selector_matches(&p["selector"], os, arch))
        .ok_or_else(|| format!("plugin {name:?} does not offer installation for this platform"))?;
    let bytes = std::fs::read(archive).map_err(|e| e.to_string())?;
    let got = hex::encode(Sha256::digest(&bytes));
    if got != s(p, "/sha256") {
        return Err(format!(
            "checksum does not match, want: {}, got {got}",
            s(p, "/sha256")
        ));
    }
    let staging = tempfile::tempdir().map_err(|e| e.to_string())?;
    match bytes.get(..3) {
        Some([0x1f, 0x8b, 0x08]) => extract_tar_gz(&bytes, staging.path())?,
        Some([b'P', b'K', 3]) => return Err("zip archives are not emulated".into()),
        _ => return Err("mime type for archive file is not a supported archive format".into()),
    }
    let files: Vec<(String, String)> = match p.get("files").and_then(Value::as_array) {
        Some(fs) => fs
            .iter()
            .map(|f| (s(f, "/from").to_string(), s(f, "/to").to_string()))
            .collect(),
        None => vec![("*".into(), ".".into())],
    };
    let tmp = tempfile::Builder::new()
        .prefix("krew-temp-move")
        .tempdir_in(root.join("store"))
        .map_err(|e| e.to_string())?;
    apply_files(staging.path(), tmp.path(), &files)?;
    let install_dir = root.join("store").join(name).join(version);
    std::fs::create_dir_all(install_dir.parent().unwrap_or(root)).map_err(|e| e.to_string())?;
    if install_dir.exists() {
        std::fs::remove_dir_all(&install_dir).map_err(|e| e.to_string())?;
    }
    std::fs::rename(tmp.keep(), &install_dir).map_err(|e| e.to_string())?;
    let bin = install_dir.join(s(p, "/bin"));
    if !is_sub_path(&install_dir, &bin) {
        return Err("bin escapes the install directory: krew would silently create no link".into());
    }
    if !bin.exists() {
        return Err(format!(
            "can't create symbolic link, source binary ({}) cannot be found in extracted archive",
            bin.display()
        ));
    }
    let mut link_name = format!("kubectl-{}", name.replace('-', "_"));
    if os == "windows" {
        link_name.push_str(".exe");
    }
    let link = root.join("bin").join(link_name);
    if let Ok(md) = std::fs::symlink_metadata(&link) {
        if !md.file_type().is_symlink() {
            return Err(format!("file {:?} is not a symlink", link.display()));
        }
        std::fs::remove_file(&link).map_err(|e| e.to_string())?;
    }
    std::os::unix::fs::symlink(&bin, &link).map_err(|e| e.to_string())?;
    let mut receipt_doc = m.clone();
    receipt_doc["status"] = serde_json::json!({"source": {"name": "detached"}});
    std::fs::write(
        &receipt,
        serde_yaml::to_string(&receipt_doc).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    Ok(link)
}

/// `validate-krew-manifest`'s license check: a LICENSE-like regular file under `store/`.
pub fn license_installed(root: &Path) -> bool {
    fn walk(d: &Path) -> bool {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let p = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&p),
                    Ok(t) if t.is_file() => LICENSE_NAMES
                        .contains(&e.file_name().to_string_lossy().to_lowercase().as_str()),
                    _ => false,
                }
            })
    }
    walk(&root.join("store"))
}
