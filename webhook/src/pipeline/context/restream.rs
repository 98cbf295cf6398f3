//! The restream itself, one concern per step: the pax global header (which commit the archive
//! holds), where an entry lands (under the single top directory, inside the context directory,
//! re-rooted), how each kind of entry is copied (files, the Dockerfile with its labels,
//! directories, symbolic and hard links; anything else refused), and the checks once all
//! entries were seen (every symlink resolved inside the context, the context and the Dockerfile
//! present).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::dockerfile::LabelLine;
use super::symlinks::Links;
use super::{
    ContextError, ContextSpec, ContextSummary, MAX_PAX_GLOBAL, checked_dockerfile, header_for,
    labelled_dockerfile, pax_comment, refused, split_top, unlinked_dockerfile,
};

/// Stream a GitHub gzip tarball (`gz`) into a build-context tar stream (`out`).
///
/// `expected_commit`, when given, must equal the commit recorded in the pax global header (if
/// the archive has one). With `labels`, the Dockerfile entry gets them appended as one `LABEL`
/// line (`dockerfile::dockerfile_with_labels`). Returns after writing the closing tar blocks.
pub fn restream<R: Read, W: Write>(
    gz: R,
    out: W,
    spec: &ContextSpec,
    expected_commit: Option<&str>,
    labels: Option<&LabelLine>,
) -> Result<ContextSummary, ContextError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let mut r = Restream {
        builder: tar::Builder::new(out),
        spec,
        labels,
        summary: ContextSummary::default(),
        top: None,
        saw_context: spec.context.as_os_str().is_empty(),
        saw_dockerfile: false,
        links: Links::default(),
    };
    for entry in archive.entries().map_err(ContextError::Read)? {
        let mut entry = entry.map_err(ContextError::Read)?;
        if entry.header().entry_type() == tar::EntryType::XGlobalHeader {
            r.summary.commit = archived_commit(&mut entry, expected_commit)?;
            continue;
        }
        let path = entry.path().map_err(ContextError::Read)?.into_owned();
        let Some(rel) = r.place(&path)? else {
            continue;
        };
        r.copy(&mut entry, &path, &rel)?;
        r.summary.entries += 1;
    }
    r.finish()
}

/// The commit a pax global header records, checked against `expected` when both are known.
fn archived_commit<E: Read>(
    entry: &mut tar::Entry<'_, E>,
    expected: Option<&str>,
) -> Result<Option<String>, ContextError> {
    let mut data = Vec::new();
    entry
        .take(MAX_PAX_GLOBAL)
        .read_to_end(&mut data)
        .map_err(ContextError::Read)?;
    let found = pax_comment(&data);
    if let (Some(found), Some(expected)) = (&found, expected)
        && found != expected
    {
        return Err(ContextError::CommitMismatch {
            expected: expected.into(),
            found: found.clone(),
        });
    }
    Ok(found)
}

/// One restream under way.
struct Restream<'a, W: Write> {
    builder: tar::Builder<W>,
    spec: &'a ContextSpec,
    labels: Option<&'a LabelLine>,
    summary: ContextSummary,
    /// The archive's single top directory, once seen.
    top: Option<String>,
    saw_context: bool,
    saw_dockerfile: bool,
    links: Links,
}

impl<W: Write> Restream<'_, W> {
    /// Where `path` lands in the context: `None` outside the context directory (or for the
    /// directory itself); an error for a second top directory or an unsafe path.
    fn place(&mut self, path: &Path) -> Result<Option<PathBuf>, ContextError> {
        let (entry_top, rest) = split_top(path)?;
        match &self.top {
            None => self.top = Some(entry_top),
            Some(t) if *t == entry_top => {}
            Some(_) => return Err(ContextError::NoTopDir(path.display().to_string())),
        }
        // Keep only entries under the context directory, re-rooted at it.
        let Ok(rel) = rest.strip_prefix(&self.spec.context) else {
            return Ok(None);
        };
        self.saw_context = true;
        Ok((!rel.as_os_str().is_empty()).then(|| rel.to_path_buf()))
    }

    /// Copy one entry, now at `rel` (`path` in the archive), by its kind.
    fn copy<E: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, E>,
        path: &Path,
        rel: &Path,
    ) -> Result<(), ContextError> {
        let header = entry.header().clone();
        let kind = header.entry_type();
        if kind != tar::EntryType::Symlink {
            self.links.forget(rel);
        }
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => self.file(entry, rel, &header),
            tar::EntryType::Directory => {
                let mut h = header_for(&header, tar::EntryType::Directory, 0);
                self.builder
                    .append_data(&mut h, rel, io::empty())
                    .map_err(ContextError::Write)
            }
            tar::EntryType::Symlink | tar::EntryType::Link => self.link(entry, path, rel, &header),
            other => {
                let what = match other {
                    tar::EntryType::Char => "character device",
                    tar::EntryType::Block => "block device",
                    tar::EntryType::Fifo => "named pipe",
                    _ => "unsupported entry type",
                };
                Err(refused(
                    path,
                    format!("{what} not allowed in a build context"),
                ))
            }
        }
    }

    /// A regular file; the Dockerfile gets the labels appended when there are any.
    fn file<E: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, E>,
        rel: &Path,
        header: &tar::Header,
    ) -> Result<(), ContextError> {
        let is_dockerfile = rel == self.spec.dockerfile;
        let frontends = self
            .spec
            .syntax_frontends
            .as_deref()
            .filter(|_| is_dockerfile);
        let rewritten = match (self.labels.filter(|_| is_dockerfile), frontends) {
            (Some(labels), _) => Some(labelled_dockerfile(entry, rel, labels)?),
            (None, Some(allowed)) => Some(checked_dockerfile(entry, rel, allowed)?),
            (None, None) => None,
        };
        if let Some(text) = rewritten {
            let size = text.len() as u64;
            let mut h = header_for(header, tar::EntryType::Regular, size);
            self.builder
                .append_data(&mut h, rel, &text[..])
                .map_err(ContextError::Write)?;
            self.summary.bytes += size;
        } else {
            let size = entry.size();
            let mut h = header_for(header, tar::EntryType::Regular, size);
            self.builder
                .append_data(&mut h, rel, entry)
                .map_err(ContextError::Write)?;
            self.summary.bytes += size;
        }
        self.saw_dockerfile |= is_dockerfile;
        Ok(())
    }

    /// A symbolic or hard link, checked the one way for both: it needs a target; a symlink is
    /// kept when it resolves inside the context (checked again at the end, against every later
    /// entry); a linked Dockerfile cannot be labelled or have its frontend checked; a hard
    /// link's target must be inside the context too, and is re-rooted like it.
    fn link<E: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, E>,
        path: &Path,
        rel: &Path,
        header: &tar::Header,
    ) -> Result<(), ContextError> {
        let kind = header.entry_type();
        let symbolic = kind == tar::EntryType::Symlink;
        let what = if symbolic { "symlink" } else { "hard link" };
        let target = entry
            .link_name()
            .map_err(ContextError::Read)?
            .map(|t| t.into_owned())
            .ok_or_else(|| refused(path, format!("{what} without a target")))?;
        if symbolic {
            self.links
                .add(rel, &target)
                .map_err(|e| refused(rel, e.describe(&target)))?;
        }
        unlinked_dockerfile(self.spec, self.labels, rel)?;
        let written = if symbolic {
            target
        } else {
            let (_, t_rest) = split_top(&target)?;
            t_rest
                .strip_prefix(&self.spec.context)
                .map_err(|_| {
                    refused(
                        path,
                        format!("hard link to {target:?} points outside the build context"),
                    )
                })?
                .to_path_buf()
        };
        let mut h = header_for(header, kind, 0);
        self.builder
            .append_link(&mut h, rel, &written)
            .map_err(ContextError::Write)?;
        self.saw_dockerfile |= symbolic && rel == self.spec.dockerfile;
        Ok(())
    }

    /// After the last entry: the checks that need all of them, then the closing tar blocks.
    fn finish(self) -> Result<ContextSummary, ContextError> {
        if self.top.is_none() {
            return Err(ContextError::NoTopDir(String::new()));
        }
        self.links
            .recheck()
            .map_err(|(link, target, e)| refused(link, e.describe(target)))?;
        if !self.saw_context {
            return Err(ContextError::ContextMissing(
                self.spec.context.display().to_string(),
            ));
        }
        if !self.saw_dockerfile {
            return Err(ContextError::DockerfileMissing(
                self.spec.dockerfile.display().to_string(),
            ));
        }
        self.builder
            .into_inner()
            .map_err(ContextError::Write)?
            .flush()
            .map_err(ContextError::Write)?;
        Ok(self.summary)
    }
}
