//! The flag values clap cannot check by their type: a registry reached over plain HTTP
//! (`--insecure-registry`), a BuildKit frontend pinned by digest (`--syntax-frontends`) and a
//! duration as Kubernetes writes it (`--verify-window`, `--ready-grace`). Each answers a bad
//! value with the message clap prints.

use std::time::Duration;

/// A registry `HOST[:PORT]`, as the install settings check it.
pub(super) fn insecure_registry(s: &str) -> Result<String, String> {
    mosaic_core::install_settings::check_registry(s)
        .map(|()| s.to_string())
        .map_err(|e| e.to_string())
}

/// A BuildKit frontend reference pinned by digest (a tag can be moved to other code).
pub(super) fn pinned_frontend(s: &str) -> Result<String, String> {
    if mosaic_core::syntax_frontend::pinned(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not pinned: give the frontend as NAME@sha256:<64 hex digits> (a tag can be moved to other code)"
        ))
    }
}

/// A duration flag, as Kubernetes writes durations (`30s`, `1m30s`).
pub(super) fn duration(s: &str) -> Result<Duration, String> {
    mosaic_core::duration::parse(s)
}
