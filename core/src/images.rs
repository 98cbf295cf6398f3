//! The images Mosaic runs, pinned by digest: `manifests/images.lock` (written by
//! `scripts/release --images`), compiled in for the generated manifests and `install`'s
//! defaults, and the check that every `image:` of a manifest is pinned.

use crate::reference::ImageRef;

/// `manifests/images.lock` as committed.
pub const LOCK: &str = include_str!("../../manifests/images.lock");
/// The lock's role of the webhook image (both Deployments run it).
pub const WEBHOOK: &str = "webhook";
/// The lock's role of the Docker engine sidecar's image.
pub const ENGINE: &str = "engine";

/// Why a lock file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LockError {
    #[error("images.lock line {line}: {text:?} is not `ROLE REPOSITORY:TAG@sha256:<64 hex>`")]
    Line { line: usize, text: String },
    #[error("images.lock names no {0} image: add a `{0} REPOSITORY:TAG@sha256:…` line")]
    Missing(&'static str),
    #[error("images.lock names the {0} image twice")]
    Twice(&'static str),
}

/// The reference the lock pins for `role`: each non-comment line is `role reference`, the
/// reference tagged and pinned by digest.
pub fn locked(lock: &str, role: &'static str) -> Result<String, LockError> {
    let mut found = None;
    for (i, raw) in lock.lines().enumerate() {
        let text = raw.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let bad = || LockError::Line {
            line: i + 1,
            text: text.to_string(),
        };
        let mut words = text.split_whitespace();
        let (Some(r), Some(reference), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad());
        };
        if !pinned(reference)
            || ImageRef::parse(reference)
                .ok()
                .and_then(|r| r.tag)
                .is_none()
        {
            return Err(bad());
        }
        if r == role {
            if found.is_some() {
                return Err(LockError::Twice(role));
            }
            found = Some(reference.to_string());
        }
    }
    found.ok_or(LockError::Missing(role))
}

/// The committed lock's reference for `role`. The lock is compiled in and `images::tests`
/// parses it, so a broken one never gets past the tests.
fn committed(role: &'static str) -> String {
    locked(LOCK, role).unwrap_or_else(|e| panic!("{e} (manifests/images.lock is compiled in)"))
}

/// The webhook image both Deployments run by default (`install --image` names another).
pub fn webhook_image() -> String {
    committed(WEBHOOK)
}

/// The Docker engine sidecar's image by default (`install --engine-image` names another).
pub fn engine_image() -> String {
    committed(ENGINE)
}

/// Is `reference` pinned by digest: a valid image reference ending `@sha256:<64 lowercase hex>`?
pub fn pinned(reference: &str) -> bool {
    ImageRef::parse(reference).is_ok_and(|r| r.digest.is_some())
}

/// The `image:` values of a YAML manifest that are not pinned by digest, with their line
/// numbers (1-based). A bare `image:` key (a schema's property, a mapping) is no image.
pub fn unpinned(yaml: &str) -> Vec<(usize, String)> {
    yaml.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let rest = line.trim_start().trim_start_matches("- ");
            let value = rest.strip_prefix("image:")?.trim();
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            (!value.is_empty() && !pinned(value)).then(|| (i + 1, value.to_string()))
        })
        .collect()
}

/// One warning per image install is told to run by tag only (`--image`, `--engine-image`):
/// such a reference is accepted (a mirror may serve nothing else), but the nodes then run
/// whatever the tag names when a pod starts.
pub fn unpinned_settings(settings: &crate::install_settings::Settings) -> Vec<String> {
    [
        ("--image", &settings.image),
        ("--engine-image", &settings.engine_image),
    ]
    .into_iter()
    .filter_map(|(flag, v)| {
        let v = v.as_deref().filter(|v| !pinned(v))?;
        Some(format!(
            "{flag} {v} is not pinned by digest: each pod start runs whatever the tag names then; give REPOSITORY@sha256:… (the digest `docker push` prints) to pin it"
        ))
    })
    .collect()
}

#[cfg(test)]
mod tests;
