//! Symlinks in a build context, resolved as the archive streams by. A link's target is followed
//! through the links seen so far, as the kernel would follow them, so a chain such as
//! `a/b -> ..` then `c -> a/b/../..` is caught although each link looks harmless by its text
//! alone. A link can also be turned into an escape by a link that comes after it in the archive,
//! so once the archive ends every link is resolved again with all of them known. Pure.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Links followed in one resolution before giving up: Linux's own limit (`ELOOP`).
pub const MAX_HOPS: u32 = 40;
/// Links one context may hold: every one is kept until the archive ends, and the restreamer's
/// memory must not grow with the archive.
pub const MAX_LINKS: usize = 100_000;

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// It resolves above the context's root.
    Outside,
    /// It is, or goes through a link that is, an absolute path.
    Absolute,
    /// More than [`MAX_HOPS`] links: a loop.
    Loop,
    /// More than [`MAX_LINKS`] links in the context.
    TooMany,
}

impl Escape {
    /// The reason, one line, for the link to `target`.
    pub fn describe(self, target: &Path) -> String {
        match self {
            Self::Outside => format!("symlink to {target:?} points outside the build context"),
            Self::Absolute => {
                format!("symlink to absolute path {target:?} points outside the build context")
            }
            Self::Loop => format!(
                "symlink to {target:?} goes through more than {MAX_HOPS} links (a symlink loop)"
            ),
            Self::TooMany => format!(
                "more than {MAX_LINKS} symlinks in the build context; narrow the Binding's context"
            ),
        }
    }
}

/// The symlinks of one context, by their context-relative path.
#[derive(Debug, Default)]
pub struct Links(HashMap<PathBuf, PathBuf>);

impl Links {
    /// Record `link -> target` (both context-relative; `link` may replace an earlier entry) and
    /// resolve it with the links known so far.
    pub fn add(&mut self, link: &Path, target: &Path) -> Result<(), Escape> {
        if self.0.len() >= MAX_LINKS && !self.0.contains_key(link) {
            return Err(Escape::TooMany);
        }
        self.0.insert(link.to_path_buf(), target.to_path_buf());
        self.resolve(link, target)
    }

    /// An entry that is not a link replaces whatever link had its path.
    pub fn forget(&mut self, path: &Path) {
        if !self.0.is_empty() {
            self.0.remove(path);
        }
    }

    /// Resolve every link again, now that all are known: the first that escapes, with why.
    pub fn recheck(&self) -> Result<(), (&Path, &Path, Escape)> {
        let mut all: Vec<_> = self.0.iter().collect();
        all.sort(); // the same answer for the same archive
        for (link, target) in all {
            self.resolve(link, target)
                .map_err(|e| (link.as_path(), target.as_path(), e))?;
        }
        Ok(())
    }

    fn resolve(&self, link: &Path, target: &Path) -> Result<(), Escape> {
        let mut hops = 0;
        let dir = self.walk(
            Vec::new(),
            link.parent().unwrap_or(Path::new("")),
            &mut hops,
        )?;
        self.walk(dir, target, &mut hops).map(drop)
    }

    /// Follow `path` from the directory `at` (components below the root), through known links.
    fn walk(
        &self,
        mut at: Vec<OsString>,
        path: &Path,
        hops: &mut u32,
    ) -> Result<Vec<OsString>, Escape> {
        for c in path.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    at.pop().ok_or(Escape::Outside)?;
                }
                Component::RootDir | Component::Prefix(_) => return Err(Escape::Absolute),
                Component::Normal(n) => {
                    at.push(n.to_os_string());
                    let here: PathBuf = at.iter().collect();
                    if let Some(target) = self.0.get(&here) {
                        *hops += 1;
                        if *hops > MAX_HOPS {
                            return Err(Escape::Loop);
                        }
                        at.pop();
                        at = self.walk(at, target, hops)?;
                    }
                }
            }
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(links: &mut Links, link: &str, target: &str) -> Result<(), Escape> {
        links.add(Path::new(link), Path::new(target))
    }

    #[test]
    fn a_chain_of_harmless_looking_links_that_escapes_is_refused() {
        let mut l = Links::default();
        assert_eq!(add(&mut l, "a/b", ".."), Ok(()), "a/b is the root");
        assert_eq!(add(&mut l, "c", "a/b/../.."), Err(Escape::Outside));

        // The link's own directory is a link: `s/d` is the root, so `s/d/e -> ../x` leaves it.
        let mut l = Links::default();
        assert_eq!(add(&mut l, "s/d", ".."), Ok(()));
        assert_eq!(add(&mut l, "s/d/e", "../x"), Err(Escape::Outside));

        // Through a link to an absolute path.
        let mut l = Links::default();
        assert_eq!(add(&mut l, "abs", "/etc"), Err(Escape::Absolute));
        assert_eq!(add(&mut l, "via", "abs/passwd"), Err(Escape::Absolute));
    }

    #[test]
    fn a_link_made_to_escape_by_a_later_one_is_caught_at_the_end() {
        let mut l = Links::default();
        assert_eq!(
            add(&mut l, "c", "a/b/../.."),
            Ok(()),
            "a/b is a directory so far"
        );
        assert_eq!(add(&mut l, "a/b", ".."), Ok(()));
        let (link, _, why) = l.recheck().unwrap_err();
        assert_eq!((link, why), (Path::new("c"), Escape::Outside));

        // Replaced by a directory, the link no longer counts.
        l.forget(Path::new("a/b"));
        assert_eq!(l.recheck(), Ok(()));
    }

    #[test]
    fn links_that_stay_inside_pass_and_loops_are_named() {
        let mut l = Links::default();
        assert_eq!(add(&mut l, "lib", "vendor/lib"), Ok(()));
        assert_eq!(add(&mut l, "x/readme", "../lib/../README.md"), Ok(()));
        assert_eq!(add(&mut l, "deep/up", "../lib/./y"), Ok(()));
        assert_eq!(l.recheck(), Ok(()));

        let mut l = Links::default();
        assert_eq!(add(&mut l, "a", "b"), Ok(()));
        assert_eq!(add(&mut l, "b", "a"), Err(Escape::Loop));
        assert!(Escape::Loop.describe(Path::new("a")).contains("loop"));
    }

    #[test]
    fn the_number_of_links_is_capped() {
        let mut l = Links::default();
        for i in 0..MAX_LINKS {
            assert_eq!(add(&mut l, &format!("l{i}"), "x"), Ok(()));
        }
        assert_eq!(add(&mut l, "one-more", "x"), Err(Escape::TooMany));
        assert_eq!(
            add(&mut l, "l7", "y"),
            Ok(()),
            "replacing a link is not one more"
        );
    }
}
