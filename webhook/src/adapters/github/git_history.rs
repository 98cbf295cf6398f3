//! Asking GitHub, through octocrab, where a branch is and how two commits relate:
//! `GET /repos/{o}/{r}/branches/{branch}` and `GET /repos/{o}/{r}/compare/{base}...{head}`.
//! Answers are remembered with their `ETag` and asked for again with `If-None-Match`, so a
//! question whose answer did not change costs a 304 (free of GitHub's rate limit). Each error
//! keeps what tells its cause apart: the HTTP status, GitHub's message and, for a rate limit,
//! when it resets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use http_body_util::BodyExt;
use mosaic_core::reference::RepoName;

use crate::adapters::github::{GitHub, GitHubError, rate_limit};
use mosaic_core::BuildReason;

use crate::pipeline::ports::{Comparison, GitHistory, PortError, Relation, Token};

/// A question about git history GitHub did not answer, with the Build's reason for it.
pub(crate) fn history_error(e: GitHubError) -> PortError {
    let reason = match &e {
        GitHubError::Status { status: 404, .. } => BuildReason::CommitNotFound,
        GitHubError::Status { status: 422, .. } => BuildReason::CompareRefused,
        GitHubError::Status { status: 429, .. } => BuildReason::GitHubRateLimited,
        GitHubError::Status {
            status: 401 | 403, ..
        } => BuildReason::GitHubForbidden,
        _ => BuildReason::GitHubUnavailable,
    };
    e.port(reason)
}

/// Remembered answers by URL: (ETag, body); and the rate limit last seen per token.
#[derive(Clone, Default)]
pub struct Answers(
    Arc<Mutex<HashMap<String, (String, serde_json::Value)>>>,
    crate::adapters::github::rate_limit::Limits,
);

impl Answers {
    /// Forget everything once this many answers are kept (a cheap bound: 500 Bindings keep
    /// a few hundred branch answers; comparisons of old commits are not asked again).
    const MAX: usize = 4096;

    fn get(&self, url: &str) -> Option<(String, serde_json::Value)> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(url)
            .cloned()
    }

    fn put(&self, url: String, etag: String, body: serde_json::Value) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= Self::MAX {
            m.clear();
        }
        m.insert(url, (etag, body));
    }
}

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Answers")
    }
}

/// Parse `compare`'s body.
pub fn parse_comparison(v: &serde_json::Value) -> Option<Comparison> {
    let relation = match v["status"].as_str()? {
        "identical" => Relation::Identical,
        "ahead" => Relation::Ahead,
        "behind" => Relation::Behind,
        "diverged" => Relation::Diverged,
        _ => return None,
    };
    Some(Comparison {
        relation,
        ahead_by: v["ahead_by"].as_u64().unwrap_or_default(),
        behind_by: v["behind_by"].as_u64().unwrap_or_default(),
        merge_base: v["merge_base_commit"]["sha"].as_str().map(str::to_string),
    })
}

/// The one clear error for a non-2xx answer. A 403 or 429 that says the rate limit is spent
/// becomes a 429 (transient), carrying when it resets.
fn answer_error(what: String, status: u16, headers: &http::HeaderMap, body: &[u8]) -> GitHubError {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("HTTP {status}"));
    let spent = header("x-ratelimit-remaining") == Some("0") || header("retry-after").is_some();
    if (status == 403 || status == 429) && spent {
        let when = match (header("retry-after"), header("x-ratelimit-reset")) {
            (Some(secs), _) => format!("retry after {secs} s"),
            (None, Some(epoch)) => format!("the limit resets at {epoch} (Unix time)"),
            (None, None) => "no reset time given".into(),
        };
        return GitHubError::Status {
            what,
            status: 429,
            message: format!("rate limit exceeded ({message}; {when})"),
        };
    }
    GitHubError::Status {
        what,
        status,
        message,
    }
}

impl GitHub {
    /// GET `path` (under the API URL) with `If-None-Match` when an answer is remembered.
    async fn conditional_get(
        &self,
        token: Option<&Token>,
        path: String,
        what: String,
    ) -> Result<serde_json::Value, GitHubError> {
        let crab = self.client_for(token)?;
        let url = format!("{}{path}", self.api_url());
        let known = self.answers().get(&url);
        let mut headers = http::HeaderMap::new();
        if let Some((etag, _)) = &known
            && let Ok(v) = etag.parse()
        {
            headers.insert(http::header::IF_NONE_MATCH, v);
        }
        let resp = crab
            ._get_with_headers(url.as_str(), Some(headers))
            .await
            .map_err(|e| crate::adapters::github::failed(&what, &e))?;
        let status = resp.status();
        let now = rate_limit::unix_now_up();
        if let Some(limit) = rate_limit::RateLimit::from_headers(resp.headers(), now) {
            self.answers().1.note(token_key(token), limit);
        }
        if status == http::StatusCode::NOT_MODIFIED
            && let Some((_, body)) = known
        {
            return Ok(body);
        }
        let head = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| crate::adapters::github::failed(&what, &e))?
            .to_bytes();
        if !status.is_success() {
            return Err(answer_error(what, status.as_u16(), &head, &body));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| GitHubError::Status {
                what: what.clone(),
                status: status.as_u16(),
                message: format!("the answer is not JSON: {e}"),
            })?;
        if let Some(etag) = head.get(http::header::ETAG).and_then(|v| v.to_str().ok()) {
            self.answers().put(url, etag.to_string(), v.clone());
        }
        Ok(v)
    }

    /// How long to hold off before the next request with `token` (its rate limit is spent or
    /// nearly so, or GitHub said `Retry-After`), keeping `reserve` requests for others.
    pub fn hold_off(&self, token: Option<&Token>, reserve: u64) -> Option<std::time::Duration> {
        self.answers()
            .1
            .get(token_key(token))?
            .wait(rate_limit::unix_now(), reserve)
    }

    /// The commit `branch` points at now; `Ok(None)` when the branch does not exist.
    pub async fn branch_head(
        &self,
        token: Option<&Token>,
        repo: &RepoName,
        branch: &str,
    ) -> Result<Option<String>, GitHubError> {
        let what = format!("the head of {repo} branch {branch:?}");
        let path = format!("/repos/{}/{}/branches/{branch}", repo.owner, repo.name);
        match self.conditional_get(token, path, what.clone()).await {
            Ok(v) => v["commit"]["sha"]
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| GitHubError::Status {
                    what,
                    status: 200,
                    message: "the answer names no commit".into(),
                }),
            Err(GitHubError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// How `head` relates to `base`.
    pub async fn compare(
        &self,
        token: Option<&Token>,
        repo: &RepoName,
        base: &str,
        head: &str,
    ) -> Result<Comparison, GitHubError> {
        let what = format!("the comparison {base}...{head} in {repo}");
        let path = format!(
            "/repos/{}/{}/compare/{base}...{head}?per_page=1",
            repo.owner, repo.name
        );
        let v = self.conditional_get(token, path, what.clone()).await?;
        parse_comparison(&v).ok_or_else(|| GitHubError::Status {
            what,
            status: 200,
            message: "the answer has no known status".into(),
        })
    }
}

fn token_key(token: Option<&Token>) -> &str {
    token.map_or("", |t| t.0.as_str())
}

impl GitHistory for GitHub {
    fn hold_off(&self, token: Option<&Token>, reserve: u64) -> Option<std::time::Duration> {
        GitHub::hold_off(self, token, reserve)
    }

    fn branch_head<'a>(
        &'a self,
        token: Option<&'a Token>,
        repo: &'a RepoName,
        branch: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, PortError>> {
        Box::pin(async move {
            GitHub::branch_head(self, token, repo, branch)
                .await
                .map_err(history_error)
        })
    }

    fn compare<'a>(
        &'a self,
        token: Option<&'a Token>,
        repo: &'a RepoName,
        base: &'a str,
        head: &'a str,
    ) -> BoxFuture<'a, Result<Comparison, PortError>> {
        Box::pin(async move {
            GitHub::compare(self, token, repo, base, head)
                .await
                .map_err(history_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_as_github_writes_it() {
        // The shape of `@octokit/openapi`'s `commit-comparison` example, trimmed.
        let v = serde_json::json!({
            "url": "https://api.github.com/repos/octocat/Hello-World/compare/master...topic",
            "base_commit": {"sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
            "merge_base_commit": {"sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
            "status": "behind", "ahead_by": 1, "behind_by": 2, "total_commits": 1,
            "commits": [], "files": []
        });
        assert_eq!(
            parse_comparison(&v),
            Some(Comparison {
                relation: Relation::Behind,
                ahead_by: 1,
                behind_by: 2,
                merge_base: Some("6dcb09b5b57875f334f61aebed695e2e4193db5e".into())
            })
        );
        assert_eq!(
            parse_comparison(&serde_json::json!({"status": "odd"})),
            None
        );
    }

    #[test]
    fn a_spent_rate_limit_is_transient_and_says_when_it_resets() {
        let mut h = http::HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "1767225600".parse().unwrap());
        let body = br#"{"message":"API rate limit exceeded for 10.0.0.1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}"#;
        let e = answer_error("x".into(), 403, &h, body);
        assert!(e.is_transient(), "{e}");
        assert!(e.to_string().contains("rate limit") && e.to_string().contains("1767225600"));
        let forbidden = answer_error("x".into(), 403, &http::HeaderMap::new(), b"{}");
        assert!(!forbidden.is_transient());
    }

    #[tokio::test]
    async fn branches_and_comparisons_over_the_fake_graph_with_304s() {
        use mosaic_tests::fake_github::{FakeGitHub, File};
        let fake = FakeGitHub::start("tok").await;
        let full = "acme/app";
        let f = |m: &str| vec![File::new("f", m)];
        let a = fake.commit(full, "main", f("a"));
        let b = fake.commit(full, "main", f("b"));
        let side = fake.commit_off_branch(full, Some(&a), f("side"));
        let gh = GitHub::new(&fake.url, std::time::Duration::from_secs(5));
        let token = Token("tok".into());
        let repo = RepoName::parse(full).unwrap();
        let t = Some(&token);
        assert_eq!(
            gh.branch_head(t, &repo, "main").await.unwrap(),
            Some(b.clone())
        );
        assert_eq!(gh.branch_head(t, &repo, "gone").await.unwrap(), None);
        let rel = |x: Comparison| (x.relation, x.ahead_by, x.behind_by, x.merge_base);
        let ab = gh.compare(t, &repo, &a, &b).await.unwrap();
        assert_eq!(rel(ab), (Relation::Ahead, 1, 0, Some(a.clone())));
        let ba = gh.compare(t, &repo, &b, &a).await.unwrap();
        assert_eq!(rel(ba), (Relation::Behind, 0, 1, Some(a.clone())));
        let bs = gh.compare(t, &repo, &b, &side).await.unwrap();
        assert_eq!(rel(bs), (Relation::Diverged, 1, 1, Some(a.clone())));
        let aa = gh.compare(t, &repo, &a, &a).await.unwrap();
        assert_eq!(aa.relation, Relation::Identical);
        let ghost = "0123456789abcdef0123456789abcdef01234567";
        let e = gh.compare(t, &repo, ghost, &b).await.unwrap_err();
        assert!(matches!(e, GitHubError::Status { status: 404, .. }), "{e}");

        // Asked again, an unchanged branch costs a 304; a moved one a full answer.
        let before = fake.graph_requests();
        assert_eq!(gh.branch_head(t, &repo, "main").await.unwrap(), Some(b));
        let after = fake.graph_requests();
        assert_eq!(after.branch_not_modified, before.branch_not_modified + 1);
        assert_eq!(after.branch_full, before.branch_full);
        fake.move_branch(full, "main", &side);
        assert_eq!(gh.branch_head(t, &repo, "main").await.unwrap(), Some(side));
        assert_eq!(fake.graph_requests().branch_full, after.branch_full + 1);
    }
}
