//! GitHub access for the plugin: listing an owner's repositories (`bind --auto`)
//! and resolving a branch to a commit (`deploy`), behind a narrow trait so the
//! commands can be tested without the network.

use std::future::Future;

use clap::Args;
use mosaic_core::install_settings::DEFAULT_GITHUB_API_URL;
use octocrab::{Octocrab, Page};
use serde::Deserialize;

use crate::error::Error;
use crate::github_deadline::Deadline;

/// The GitHub API endpoint and credentials (token from `GITHUB_TOKEN`).
#[derive(Args, Debug, Clone, Default)]
pub struct GitHubArgs {
    /// GitHub API base URL, for GitHub Enterprise (default: https://api.github.com).
    #[arg(
        help_heading = "GitHub options",
        long,
        env = "MOSAIC_GITHUB_API_URL",
        value_name = "URL"
    )]
    pub github_api_url: Option<String>,
    /// How long one GitHub call may take, connecting included (at most 10s of it); a bare
    /// number is seconds.
    #[arg(
        help_heading = "GitHub options",
        long,
        env = crate::github_deadline::TIMEOUT_ENV,
        value_name = "DURATION",
        value_parser = mosaic_core::duration::parse_flag
    )]
    pub github_timeout: Option<std::time::Duration>,
}

impl GitHubArgs {
    /// The API endpoint (`--github-api-url`, else api.github.com).
    pub fn api_url(&self) -> String {
        self.github_api_url
            .clone()
            .unwrap_or_else(|| DEFAULT_GITHUB_API_URL.into())
    }

    /// The deadlines of calls to that endpoint (`--github-timeout`).
    pub fn deadline(&self) -> Deadline {
        Deadline::new(&self.api_url(), self.github_timeout)
    }
}

/// Environment variable holding the GitHub token.
pub const TOKEN_ENV: &str = "GITHUB_TOKEN";

/// The GitHub calls the plugin makes.
pub trait GitHubApi {
    /// `owner/name` of every non-archived repository of a user or organization.
    fn list_repos(&self, owner: &str) -> impl Future<Output = Result<Vec<String>, Error>> + Send;
    /// The full commit SHA a branch (or any ref) points to.
    fn resolve_commit(
        &self,
        repo: &str,
        git_ref: &str,
    ) -> impl Future<Output = Result<String, Error>> + Send;
}

/// The octocrab-backed client.
pub struct GitHub {
    client: Octocrab,
    api_url: String,
    deadline: Deadline,
}

#[derive(Deserialize)]
struct RepoItem {
    full_name: String,
    #[serde(default)]
    archived: bool,
}

#[derive(Deserialize)]
struct CommitItem {
    sha: String,
}

impl GitHub {
    /// A client for `--github-api-url` (default api.github.com), authenticated with `token` when given.
    pub fn new(args: &GitHubArgs, token: Option<String>) -> Result<Self, Error> {
        let api_url = args.api_url();
        let deadline = args.deadline();
        let mut b = Octocrab::builder()
            .base_uri(api_url.as_str())
            .map_err(|e| Error::Usage(format!("invalid --github-api-url {api_url:?}: {e}")))?
            .set_connect_timeout(Some(deadline.connect()))
            .set_read_timeout(Some(deadline.total))
            .set_write_timeout(Some(deadline.total));
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            b = b.personal_token(t);
        }
        let client = b
            .build()
            .map_err(|e| Error::Other(format!("cannot build a GitHub client: {e}")))?;
        Ok(Self {
            client,
            api_url,
            deadline,
        })
    }

    /// A client authenticated with `GITHUB_TOKEN` when it is set.
    pub fn from_env(args: &GitHubArgs) -> Result<Self, Error> {
        Self::new(args, std::env::var(TOKEN_ENV).ok())
    }

    fn describe(&self, what: &str, e: octocrab::Error) -> Error {
        match &e {
            octocrab::Error::GitHub { source, .. } => {
                let code = source.status_code.as_u16();
                let hint = match code {
                    401 => format!(": the token was refused; set {TOKEN_ENV} to a valid token"),
                    403 => format!(
                        ": access denied or rate limited; set {TOKEN_ENV} to a token that can read it"
                    ),
                    404 => format!(": not found, or private and {TOKEN_ENV} cannot read it"),
                    _ => String::new(),
                };
                let err = format!("GitHub {what}: {} ({code}){hint}", source.message);
                if code == 404 {
                    Error::NotFound(err)
                } else {
                    Error::Other(err)
                }
            }
            _ => Error::Other(format!(
                "cannot reach GitHub at {} for {what}: {}{}",
                self.api_url,
                mosaic_core::error_chain::chain(&e),
                self.deadline.hint(&e)
            )),
        }
    }

    async fn all_repos(&self, route: &str) -> Result<Vec<RepoItem>, octocrab::Error> {
        let first: Page<RepoItem> = self.client.get(route, Some(&[("per_page", "100")])).await?;
        self.client.all_pages(first).await
    }
}

impl GitHubApi for GitHub {
    async fn list_repos(&self, owner: &str) -> Result<Vec<String>, Error> {
        let what = format!("the repositories of {owner}");
        self.deadline
            .within(&what, self.list_repos_now(owner))
            .await
    }

    async fn resolve_commit(&self, repo: &str, git_ref: &str) -> Result<String, Error> {
        let what = format!("the commit of {git_ref:?} in {repo}");
        self.deadline
            .within(&what, self.resolve_commit_now(repo, git_ref))
            .await
    }
}

impl GitHub {
    async fn list_repos_now(&self, owner: &str) -> Result<Vec<String>, Error> {
        if owner.is_empty()
            || !owner
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        {
            return Err(Error::Usage(format!(
                "{owner:?} is not a GitHub user or organization name"
            )));
        }
        let items = match self.all_repos(&format!("/orgs/{owner}/repos")).await {
            Ok(items) => items,
            Err(octocrab::Error::GitHub { source, .. }) if source.status_code.as_u16() == 404 => {
                self.all_repos(&format!("/users/{owner}/repos"))
                    .await
                    .map_err(|e| self.describe(&format!("repositories of {owner}"), e))?
            }
            Err(e) => return Err(self.describe(&format!("repositories of {owner}"), e)),
        };
        Ok(items
            .into_iter()
            .filter(|r| !r.archived)
            .map(|r| r.full_name)
            .collect())
    }

    async fn resolve_commit_now(&self, repo: &str, git_ref: &str) -> Result<String, Error> {
        let encoded: String = git_ref
            .bytes()
            .map(|c| {
                if c.is_ascii_alphanumeric() || b"-._~/".contains(&c) {
                    (c as char).to_string()
                } else {
                    format!("%{c:02X}")
                }
            })
            .collect();
        let c: CommitItem = self
            .client
            .get(format!("/repos/{repo}/commits/{encoded}"), None::<&()>)
            .await
            .map_err(|e| self.describe(&format!("commit of {git_ref:?} in {repo}"), e))?;
        mosaic_core::reference::parse_commit(&c.sha)
            .map(str::to_string)
            .map_err(|e| Error::Other(format!("GitHub answered an unexpected commit id: {e}")))
    }
}
