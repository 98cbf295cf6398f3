//! `cargo xtask check`'s image pins: every `image:` in `manifests/*.yaml` is pinned by digest,
//! `manifests/images.lock` parses, and its webhook image is tagged with the workspace version
//! (a version bump needs a release's lock, `scripts/release --images`).

use std::path::Path;

use anyhow::Context;
use mosaic_core::images::{self, ENGINE, WEBHOOK};
use mosaic_core::reference::ImageRef;

/// Each broken rule under `dir` (the manifests directory), one line each.
pub fn problems(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    for p in files {
        let body =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        for (line, image) in images::unpinned(&body) {
            out.push(format!(
                "{}:{line}: image {image:?} has no @sha256:<64 hex> digest (pin it in manifests/images.lock, then `cargo xtask gen`)",
                p.display()
            ));
        }
    }
    let lock_path = dir.join("images.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {}", lock_path.display()))?;
    for role in [WEBHOOK, ENGINE] {
        if let Err(e) = images::locked(&lock, role) {
            let line = format!("{}: {e}", lock_path.display());
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    if let Ok(webhook) = images::locked(&lock, WEBHOOK) {
        let tag = ImageRef::parse(&webhook).ok().and_then(|r| r.tag);
        if tag.as_deref() != Some(version) {
            out.push(format!(
                "{}: the webhook image {webhook} is not tagged {version}, the workspace version: run `scripts/release --images REGISTRY` to build, push and pin it",
                lock_path.display()
            ));
        }
    }
    Ok(out)
}
