//! A test-side re-implementation of krew's manifest validation (krew
//! `internal/index/validation`, plus the `validate-krew-manifest` index rules)
//! and of `kubectl krew install --manifest --archive` (sha256 check, tar.gz
//! extraction refusing traversal and links, file operations, bin link, receipt).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";
const WINDOWS_FORBIDDEN: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];
/// `validate-krew-manifest`'s `allPlatforms()`.
pub const SUPPORTED: &[(&str, &str)] = &[
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];
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

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// `k8s.io/apimachinery` `ParseSemantic` behind krew's leading-`v` check.
pub fn valid_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let end = rest.find(['-', '+']).unwrap_or(rest.len());
    let (core, extra) = rest.split_at(end);
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &str| {
        !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) && (p == "0" || !p.starts_with('0'))
    };
    if parts.len() != 3 || !parts.iter().all(|p| numeric(p)) {
        return false;
    }
    let ident = |x: &str| {
        !x.is_empty()
            && x.split('.')
                .all(|i| !i.is_empty() && i.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
    };
    let (pre, build) = match extra.split_once('+') {
        Some((p, b)) => (p, Some(b)),
        None => (extra, None),
    };
    (pre.is_empty() || pre.strip_prefix('-').is_some_and(ident)) && build.is_none_or(ident)
}

/// Whether a krew label selector matches `{os, arch}`.
pub fn selector_matches(sel: &Value, os: &str, arch: &str) -> bool {
    let labels: BTreeMap<&str, &str> = [("os", os), ("arch", arch)].into();
    if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in ml {
            if labels.get(k.as_str()) != Some(&v.as_str().unwrap_or("")) {
                return false;
            }
        }
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = s(e, "/key");
        let vals: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let have = labels.get(key);
        let ok = match s(e, "/operator") {
            "In" => have.is_some_and(|h| vals.contains(h)),
            "NotIn" => have.is_none_or(|h| !vals.contains(h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Go's `filepath.Clean(p) == p`: `.`, `bin`, `LICENSE` are clean; `./x`, `x/`, `a//b`, `a/../b` are not.
pub fn is_clean(p: &str) -> bool {
    if p == "." || p == "/" {
        return true;
    }
    if p.is_empty() || p.ends_with('/') {
        return false;
    }
    let abs = p.starts_with('/');
    let mut seen_normal = false;
    for c in p.trim_start_matches('/').split('/') {
        match c {
            "" | "." => return false,
            ".." if seen_normal || abs => return false,
            ".." => {}
            _ => seen_normal = true,
        }
    }
    true
}

fn validate_platform(p: &Value) -> Result<(), String> {
    let bad = |m: &str| Err(format!("platform is badly constructed: {m}"));
    if s(p, "/uri").is_empty() {
        return bad("`uri` has to be set");
    }
    let sha = s(p, "/sha256");
    if sha.is_empty() {
        return bad("`sha256` sum has to be set");
    }
    if sha.len() != 64
        || !sha
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return bad(&format!(
            "`sha256` value {sha} is not valid, must match pattern ^[a-f0-9]{{64}}$"
        ));
    }
    if s(p, "/bin").is_empty() {
        return bad("`bin` has to be set");
    }
    if let Some(files) = p.get("files") {
        let files = files.as_array().ok_or("`files` is invalid")?;
        if files.is_empty() {
            return bad("`files` has to be unspecified or non-empty");
        }
        for f in files {
            if s(f, "/from").is_empty() {
                return bad("`from` field has to be set");
            }
            let to = s(f, "/to");
            if to.is_empty() {
                return bad("`to` field has to be set");
            }
            if !is_clean(to) {
                return bad(&format!("the provided path is not clean, {to:?}"));
            }
        }
    }
    let Some(sel) = p.get("selector").filter(|v| !v.is_null()) else {
        return bad("nil selector is not supported");
    };
    let ml = sel.get("matchLabels");
    let me = sel.get("matchExpressions");
    if ml.is_none() && me.and_then(Value::as_array).is_none_or(|a| a.is_empty()) {
        return bad("empty selector is not supported");
    }
    if ml.is_some_and(|m| m.as_object().is_none_or(|o| o.is_empty())) {
        return bad("`matchLabels` specified but empty");
    }
    if me.is_some_and(|m| m.as_array().is_none_or(|a| a.is_empty())) {
        return bad("`matchExpressions` specified but empty");
    }
    let keys = ml
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|o| o.keys().cloned())
        .chain(
            me.and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| s(e, "/key").to_string()),
        );
    for k in keys {
        if k != "os" && k != "arch" {
            return bad(&format!("key {k:?} not supported"));
        }
    }
    Ok(())
}

/// krew's `ValidatePlugin` plus the index rules of `validate-krew-manifest`
/// (file name, platform coverage, no overlap) and the 50-character short description.
pub fn validate(file_name: &str, m: &Value) -> Result<(), String> {
    let name = file_name
        .strip_suffix(".yaml")
        .ok_or("manifest file must end in .yaml")?;
    if s(m, "/apiVersion") != API_VERSION {
        return Err(format!(
            "plugin manifest has apiVersion={:?}, not supported",
            s(m, "/apiVersion")
        ));
    }
    if s(m, "/kind") != "Plugin" {
        return Err(format!(
            "plugin manifest has kind={:?}, but only \"Plugin\" is supported",
            s(m, "/kind")
        ));
    }
    let safe = !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        && !WINDOWS_FORBIDDEN
            .iter()
            .any(|f| f.eq_ignore_ascii_case(name));
    if !safe {
        return Err(format!("the plugin name {name:?} is not allowed"));
    }
    if s(m, "/metadata/name") != name {
        return Err(format!(
            "plugin should be named {name:?}, not {:?}",
            s(m, "/metadata/name")
        ));
    }
    let short = s(m, "/spec/shortDescription");
    if short.is_empty() {
        return Err("should have a short description".into());
    }
    if short.contains(['\r', '\n']) {
        return Err("should not have line breaks in short description".into());
    }
    if short.chars().count() > 50 {
        return Err("short description longer than 50 characters (krew search cuts it)".into());
    }
    let platforms = m
        .pointer("/spec/platforms")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if platforms.is_empty() {
        return Err("should have a platform specified".into());
    }
    let version = s(m, "/spec/version");
    if version.is_empty() {
        return Err("should have a version specified".into());
    }
    if !valid_version(version) {
        return Err(format!("failed to parse plugin version {version:?}"));
    }
    for p in &platforms {
        validate_platform(p)?;
    }
    for (i, p) in platforms.iter().enumerate() {
        let sel = &p["selector"];
        if !SUPPORTED.iter().any(|(o, a)| selector_matches(sel, o, a)) {
            return Err(format!(
                "spec.platform[{i}]'s selector doesn't match any supported platforms"
            ));
        }
        if SUPPORTED
            .iter()
            .any(|(o, a)| selector_matches(sel, o, a) && *o == "windows")
            && !s(p, "/bin").ends_with(".exe")
        {
            return Err(format!(
                "spec.platform[{i}] selects windows but bin is not an .exe"
            ));
        }
    }
    for (o, a) in SUPPORTED {
        let idx: Vec<usize> = (0..platforms.len())
            .filter(|&i| selector_matches(&platforms[i]["selector"], o, a))
            .collect();
        if idx.len() > 1 {
            return Err(format!(
                "multiple spec.platforms (at indexes {idx:?}) have overlapping selectors that select {o}/{a}"
            ));
        }
    }
    Ok(())
}

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
