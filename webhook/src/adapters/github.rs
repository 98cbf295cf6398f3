//! GitHub, through octocrab: download the tarball of exactly one commit (following the 302 to
//! codeload) as a byte stream, and post commit statuses. The token comes from the Binding's
//! Secret per call; the API base URL from `--github-api-url` (GitHub Enterprise, or a fake).

pub(crate) mod git_history;
pub(crate) mod rate_limit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{Stream, StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use mosaic_core::reference::RepoName;
use octocrab::Octocrab;
use octocrab::models::StatusState;
use octocrab::service::middleware::retry::RetryConfig;

use mosaic_core::BuildReason;

use crate::pipeline::ports::{
    BROKE_OFF, ByteStream, CommitState, Kind, PortError, SourceHost, Token,
};

/// Why a GitHub call failed. Messages carry the HTTP status and GitHub's message, never a token.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub API URL {0:?} is invalid")]
    BadUrl(String),
    #[error("GitHub answered {status} for {what}: {message}")]
    Status {
        what: String,
        status: u16,
        message: String,
    },
    #[error("GitHub request for {what} failed: {message}")]
    Transport { what: String, message: String },
}

impl GitHubError {
    /// May the same request succeed if made again? Transport failures (timeouts, refused or
    /// reset connections), 5xx and 429 answers.
    pub fn is_transient(&self) -> bool {
        match self {
            GitHubError::Status { status, .. } => *status >= 500 || *status == 429,
            GitHubError::Transport { .. } => true,
            GitHubError::BadUrl(_) => false,
        }
    }

    /// May the same request succeed if made again, or did GitHub refuse the token?
    pub fn kind(&self) -> Kind {
        match self {
            _ if self.is_transient() => Kind::Transient,
            GitHubError::Status {
                status: 401 | 403, ..
            } => Kind::Refused,
            _ => Kind::Permanent,
        }
    }

    /// The error as the pipeline sees it, recorded as `reason` should the run end on it.
    pub fn port(self, reason: BuildReason) -> PortError {
        PortError::new(self.kind(), reason, self)
    }
}

/// A GitHub API endpoint.
#[derive(Debug, Clone)]
pub struct GitHub {
    api_url: String,
    timeout: Duration,
    clients: Clients,
    /// Answers remembered for conditional requests (`git_history`).
    answers: git_history::Answers,
}

/// Built clients by token, shared by every call: building one loads and parses the system's
/// root certificates and starts an empty connection pool, so a client per call cost a TLS
/// handshake and milliseconds of CPU for each status report. A handful of tokens is normal; the
/// map is emptied when rotated tokens pile up past [`Clients::MAX`].
#[derive(Clone, Default)]
struct Clients(Arc<Mutex<HashMap<String, Octocrab>>>);

impl Clients {
    const MAX: usize = 64;

    fn get_or_build(
        &self,
        token: Option<&Token>,
        build: impl FnOnce() -> Result<Octocrab, GitHubError>,
    ) -> Result<Octocrab, GitHubError> {
        let key = token.map(|t| t.0.clone()).unwrap_or_default();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let client = build()?;
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(key, client.clone());
        Ok(client)
    }
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|m| m.len()).unwrap_or_default();
        write!(f, "Clients({n})")
    }
}

/// The HTTP status (for GitHub's answers) and a one-line message that keeps the cause
/// (octocrab puts "operation timed out" and the like in the error's sources).
fn describe(e: &octocrab::Error) -> (Option<u16>, String) {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            (Some(source.status_code.as_u16()), source.message.clone())
        }
        other => (None, one_line(&mosaic_core::error_chain::chain(other))),
    }
}

/// `text` without the backtraces some octocrab errors append after a blank line.
fn one_line(text: &str) -> String {
    text.split("\n\n")
        .next()
        .unwrap_or_default()
        .replace('\n', " ")
}

pub(crate) fn failed(what: &str, e: &octocrab::Error) -> GitHubError {
    let what = what.to_string();
    match describe(e) {
        (Some(status), message) => GitHubError::Status {
            what,
            status,
            message,
        },
        (None, message) => GitHubError::Transport { what, message },
    }
}

impl GitHub {
    pub fn new(api_url: &str, timeout: Duration) -> Self {
        Self {
            api_url: api_url.trim_end_matches('/').to_string(),
            timeout,
            clients: Clients::default(),
            answers: Default::default(),
        }
    }

    /// The API base URL, without a trailing slash.
    pub(crate) fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The answers kept for conditional requests.
    pub(crate) fn answers(&self) -> &git_history::Answers {
        &self.answers
    }

    /// The shared client for `token`.
    pub(crate) fn client_for(&self, token: Option<&Token>) -> Result<Octocrab, GitHubError> {
        self.client(token)
    }

    fn client(&self, token: Option<&Token>) -> Result<Octocrab, GitHubError> {
        self.clients
            .get_or_build(token, || self.build_client(token))
    }

    fn build_client(&self, token: Option<&Token>) -> Result<Octocrab, GitHubError> {
        let mut b = Octocrab::builder()
            .base_uri(self.api_url.as_str())
            .map_err(|_| GitHubError::BadUrl(self.api_url.clone()))?
            .set_connect_timeout(Some(self.timeout))
            .set_read_timeout(Some(self.timeout))
            .add_retry_config(RetryConfig::None);
        if let Some(t) = token {
            b = b.personal_token(t.0.clone());
        }
        b.build().map_err(|e| GitHubError::Transport {
            what: "client".into(),
            message: e.to_string(),
        })
    }

    /// Stream the gzip tarball of `commit`. Tried once: the pipeline's build stage tries
    /// again what is transient (`backoff`), so a failing download is not retried in two layers.
    pub async fn tarball(
        &self,
        token: Option<&Token>,
        repo: &RepoName,
        commit: &str,
    ) -> Result<
        impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static + use<>,
        GitHubError,
    > {
        let what = format!("the tarball of {repo}@{commit}");
        let crab = self.client(token)?;
        let resp = crab
            .repos(&repo.owner, &repo.name)
            .download_tarball(commit.to_string())
            .await
            .map_err(|e| failed(&what, &e))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
            return Err(GitHubError::Status {
                what,
                status: status.as_u16(),
                message,
            });
        }
        Ok(resp
            .into_body()
            .into_data_stream()
            .map_err(|e| std::io::Error::new(BROKE_OFF, describe(&e).1)))
    }

    /// Post a commit status under `context` (`plan::status_context`).
    pub async fn status(
        &self,
        token: Option<&Token>,
        repo: &RepoName,
        commit: &str,
        context: &str,
        state: CommitState,
        description: &str,
    ) -> Result<(), GitHubError> {
        let state = match state {
            CommitState::Pending => StatusState::Pending,
            CommitState::Success => StatusState::Success,
            CommitState::Failure => StatusState::Failure,
            CommitState::Error => StatusState::Error,
        };
        let crab = self.client(token)?;
        crab.repos(&repo.owner, &repo.name)
            .create_status(commit.to_string(), state)
            .context(context.to_string())
            .description(crate::pipeline::plan::status_description(description))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed(&format!("the commit status of {repo}@{commit}"), &e))
    }
}

impl SourceHost for GitHub {
    fn tarball<'a>(
        &'a self,
        token: Option<&'a Token>,
        repo: &'a RepoName,
        commit: &'a str,
    ) -> BoxFuture<'a, Result<ByteStream, PortError>> {
        Box::pin(async move {
            let s = GitHub::tarball(self, token, repo, commit)
                .await
                .map_err(|e| e.port(BuildReason::SourceUnavailable))?;
            Ok(s.boxed())
        })
    }

    fn status<'a>(
        &'a self,
        token: Option<&'a Token>,
        repo: &'a RepoName,
        commit: &'a str,
        context: &'a str,
        state: CommitState,
        description: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            GitHub::status(self, token, repo, commit, context, state, description)
                .await
                .map_err(|e| e.port(BuildReason::GitHubUnavailable))
        })
    }
}

#[cfg(test)]
mod tests;
