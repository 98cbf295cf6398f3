//! Parsing and validation of image references, GitHub repository names and
//! commit ids. The regex patterns double as the CRD schema patterns, so the
//! server and the client agree on what is valid.

use std::fmt;

/// `owner/name` as GitHub allows it.
pub const REPO_PATTERN: &str = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$";
/// A full, lowercase, 40-hex commit SHA.
pub const COMMIT_PATTERN: &str = r"^[0-9a-f]{40}$";
/// An image repository (optional registry host[:port], then path components), with no tag or digest.
pub const IMAGE_REPOSITORY_PATTERN: &str = r"^(?:(?:localhost(?::[0-9]+)?|(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+(?::[0-9]+)?|(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]):[0-9]+)/)?[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*$";

const DEFAULT_REGISTRY: &str = "docker.io";

/// Why a reference was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("image reference {0:?} is empty")]
    Empty(String),
    #[error(
        "image reference {0:?} is invalid: repository names are lowercase letters, digits and . _ - separators, optionally prefixed by a registry host[:port]/"
    )]
    InvalidRepository(String),
    #[error(
        "image reference {0:?} has an invalid tag: tags are up to 128 of [A-Za-z0-9_.-], not starting with . or -"
    )]
    InvalidTag(String),
    #[error(
        "image reference {0:?} has an invalid digest: expected sha256: followed by 64 lowercase hex digits"
    )]
    InvalidDigest(String),
    #[error("image {0:?} must not carry a tag or digest: give the repository only, e.g. {1:?}")]
    NotARepository(String, String),
    #[error(
        "repository {0:?} is not a GitHub repository: use owner/name or https://github.com/owner/name"
    )]
    InvalidRepo(String),
    #[error("commit {0:?} is not a full commit id: expected 40 lowercase hex digits")]
    InvalidCommit(String),
}

/// A parsed image reference: `[registry/]path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (with port) as written, or `None` for Docker Hub shorthand.
    pub registry: Option<String>,
    /// Repository path within the registry.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

fn is_path_component(s: &str) -> bool {
    // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    let mut expect_alnum = true;
    while i < b.len() {
        if alnum(b[i]) {
            expect_alnum = false;
            i += 1;
            continue;
        }
        if expect_alnum {
            return false;
        }
        let sep_len = match b[i] {
            b'.' => 1,
            b'_' if b.get(i + 1) == Some(&b'_') => 2,
            b'_' => 1,
            b'-' => b[i..].iter().take_while(|&&c| c == b'-').count(),
            _ => return false,
        };
        i += sep_len;
        expect_alnum = true;
    }
    !expect_alnum
}

fn is_domain(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

impl ImageRef {
    /// Parse any image reference as a container runtime would.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ReferenceError::Empty(input.to_string()));
        }
        if s.len() > 255 + 128 + 72 {
            return Err(ReferenceError::InvalidRepository(input.to_string()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !is_digest(d) {
                    return Err(ReferenceError::InvalidDigest(input.to_string()));
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let t = &rest[last_slash + i + 1..];
                if !is_tag(t) {
                    return Err(ReferenceError::InvalidTag(input.to_string()));
                }
                (&rest[..last_slash + i], Some(t.to_string()))
            }
            None => (rest, None),
        };
        let mut parts: Vec<&str> = name.split('/').collect();
        let registry = if parts.len() > 1
            && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
        {
            let d = parts.remove(0);
            if !is_domain(d) {
                return Err(ReferenceError::InvalidRepository(input.to_string()));
            }
            Some(d.to_string())
        } else {
            None
        };
        if parts.is_empty() || !parts.iter().all(|p| is_path_component(p)) || name.len() > 255 {
            return Err(ReferenceError::InvalidRepository(input.to_string()));
        }
        Ok(Self {
            registry,
            path: parts.join("/"),
            tag,
            digest,
        })
    }

    /// Parse a reference that must be a bare repository (no tag, no digest).
    pub fn parse_repository(input: &str) -> Result<Self, ReferenceError> {
        let r = Self::parse(input)?;
        if r.tag.is_some() || r.digest.is_some() {
            return Err(ReferenceError::NotARepository(
                input.to_string(),
                r.repository(),
            ));
        }
        Ok(r)
    }

    /// The repository as written (registry prefix kept, tag and digest dropped).
    pub fn repository(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// Registry host used for credentials lookup (`docker.io` for Docker Hub shorthand).
    pub fn registry_host(&self) -> &str {
        self.registry.as_deref().unwrap_or(DEFAULT_REGISTRY)
    }

    /// `repo@digest` form.
    pub fn with_digest(&self, digest: &str) -> String {
        format!("{}@{digest}", self.repository())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// A GitHub repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl RepoName {
    /// Accepts `owner/name`, `https://github.com/owner/name[.git][/]`, `git@github.com:owner/name.git`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let bad = || ReferenceError::InvalidRepo(input.to_string());
        let s = input.trim();
        let s = s
            .strip_prefix("git@github.com:")
            .or_else(|| s.strip_prefix("https://github.com/"))
            .or_else(|| s.strip_prefix("http://github.com/"))
            .or_else(|| s.strip_prefix("github.com/"))
            .unwrap_or(s);
        let s = s.trim_end_matches('/');
        let s = s.strip_suffix(".git").unwrap_or(s);
        let (owner, name) = s.split_once('/').ok_or_else(bad)?;
        let owner_ok = !owner.is_empty()
            && owner.len() <= 39
            && owner
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-')
            && !owner.starts_with('-');
        let name_ok = !name.is_empty()
            && name.len() <= 100
            && name != "."
            && name != ".."
            // GitHub refuses names ending in ".git"; refusing them keeps parsing idempotent.
            && !name.ends_with(".git")
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
        if !owner_ok || !name_ok {
            return Err(bad());
        }
        Ok(Self {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Validate a full commit id.
pub fn parse_commit(input: &str) -> Result<&str, ReferenceError> {
    if input.len() == 40
        && input
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        Ok(input)
    } else {
        Err(ReferenceError::InvalidCommit(input.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_references() {
        let r = ImageRef::parse("registry.example.com:5000/team/api:v1").unwrap();
        assert_eq!(r.registry.as_deref(), Some("registry.example.com:5000"));
        assert_eq!(r.path, "team/api");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("nginx@{d}")).unwrap();
        assert_eq!(r.registry_host(), "docker.io");
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        let r = ImageRef::parse("localhost/app").unwrap();
        assert_eq!(r.registry.as_deref(), Some("localhost"));
        assert_eq!(
            ImageRef::parse("127.0.0.1:5000/a/b:1")
                .unwrap()
                .repository(),
            "127.0.0.1:5000/a/b"
        );
    }

    #[test]
    fn refuses_bad_references() {
        for bad in [
            "",
            "Bad Image:tag",
            "UPPER/case",
            "a//b",
            "a/b:",
            "a/b@sha256:xyz",
            "-a/b",
            "a__-b",
            "a/b:-x",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad} should be refused");
        }
        assert!(matches!(
            ImageRef::parse_repository("r.io/a:1"),
            Err(ReferenceError::NotARepository(_, ref repo)) if repo == "r.io/a"
        ));
    }

    #[test]
    fn schema_pattern_agrees_with_parser() {
        let re = regex::Regex::new(IMAGE_REPOSITORY_PATTERN).unwrap();
        for good in [
            "registry.example.com/team/api",
            "127.0.0.1:5000/a/b",
            "nginx",
            "a_b/c--d",
        ] {
            assert!(re.is_match(good), "{good}");
            assert!(ImageRef::parse_repository(good).is_ok(), "{good}");
        }
        for bad in ["Bad Image:tag", "r.io/a:1", "a@sha256:00", "UP/x"] {
            assert!(!re.is_match(bad), "{bad}");
            assert!(ImageRef::parse_repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repos() {
        for ok in [
            "acme/api",
            "https://github.com/acme/api.git",
            "git@github.com:acme/api.git",
            "github.com/acme/my.repo/",
        ] {
            let r = RepoName::parse(ok).unwrap();
            assert_eq!(r.owner, "acme", "{ok}");
        }
        for bad in [
            "acme",
            "acme/",
            "/api",
            "ac me/api",
            "acme/a/b",
            "acme/..",
            "https://gitlab.com/a/b",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad}");
        }
        let re = regex::Regex::new(REPO_PATTERN).unwrap();
        assert!(re.is_match("acme/api") && !re.is_match("acme"));
    }

    #[test]
    fn repo_parsing_is_idempotent_for_dot_git_names() {
        assert_eq!(RepoName::parse("acme/app.git").unwrap().name, "app");
        assert!(RepoName::parse("acme/app.git.git").is_err());
    }

    #[test]
    fn commits() {
        assert!(parse_commit(&"a".repeat(40)).is_ok());
        assert!(parse_commit(&"A".repeat(40)).is_err());
        assert!(parse_commit("abc").is_err());
        let re = regex::Regex::new(COMMIT_PATTERN).unwrap();
        assert!(re.is_match(&"0".repeat(40)));
    }
}
