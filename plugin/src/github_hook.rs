//! A repository's GitHub webhook, created or updated so it delivers push events
//! as JSON, signed with the cluster's webhook secret, to Mosaic. The request
//! shapes follow GitHub's REST API (`POST /repos/{owner}/{repo}/hooks`,
//! `PATCH /repos/{owner}/{repo}/hooks/{hook_id}`); the calls sit behind a
//! narrow trait and the create-or-update decision is a plain function; `hook_all`
//! hooks several repositories and reports each.

use std::future::Future;

use octocrab::Octocrab;
use serde::Deserialize;

use crate::error::{Error, Outcome};
use crate::github_deadline::Deadline;

/// A hook as `GET /repos/{owner}/{repo}/hooks` lists it (only what we read).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Hook {
    pub id: u64,
    #[serde(default)]
    pub config: HookConfig,
}

/// The part of a hook's `config` we compare.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct HookConfig {
    #[serde(default)]
    pub url: Option<String>,
}

/// What to do for one repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    /// Update the existing hook with this id (same URL).
    Update(u64),
}

/// Create, unless a hook already delivers to `url` (compared ignoring a trailing slash).
pub fn decide(existing: &[Hook], url: &str) -> Action {
    let norm = |u: &str| u.trim_end_matches('/').to_string();
    existing
        .iter()
        .find(|h| h.config.url.as_deref().map(norm) == Some(norm(url)))
        .map_or(Action::Create, |h| Action::Update(h.id))
}

/// The request body: push events only, JSON payloads, signed with `secret`, TLS verified.
/// `name` is only sent on create (the update endpoint does not take it).
pub fn body(action: Action, url: &str, secret: &str) -> serde_json::Value {
    let mut b = serde_json::json!({
        "active": true,
        "events": ["push"],
        "config": {
            "url": url,
            "content_type": "json",
            "secret": secret,
            "insecure_ssl": "0",
        },
    });
    if action == Action::Create {
        b["name"] = "web".into();
    }
    b
}

/// Check a `--url` before anything is sent: absolute https (http only for loopback tests).
pub fn validate_url(url: &str) -> Result<(), Error> {
    let ok = url.starts_with("https://")
        || url.starts_with("http://127.0.0.1")
        || url.starts_with("http://localhost");
    let has_host = url
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
    if ok && has_host {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--url {url:?} is not an https URL: give the public address GitHub delivers to, e.g. https://mosaic.example.com{}",
            mosaic_core::names::WEBHOOK_PATH
        )))
    }
}

/// The GitHub calls `hook` makes.
pub trait HookApi {
    fn list_hooks(&self, repo: &str) -> impl Future<Output = Result<Vec<Hook>, Error>> + Send;
    fn create_hook(
        &self,
        repo: &str,
        body: &serde_json::Value,
    ) -> impl Future<Output = Result<Hook, Error>> + Send;
    fn update_hook(
        &self,
        repo: &str,
        id: u64,
        body: &serde_json::Value,
    ) -> impl Future<Output = Result<Hook, Error>> + Send;
}

/// Create or update `repo`'s hook for `url`; returns what was done and the hook id.
pub async fn ensure_hook(
    api: &impl HookApi,
    repo: &str,
    url: &str,
    secret: &str,
) -> Result<(Action, u64), Error> {
    let existing = api.list_hooks(repo).await?;
    let action = decide(&existing, url);
    let hook = match action {
        Action::Create => api.create_hook(repo, &body(action, url, secret)).await?,
        Action::Update(id) => {
            api.update_hook(repo, id, &body(action, url, secret))
                .await?
        }
    };
    Ok((action, hook.id))
}

/// The octocrab-backed implementation.
pub struct GitHubHooks {
    client: Octocrab,
    deadline: Deadline,
}

impl GitHubHooks {
    /// A client for `deadline`'s endpoint authenticated with `token`.
    pub fn new(deadline: Deadline, token: String) -> Result<Self, Error> {
        let api_url = deadline.api_url.clone();
        let client = Octocrab::builder()
            .base_uri(api_url.as_str())
            .map_err(|e| Error::Usage(format!("invalid --github-api-url {api_url:?}: {e}")))?
            .set_connect_timeout(Some(deadline.connect()))
            .set_read_timeout(Some(deadline.total))
            .set_write_timeout(Some(deadline.total))
            .personal_token(token)
            .build()
            .map_err(|e| Error::Other(format!("cannot build a GitHub client: {e}")))?;
        Ok(Self { client, deadline })
    }

    fn describe(&self, repo: &str, what: &str, e: octocrab::Error) -> Error {
        match &e {
            octocrab::Error::GitHub { source, .. } => {
                let hint = match source.status_code.as_u16() {
                    401 => "the token was refused; set GITHUB_TOKEN to a valid token",
                    403 | 404 => {
                        "the token cannot manage this repository's webhooks: it needs admin access (classic scope admin:repo_hook, or fine-grained Webhooks: write)"
                    }
                    422 => "GitHub rejected the hook (is the URL reachable and valid?)",
                    _ => "see GitHub's message",
                };
                Error::Other(format!(
                    "GitHub: cannot {what} for {repo}: {} ({}); {hint}",
                    source.message,
                    source.status_code.as_u16()
                ))
            }
            _ => Error::Other(format!(
                "GitHub: cannot {what} for {repo}: {}{}",
                mosaic_core::error_chain::chain(&e),
                self.deadline.hint(&e)
            )),
        }
    }
}

impl HookApi for GitHubHooks {
    async fn list_hooks(&self, repo: &str) -> Result<Vec<Hook>, Error> {
        let call = self
            .client
            .get(format!("/repos/{repo}/hooks?per_page=100"), None::<&()>);
        let call = async {
            call.await
                .map_err(|e| self.describe(repo, "list webhooks", e))
        };
        self.deadline
            .within(&format!("the webhooks of {repo}"), call)
            .await
    }

    async fn create_hook(&self, repo: &str, body: &serde_json::Value) -> Result<Hook, Error> {
        let call = self.client.post(format!("/repos/{repo}/hooks"), Some(body));
        let call = async {
            call.await
                .map_err(|e| self.describe(repo, "create the webhook", e))
        };
        self.deadline
            .within(&format!("creating the webhook of {repo}"), call)
            .await
    }

    async fn update_hook(
        &self,
        repo: &str,
        id: u64,
        body: &serde_json::Value,
    ) -> Result<Hook, Error> {
        let call = self
            .client
            .patch(format!("/repos/{repo}/hooks/{id}"), Some(body));
        let call = async {
            call.await
                .map_err(|e| self.describe(repo, "update the webhook", e))
        };
        self.deadline
            .within(&format!("updating the webhook of {repo}"), call)
            .await
    }
}

/// Hook each repository, reporting each on stdout; fails after trying them all if any failed.
pub async fn hook_all(
    api: &impl HookApi,
    repos: &[String],
    url: &str,
    secret: &str,
) -> Result<Outcome, Error> {
    let mut failed = Vec::new();
    for repo in repos {
        match ensure_hook(api, repo, url, secret).await {
            Ok((Action::Create, id)) => println!("{repo}: webhook {id} created for {url}"),
            Ok((Action::Update(_), id)) => println!("{repo}: webhook {id} updated for {url}"),
            Err(e) => {
                eprintln!("error: {e}");
                failed.push(repo.as_str());
            }
        }
    }
    if failed.is_empty() {
        Ok(Outcome::Success)
    } else {
        Err(Error::Other(format!(
            "{} of {} repositories were not hooked: {}",
            failed.len(),
            repos.len(),
            failed.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(id: u64, url: &str) -> Hook {
        Hook {
            id,
            config: HookConfig {
                url: Some(url.into()),
            },
        }
    }

    #[test]
    fn updates_the_hook_with_the_same_url_else_creates() {
        let hooks = [
            hook(1, "https://ci.example/x"),
            hook(7, "https://m.example/webhooks/github/"),
        ];
        assert_eq!(
            decide(&hooks, "https://m.example/webhooks/github"),
            Action::Update(7)
        );
        assert_eq!(
            decide(&hooks, "https://other.example/webhooks/github"),
            Action::Create
        );
        assert_eq!(decide(&[], "https://m.example/"), Action::Create);
    }

    #[test]
    fn bodies_have_githubs_shape() {
        let c = body(Action::Create, "https://m.example/webhooks/github", "s3");
        assert_eq!(c["name"], "web");
        assert_eq!(c["events"], serde_json::json!(["push"]));
        assert_eq!(c["config"]["content_type"], "json");
        assert_eq!(c["config"]["secret"], "s3");
        assert_eq!(c["config"]["insecure_ssl"], "0");
        let u = body(Action::Update(3), "https://m.example/webhooks/github", "s3");
        assert!(u.get("name").is_none(), "PATCH takes no name");
    }

    #[test]
    fn urls_must_be_https_with_a_host() {
        assert!(validate_url("https://m.example/webhooks/github").is_ok());
        assert!(validate_url("http://127.0.0.1:8080/webhooks/github").is_ok());
        assert!(validate_url("http://m.example/webhooks/github").is_err());
        assert!(validate_url("https:///x").is_err());
        assert!(validate_url("m.example").is_err());
    }
}
