//! GitHub webhook payloads: the subset of a `push` event Mosaic acts on, parsed from the
//! already-verified raw body.

use serde::Deserialize;

/// The fields of a `push` payload Mosaic uses.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PushEvent {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub after: String,
    /// The commit the ref pointed at before the push (all zeros for a new branch).
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    pub repository: Repository,
    #[serde(default)]
    pub pusher: Option<Pusher>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Repository {
    pub full_name: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Pusher {
    pub name: String,
}

/// Why a payload could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("push payload is not valid JSON of the documented shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("push payload field `after` is {0:?}, not a 40-hex commit id")]
    BadCommit(String),
}

/// What a ref names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefKind<'a> {
    Branch(&'a str),
    Tag(&'a str),
    Other(&'a str),
}

impl PushEvent {
    /// Parse and sanity-check a push payload.
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let ev: Self = serde_json::from_slice(body)?;
        // A deletion's `after` is all zeros; anything else must be a real commit id.
        if !ev.deleted && mosaic_core::reference::parse_commit(&ev.after).is_err() {
            return Err(PayloadError::BadCommit(ev.after));
        }
        Ok(ev)
    }

    pub fn ref_kind(&self) -> RefKind<'_> {
        if let Some(b) = self.git_ref.strip_prefix("refs/heads/") {
            RefKind::Branch(b)
        } else if let Some(t) = self.git_ref.strip_prefix("refs/tags/") {
            RefKind::Tag(t)
        } else {
            RefKind::Other(&self.git_ref)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn parses_octokit_examples() {
        let b = PushEvent::parse(&data("push-branch.json")).unwrap();
        assert_eq!(b.ref_kind(), RefKind::Branch("master"));
        assert_eq!(b.after, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
        assert_eq!(b.repository.full_name, "Codertocat/Hello-World");
        assert_eq!(b.pusher.as_ref().unwrap().name, "Codertocat");
        let t = PushEvent::parse(&data("push-tag.json")).unwrap();
        assert_eq!(t.ref_kind(), RefKind::Tag("simple-tag"));
        let d = PushEvent::parse(&data("push-tag-deleted.json")).unwrap();
        assert!(d.deleted);
    }

    #[test]
    fn refuses_bad_payloads() {
        assert!(matches!(PushEvent::parse(b"{"), Err(PayloadError::Json(_))));
        assert!(matches!(
            PushEvent::parse(&data("ping.json")),
            Err(PayloadError::Json(_))
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&data("push-branch.json")).unwrap();
        v["after"] = "main".into();
        let e = PushEvent::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(e.to_string().contains("\"main\""), "{e}");
    }
}
