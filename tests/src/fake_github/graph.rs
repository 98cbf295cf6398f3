//! The fake GitHub's commit graph: every commit has parents, branches point at commits and the
//! test moves them as git would (a push, a force-push, a reset). Served as GitHub's REST
//! description has them: `GET /repos/{o}/{r}/branches/{branch}` (`branch-with-protection`) and
//! `GET /repos/{o}/{r}/compare/{base}...{head}` (`commit-comparison`: `status`
//! ahead|behind|identical|diverged, `ahead_by`, `behind_by`, `merge_base_commit`), both with a
//! strong `ETag` and a 304 for a matching `If-None-Match` (which GitHub does not count against
//! the rate limit). Requests are counted per answer, for cost assertions.

use std::collections::{HashMap, HashSet, VecDeque};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{FakeGitHub, File, Repo, S, Shared, authorized, gh_error, sha_of, user};

/// Requests the graph endpoints answered, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GraphRequests {
    /// `GET …/branches/{b}` answered in full: 200, or 404 for a missing branch.
    pub branch_full: usize,
    /// `GET …/branches/{b}` answered 304 (conditional, unchanged).
    pub branch_not_modified: usize,
    /// `GET …/compare/…` answered 200 or 304.
    pub compare: usize,
}

impl Repo {
    /// `sha` and every commit it descends from.
    fn ancestry(&self, sha: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([sha.to_string()]);
        while let Some(c) = queue.pop_front() {
            if seen.insert(c.clone()) {
                queue.extend(self.parents.get(&c).cloned().unwrap_or_default());
            }
        }
        seen
    }

    /// A branch name or a full commit id, as the commit it names.
    fn rev(&self, r: &str) -> Option<String> {
        if self.commits.contains_key(r) {
            return Some(r.to_string());
        }
        self.branches.get(r).cloned()
    }

    fn add_commit(&mut self, full: &str, parent: Option<String>, files: Vec<File>) -> String {
        let sha = sha_of(full, self.commits.len(), &files);
        let depth = parent
            .as_ref()
            .and_then(|p| self.depth.get(p))
            .map_or(1, |d| d + 1);
        self.depth.insert(sha.clone(), depth);
        self.commits.insert(sha.clone(), files);
        self.parents
            .insert(sha.clone(), parent.into_iter().collect());
        sha
    }
}

fn commit_json(base: &str, full: &str, sha: &str, parents: &[String]) -> Value {
    let owner = full.split('/').next().unwrap_or_default();
    let api = format!("{base}/repos/{full}");
    json!({
        "url": format!("{api}/commits/{sha}"), "sha": sha, "node_id": "C_kwDO",
        "html_url": format!("https://github.com/{full}/commit/{sha}"),
        "comments_url": format!("{api}/commits/{sha}/comments"),
        "commit": {"url": format!("{api}/git/commits/{sha}"), "message": "test commit",
            "author": {"name": "Mosaic Test", "email": "test@example.com", "date": "2026-01-01T00:00:00Z"},
            "committer": {"name": "Mosaic Test", "email": "test@example.com", "date": "2026-01-01T00:00:00Z"},
            "tree": {"url": format!("{api}/git/trees/{sha}"), "sha": sha}, "comment_count": 0,
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null}},
        "author": user(base, owner), "committer": user(base, owner),
        "parents": parents.iter().map(|p| json!({"sha": p, "url": format!("{api}/commits/{p}"),
            "html_url": format!("https://github.com/{full}/commit/{p}")})).collect::<Vec<_>>()
    })
}

/// Answer `body` with its ETag, or 304 when the request already holds that ETag.
fn conditional(h: &HeaderMap, body: Value) -> (bool, Response) {
    let etag = format!(
        "\"{}\"",
        hex::encode(Sha256::digest(body.to_string().as_bytes()))
    );
    let held = h
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    let cache = [
        (header::ETAG, etag),
        (
            header::CACHE_CONTROL,
            "private, max-age=60, s-maxage=60".into(),
        ),
    ];
    if held {
        return (true, (StatusCode::NOT_MODIFIED, cache).into_response());
    }
    (false, (cache, axum::Json(body)).into_response())
}

pub(super) async fn branch(
    State(s): S,
    Path((o, r, b)): Path<(String, String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&s, &h) {
        return gh_error(StatusCode::UNAUTHORIZED, "Requires authentication");
    }
    let full = format!("{o}/{r}");
    let path = format!("/repos/{full}/branches/{b}");
    s.delay(&path).await;
    if let Some(f) = s.fault(&path) {
        return f;
    }
    let found = {
        let inner = s.lock();
        inner.repos.get(&full).and_then(|rp| {
            let sha = rp.branches.get(&b)?.clone();
            let parents = rp.parents.get(&sha).cloned().unwrap_or_default();
            Some((sha, parents))
        })
    };
    let Some((sha, parents)) = found else {
        s.lock().graph_requests.branch_full += 1;
        return gh_error(StatusCode::NOT_FOUND, "Branch not found");
    };
    let base = &s.base;
    let body = json!({
        "name": b, "commit": commit_json(base, &full, &sha, &parents),
        "_links": {"self": format!("{base}/repos/{full}/branches/{b}"), "html": format!("https://github.com/{full}/tree/{b}")},
        "protected": false,
        "protection": {"enabled": false, "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}},
        "protection_url": format!("{base}/repos/{full}/branches/{b}/protection")
    });
    let (unchanged, resp) = conditional(&h, body);
    let mut inner = s.lock();
    if unchanged {
        inner.graph_requests.branch_not_modified += 1;
    } else {
        inner.graph_requests.branch_full += 1;
    }
    resp
}

pub(super) async fn compare(
    State(s): S,
    Path((o, r, basehead)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    if !authorized(&s, &h) {
        return gh_error(StatusCode::UNAUTHORIZED, "Requires authentication");
    }
    let full = format!("{o}/{r}");
    let path = format!("/repos/{full}/compare/{basehead}");
    s.delay(&path).await;
    if let Some(f) = s.fault(&path) {
        return f;
    }
    let Some((base_rev, head_rev)) = basehead.split_once("...") else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let body = {
        let mut inner = s.lock();
        inner.graph_requests.compare += 1;
        let Some(rp) = inner.repos.get(&full) else {
            return gh_error(StatusCode::NOT_FOUND, "Not Found");
        };
        let (Some(b), Some(hd)) = (rp.rev(base_rev), rp.rev(head_rev)) else {
            return gh_error(StatusCode::NOT_FOUND, "Not Found");
        };
        comparison(&s, rp, &full, &basehead, &b, &hd, page_of(&q))
    };
    match body {
        Ok(body) => conditional(&h, body).1,
        Err(message) => gh_error(StatusCode::NOT_FOUND, &message),
    }
}

/// The window of `commits` a compare answers: without `per_page`, the first 250 (GitHub's
/// unpaginated compare); with it, `per_page` (1–100) commits of page `page` (from 1).
fn page_of(q: &HashMap<String, String>) -> std::ops::Range<usize> {
    let Some(per_page) = q.get("per_page").and_then(|v| v.parse::<usize>().ok()) else {
        return 0..250;
    };
    let per_page = per_page.clamp(1, 100);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    (page - 1) * per_page..page * per_page
}

fn comparison(
    s: &Shared,
    rp: &Repo,
    full: &str,
    basehead: &str,
    b: &str,
    hd: &str,
    window: std::ops::Range<usize>,
) -> Result<Value, String> {
    let (of_base, of_head) = (rp.ancestry(b), rp.ancestry(hd));
    let common: Vec<&String> = of_base.intersection(&of_head).collect();
    // The merge base: the common ancestor that descends from every other one (the deepest:
    // generations are kept per commit, so a long history costs no walk per candidate).
    let depth = |c: &str| rp.depth.get(c).copied().unwrap_or_default();
    let merge_base = common
        .iter()
        .max_by_key(|c| depth(c))
        .ok_or_else(|| format!("No common ancestor between {b} and {hd}."))?;
    let ahead: Vec<&String> = of_head.difference(&of_base).collect();
    let behind = of_base.difference(&of_head).count();
    let status = match (ahead.len(), behind) {
        (0, 0) => "identical",
        (_, 0) => "ahead",
        (0, _) => "behind",
        _ => "diverged",
    };
    let mut ahead: Vec<&String> = ahead;
    ahead.sort_by_key(|c| depth(c));
    let cj = |sha: &str| {
        commit_json(
            &s.base,
            full,
            sha,
            &rp.parents.get(sha).cloned().unwrap_or_default(),
        )
    };
    let web = format!("https://github.com/{full}/compare/{basehead}");
    Ok(json!({
        "url": format!("{}/repos/{full}/compare/{basehead}", s.base),
        "html_url": web, "permalink_url": format!("https://github.com/{full}/compare/{b}...{hd}"),
        "diff_url": format!("{web}.diff"), "patch_url": format!("{web}.patch"),
        "base_commit": cj(b), "merge_base_commit": cj(merge_base),
        "status": status, "ahead_by": ahead.len(), "behind_by": behind,
        "total_commits": ahead.len(),
        "commits": ahead.iter().skip(window.start).take(window.len()).map(|c| cj(c)).collect::<Vec<_>>(),
        "files": []
    }))
}

impl FakeGitHub {
    /// Commit `files` with parent `parent` (or none) without moving any branch: a commit GitHub
    /// serves that is on no branch, such as an unmerged pull request's head.
    pub fn commit_off_branch(&self, full: &str, parent: Option<&str>, files: Vec<File>) -> String {
        let mut inner = self.shared.lock();
        let repo = inner.repos.entry(full.to_string()).or_default();
        repo.add_commit(full, parent.map(str::to_string), files)
    }

    /// Point `branch` at `sha` (`git push --force` / `git reset --hard` then force-push).
    pub fn move_branch(&self, full: &str, branch: &str, sha: &str) {
        let mut inner = self.shared.lock();
        let repo = inner.repos.entry(full.to_string()).or_default();
        assert!(repo.commits.contains_key(sha), "unknown commit {sha}");
        repo.branches.insert(branch.to_string(), sha.to_string());
    }

    /// Delete `branch`.
    pub fn delete_branch(&self, full: &str, branch: &str) {
        if let Some(repo) = self.shared.lock().repos.get_mut(full) {
            repo.branches.remove(branch);
        }
    }

    /// The commit `branch` points at.
    pub fn head(&self, full: &str, branch: &str) -> Option<String> {
        self.shared
            .lock()
            .repos
            .get(full)
            .and_then(|r| r.branches.get(branch).cloned())
    }

    /// Requests the branch and compare endpoints answered so far.
    pub fn graph_requests(&self) -> GraphRequests {
        self.shared.lock().graph_requests
    }
}

impl FakeGitHub {
    /// Commit `files` (a full tree) on top of `branch` of `full`, moving the branch; returns the
    /// commit id.
    pub fn commit(&self, full: &str, branch: &str, files: Vec<File>) -> String {
        let mut inner = self.shared.lock();
        let repo = inner.repos.entry(full.to_string()).or_default();
        let parent = repo.branches.get(branch).cloned();
        let sha = repo.add_commit(full, parent, files);
        repo.branches.insert(branch.to_string(), sha.clone());
        sha
    }
}
