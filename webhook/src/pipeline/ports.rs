//! The pipeline's narrow edges: the only Docker, GitHub and registry operations it calls, as
//! object-safe traits (boxed futures), so `pipeline::Ctx` holds `Arc<dyn …>` and neither the
//! worker nor the wiring becomes generic. `docker::Engine`, `github::GitHub` and
//! `registry::HttpRegistry` implement them; unit tests use in-memory fakes. Kubernetes stays a
//! plain `kube::Client` (see `pipeline`).
//!
//! The traits speak only the pipeline's own types: each adapter turns its failures into a
//! [`PortError`] (its `Kind` says whether trying again may help, its reason what the Build
//! records), so the stages never look inside an adapter's errors.

use std::io;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use mosaic_core::reference::RepoName;

use mosaic_core::BuildReason;
use mosaic_core::registry_auth::RegistryAuth;

pub use crate::backoff::Kind;
use crate::pipeline::context::ContextSummary;
use crate::pipeline::plan::BuildPlan;
pub use log_tail::LogTail;

mod log_tail;

/// Why a port's call failed, in the pipeline's words: whether trying again may help (`kind`),
/// the Build's reason should the run end on it, and a message that carries no secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PortError {
    pub kind: Kind,
    pub reason: BuildReason,
    pub message: String,
}

impl PortError {
    pub fn new(kind: Kind, reason: BuildReason, message: impl std::fmt::Display) -> Self {
        Self {
            kind,
            reason,
            message: message.to_string(),
        }
    }
}

/// What a finished build made: the context the engine was sent. (The log's tail goes to the
/// `LogTail` the build was given, which keeps it when the build fails or times out.)
#[derive(Debug, Clone, Default)]
pub struct BuildOutput {
    pub context: ContextSummary,
}

/// How two commits relate, as `GitHistory::compare` finds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The same commit.
    Identical,
    /// The head descends from the base.
    Ahead,
    /// The head is an ancestor of the base.
    Behind,
    /// Neither descends from the other.
    Diverged,
}

/// The answer to `compare/{base}...{head}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub relation: Relation,
    pub ahead_by: u64,
    pub behind_by: u64,
    pub merge_base: Option<String>,
}

/// The state of a commit status, in the pipeline's words (the GitHub adapter maps it onto
/// GitHub's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitState {
    Pending,
    Success,
    /// The commit itself failed (its build or rollout).
    Failure,
    /// Not deployed for another reason (superseded, refused, the cluster unreachable).
    Error,
}

/// A GitHub token. Its value never appears in `Debug` output.
#[derive(Clone)]
pub struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A gzip tarball as it arrives. A download that breaks off (the source hung up or stalled
/// past its timeout) yields an error of kind `BROKE_OFF`, so it can be told from bad data.
pub type ByteStream = BoxStream<'static, Result<Bytes, io::Error>>;

/// The error kind of a `ByteStream` whose download broke off.
pub const BROKE_OFF: io::ErrorKind = io::ErrorKind::ConnectionAborted;

/// Did reading the tarball fail because its download broke off (rather than on bad data)?
pub fn broke_off(e: &io::Error) -> bool {
    e.kind() == BROKE_OFF
}

/// Builds and pushes images.
pub trait ImageBuilder: Send + Sync {
    /// Build `plan.tag` from the gzip tarball of `commit`; log lines go to `tail`.
    fn build<'a>(
        &'a self,
        tarball: ByteStream,
        plan: &'a BuildPlan,
        commit: &'a str,
        auth: Option<&'a RegistryAuth>,
        tail: &'a mut LogTail,
    ) -> BoxFuture<'a, Result<BuildOutput, PortError>>;

    /// Push `repository:tag`; returns the manifest digest the engine reports.
    fn push<'a>(
        &'a self,
        repository: &'a str,
        tag: &'a str,
        auth: Option<&'a RegistryAuth>,
    ) -> BoxFuture<'a, Result<String, PortError>>;

    /// Push image `image_id` (as the build reported it) as `repository:tag`: the tag is set to
    /// that image first, and the pushed digest must be that image's. Without an id, [`push`].
    ///
    /// [`push`]: ImageBuilder::push
    fn push_image<'a>(
        &'a self,
        repository: &'a str,
        tag: &'a str,
        _image_id: Option<&'a str>,
        auth: Option<&'a RegistryAuth>,
    ) -> BoxFuture<'a, Result<String, PortError>> {
        self.push(repository, tag, auth)
    }
}

/// Where the source lives and where commit statuses go.
pub trait SourceHost: Send + Sync {
    /// The gzip tarball of exactly `commit`.
    fn tarball<'a>(
        &'a self,
        token: Option<&'a Token>,
        repo: &'a RepoName,
        commit: &'a str,
    ) -> BoxFuture<'a, Result<ByteStream, PortError>>;

    /// Post a commit status under `context`.
    fn status<'a>(
        &'a self,
        token: Option<&'a Token>,
        repo: &'a RepoName,
        commit: &'a str,
        context: &'a str,
        state: CommitState,
        description: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>>;
}

/// Confirms that a registry serves what the engine says it pushed.
pub trait RegistryCheck: Send + Sync {
    /// Does `host` serve `path@digest`?
    fn verify_digest<'a>(
        &'a self,
        auth: Option<&'a RegistryAuth>,
        host: &'a str,
        path: &'a str,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>>;

    /// Does `host` accept `auth` at all (`GET /v2/`)? `Ok(false)` when it refuses them.
    fn accepts<'a>(
        &'a self,
        auth: &'a RegistryAuth,
        host: &'a str,
    ) -> BoxFuture<'a, Result<bool, PortError>>;

    /// The manifest digest `host` serves for `path:tag`, `None` when it has no such tag. (A
    /// check that cannot look tags up says `None`: the Build is then built again.)
    fn tag_digest<'a>(
        &'a self,
        _auth: Option<&'a RegistryAuth>,
        _host: &'a str,
        _path: &'a str,
        _tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, PortError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Where a branch is and how commits relate: git's answer to "which commit is newest", asked
/// of the host instead of read from arrival times.
pub trait GitHistory: Send + Sync {
    /// How long to hold off before the next request with `token`: GitHub said `Retry-After`,
    /// or its rate limit is down to `reserve`. `None`: go ahead.
    fn hold_off(&self, _token: Option<&Token>, _reserve: u64) -> Option<std::time::Duration> {
        None
    }

    /// The commit `branch` points at; `Ok(None)` when the branch does not exist.
    fn branch_head<'a>(
        &'a self,
        token: Option<&'a Token>,
        repo: &'a RepoName,
        branch: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, PortError>>;

    /// How `head` relates to `base` (`compare/{base}...{head}`).
    fn compare<'a>(
        &'a self,
        token: Option<&'a Token>,
        repo: &'a RepoName,
        base: &'a str,
        head: &'a str,
    ) -> BoxFuture<'a, Result<Comparison, PortError>>;
}
