//! A test-side re-implementation of krew's manifest validation (krew
//! `internal/index/validation`, plus the `validate-krew-manifest` index rules).

use serde_json::Value;
use std::collections::BTreeMap;

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
pub fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
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
