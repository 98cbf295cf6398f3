//! The tarball → build-context restreamer: reads GitHub's gzip tarball of one commit as a stream,
//! drops the `pax_global_header`, strips the `{owner}-{repo}-{short}/` top directory, keeps only
//! the Binding's `context` subdirectory and writes a fresh tar stream for the Docker engine.
//! Entries that could escape the context are refused with the reason. Memory use is bounded:
//! file contents are copied through, never collected, except the Dockerfile when labels are to
//! be written into it (`dockerfile`, capped at 1 MiB).

pub mod dockerfile;
mod restream;
mod symlinks;

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use dockerfile::{DockerfileError, LabelLine};
pub use restream::restream;

/// Cap on a pax global header's size (git writes ~52 bytes).
const MAX_PAX_GLOBAL: u64 = 64 * 1024;

/// Where in the repository the build context and Dockerfile are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSpec {
    /// Context directory relative to the repository root, normalised (empty = root).
    pub context: PathBuf,
    /// Dockerfile path relative to the context, normalised.
    pub dockerfile: PathBuf,
    /// When set (BuildKit builds), the frontends a `# syntax=` line may name
    /// (`mosaic_core::syntax_frontend`); the Dockerfile is then read, and must be a file.
    pub syntax_frontends: Option<Vec<String>>,
}

/// What was streamed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextSummary {
    /// Commit id recorded in the archive's pax global header, if any.
    pub commit: Option<String>,
    pub entries: u64,
    pub bytes: u64,
    /// The id of the image the engine built from it (set by the engine, not the restreamer).
    pub image_id: Option<String>,
}

/// Why a tarball could not become a build context.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Frontend(#[from] mosaic_core::syntax_frontend::Refused),
    #[error(
        "the Dockerfile {0} is a link; BuildKit builds read the Dockerfile's `# syntax=` line, so point spec.dockerfile at the file itself"
    )]
    FrontendUnchecked(String),
    #[error("build context {0:?} is invalid: {1}; use a relative directory inside the repository")]
    BadContext(String, &'static str),
    #[error("dockerfile path {0:?} is invalid: {1}; use a path relative to the build context")]
    BadDockerfile(String, &'static str),
    #[error("the repository tarball could not be read: {0}")]
    Read(#[source] io::Error),
    #[error("the build context stream was closed by the receiver: {0}")]
    Write(#[source] io::Error),
    #[error("tarball entry {path:?} refused: {why}")]
    Refused { path: String, why: String },
    #[error(
        "the tarball has no single top-level directory (saw {0:?}); is this a GitHub repository tarball?"
    )]
    NoTopDir(String),
    #[error(
        "the tarball is for commit {found}, not the requested {expected}: refusing to build it"
    )]
    CommitMismatch { expected: String, found: String },
    #[error("build context directory {0:?} does not exist at this commit")]
    ContextMissing(String),
    #[error("Dockerfile {0:?} does not exist in the build context at this commit")]
    DockerfileMissing(String),
    #[error("Dockerfile {path:?}: {source}")]
    Dockerfile {
        path: String,
        source: DockerfileError,
    },
}

/// Normalise a relative path: drop `.` components; refuse absolute paths and `..`.
fn normalise_relative(p: &str) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err("it contains `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("it is absolute"),
        }
    }
    Ok(out)
}

impl ContextSpec {
    /// Validate a Binding's `context` and `dockerfile`.
    pub fn new(context: &str, dockerfile: &str) -> Result<Self, ContextError> {
        let ctx =
            normalise_relative(context).map_err(|w| ContextError::BadContext(context.into(), w))?;
        let df = normalise_relative(dockerfile)
            .map_err(|w| ContextError::BadDockerfile(dockerfile.into(), w))?;
        if df.as_os_str().is_empty() {
            return Err(ContextError::BadDockerfile(
                dockerfile.into(),
                "it names no file",
            ));
        }
        Ok(Self {
            context: ctx,
            dockerfile: df,
            syntax_frontends: None,
        })
    }
}

fn refused(path: &Path, why: impl Into<String>) -> ContextError {
    ContextError::Refused {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// Parse pax records (`"<len> key=value\n"`…) and return the `comment` value.
fn pax_comment(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    text.lines().find_map(|rec| {
        let (_, kv) = rec.split_once(' ')?;
        kv.strip_prefix("comment=").map(str::to_string)
    })
}

/// Split an archive path into (top directory, rest), refusing `..` and absolute paths.
fn split_top(path: &Path) -> Result<(String, PathBuf), ContextError> {
    let mut comps = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir));
    let top = match comps.next() {
        Some(Component::Normal(t)) => t.to_string_lossy().into_owned(),
        Some(Component::RootDir | Component::Prefix(_)) => {
            return Err(refused(path, "absolute path"));
        }
        Some(Component::ParentDir) => return Err(refused(path, "path contains `..`")),
        _ => return Err(refused(path, "empty path")),
    };
    let mut rest = PathBuf::new();
    for c in comps {
        match c {
            Component::Normal(n) => rest.push(n),
            Component::ParentDir => return Err(refused(path, "path contains `..`")),
            _ => return Err(refused(path, "absolute path")),
        }
    }
    Ok((top, rest))
}

fn header_for(src: &tar::Header, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(
        src.mode()
            .unwrap_or(if kind.is_dir() { 0o755 } else { 0o644 }),
    );
    h.set_mtime(src.mtime().unwrap_or(0));
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    h
}

fn dockerfile_error(rel: &Path, source: DockerfileError) -> ContextError {
    ContextError::Dockerfile {
        path: rel.display().to_string(),
        source,
    }
}

/// Read the Dockerfile entry (at most `dockerfile::MAX_DOCKERFILE` bytes) and check its
/// `# syntax=` frontend against `allowed`.
fn checked_dockerfile<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    rel: &Path,
    allowed: &[String],
) -> Result<Vec<u8>, ContextError> {
    let text = read_dockerfile(entry, rel)?;
    mosaic_core::syntax_frontend::check(&text, allowed)?;
    Ok(text)
}

/// Read the Dockerfile entry (at most `dockerfile::MAX_DOCKERFILE` bytes) and append `labels`.
fn labelled_dockerfile<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    rel: &Path,
    labels: &LabelLine,
) -> Result<Vec<u8>, ContextError> {
    let original = read_dockerfile(entry, rel)?;
    dockerfile::dockerfile_with_labels(&original, labels).map_err(|e| dockerfile_error(rel, e))
}

fn read_dockerfile<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    rel: &Path,
) -> Result<Vec<u8>, ContextError> {
    let size = entry.size();
    if size > dockerfile::MAX_DOCKERFILE {
        return Err(dockerfile_error(
            rel,
            DockerfileError::TooLarge {
                size,
                limit: dockerfile::MAX_DOCKERFILE,
            },
        ));
    }
    let mut original = Vec::with_capacity(size as usize);
    entry
        .take(dockerfile::MAX_DOCKERFILE)
        .read_to_end(&mut original)
        .map_err(ContextError::Read)?;
    Ok(original)
}

/// A link where the Dockerfile is expected is refused when the Dockerfile must be read
/// (labels to append, or a frontend to check).
fn unlinked_dockerfile(
    spec: &ContextSpec,
    labels: Option<&LabelLine>,
    rel: &Path,
) -> Result<(), ContextError> {
    if rel != spec.dockerfile {
        return Ok(());
    }
    if labels.is_some() {
        return Err(dockerfile_error(rel, DockerfileError::Link));
    }
    if spec.syntax_frontends.is_some() {
        return Err(ContextError::FrontendUnchecked(rel.display().to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
