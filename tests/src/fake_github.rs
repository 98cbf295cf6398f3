//! A local fake of the GitHub REST API for real-stack tests, answering in the documented shapes:
//! repository tarballs as GitHub makes them (a 302 from `/repos/{o}/{r}/tarball/{ref}` to a
//! codeload-like URL serving a gzip tar with a `pax_global_header` carrying the commit id and one
//! `{owner}-{repo}-{short}/` top directory, as `@octokit/fixtures` `get-archive` records), commit
//! statuses (recorded for assertions), commits, branches and compare over a commit graph (`graph`), repositories and paginated repository
//! listings. Every API call without the token gets 401.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub mod faults;
pub mod graph;
pub mod hooks;

/// One recorded `POST /repos/{o}/{r}/statuses/{sha}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCall {
    pub repo: String,
    pub sha: String,
    pub state: String,
    pub description: String,
    pub context: String,
}

/// A file in a test commit.
#[derive(Debug, Clone)]
pub struct File {
    pub path: String,
    pub data: Vec<u8>,
    pub mode: u32,
}

impl File {
    pub fn new(path: &str, data: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.to_string(),
            data: data.into(),
            mode: 0o644,
        }
    }
    pub fn executable(path: &str, data: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.to_string(),
            data: data.into(),
            mode: 0o755,
        }
    }
}

#[derive(Default)]
struct Repo {
    commits: HashMap<String, Vec<File>>,
    /// Each commit's parents (see `graph`).
    parents: HashMap<String, Vec<String>>,
    /// Each commit's generation: 1 + its deepest parent's (see `graph`).
    depth: HashMap<String, usize>,
    branches: HashMap<String, String>,
    private: bool,
}

#[derive(Default)]
struct Inner {
    repos: HashMap<String, Repo>,
    statuses: Vec<StatusCall>,
    /// Tokens handed out in codeload redirects.
    codeload_tokens: Vec<String>,
    /// Injected faults (see `faults`).
    faults: faults::Faults,
    tarball_requests: usize,
    /// Repository webhooks (see `hooks`).
    hooks: Vec<hooks::StoredHook>,
    /// Requests to the branch and compare endpoints (see `graph`).
    graph_requests: graph::GraphRequests,
    /// Every request's path and arrival (see `faults`).
    seen: Vec<(String, std::time::Instant)>,
}

struct Shared {
    token: String,
    base: String,
    inner: Mutex<Inner>,
}

/// A running fake GitHub. Dropping it stops the server.
pub struct FakeGitHub {
    /// API base URL, e.g. `http://127.0.0.1:PORT`.
    pub url: String,
    /// The only token it accepts.
    pub token: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn sha_of(repo: &str, n: usize, files: &[File]) -> String {
    let mut h = Sha256::new();
    h.update(repo.as_bytes());
    h.update(n.to_le_bytes());
    for f in files {
        h.update(f.path.as_bytes());
        h.update(&f.data);
    }
    hex::encode(h.finalize())[..40].to_string()
}

/// A gzip tarball shaped like GitHub's for `files` at `sha`.
pub fn github_tarball(owner: &str, name: &str, sha: &str, files: &[File]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let rec = format!("52 comment={sha}\n");
    let mut h = tar::Header::new_ustar();
    h.set_path("pax_global_header").expect("short path");
    h.set_entry_type(tar::EntryType::XGlobalHeader);
    h.set_size(rec.len() as u64);
    h.set_mode(0o666);
    h.set_cksum();
    b.append(&h, rec.as_bytes()).expect("in-memory tar");
    let top = format!("{owner}-{name}-{}", &sha[..7]);
    let mut dirs: Vec<String> = vec![format!("{top}/")];
    for f in files {
        let mut parts: Vec<&str> = f.path.split('/').collect();
        parts.pop();
        let mut acc = top.clone();
        for p in parts {
            acc = format!("{acc}/{p}");
            if !dirs.contains(&format!("{acc}/")) {
                dirs.push(format!("{acc}/"));
            }
        }
    }
    for d in &dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o775);
        h.set_size(0);
        b.append_data(&mut h, d, std::io::empty())
            .expect("in-memory tar");
    }
    for f in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(f.mode);
        h.set_size(f.data.len() as u64);
        b.append_data(&mut h, format!("{top}/{}", f.path), &f.data[..])
            .expect("in-memory tar");
    }
    b.into_inner()
        .expect("in-memory tar")
        .finish()
        .expect("gzip")
}

fn gh_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"message": message, "documentation_url": "https://docs.github.com/rest", "status": status.as_u16().to_string()}))).into_response()
}

fn authorized(s: &Shared, h: &HeaderMap) -> bool {
    let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("token "))
        .unwrap_or("");
    t == s.token
}

fn user(base: &str, login: &str) -> Value {
    let u = format!("{base}/users/{login}");
    json!({
        "login": login, "id": 1, "node_id": "MDQ6VXNlcjE=", "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4",
        "gravatar_id": "", "url": u, "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{u}/followers"), "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"), "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"), "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"), "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"), "type": "User", "site_admin": false
    })
}

fn repo_json(base: &str, full: &str, private: bool) -> Value {
    let (owner, name) = full.split_once('/').unwrap_or((full, ""));
    json!({
        "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": name, "full_name": full,
        "owner": user(base, owner), "private": private, "html_url": format!("https://github.com/{full}"),
        "description": null, "fork": false, "url": format!("{base}/repos/{full}"),
        "clone_url": format!("https://github.com/{full}.git"), "default_branch": "main",
        "archived": false, "disabled": false, "visibility": if private { "private" } else { "public" },
        "pushed_at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    })
}

impl Shared {
    fn resolve(&self, full: &str, r: &str) -> Option<String> {
        let inner = self.inner.lock().expect("fake GitHub lock");
        let repo = inner.repos.get(full)?;
        let r = r.strip_prefix("refs/heads/").unwrap_or(r);
        if repo.commits.contains_key(r) {
            return Some(r.to_string());
        }
        repo.branches.get(r).cloned()
    }
}

type S = State<Arc<Shared>>;

async fn tarball(
    State(s): S,
    Path((o, r, rf)): Path<(String, String, String)>,
    h: HeaderMap,
) -> Response {
    let path = format!("/repos/{o}/{r}/tarball/{rf}");
    if !authorized(&s, &h) {
        return gh_error(StatusCode::UNAUTHORIZED, "Requires authentication");
    }
    s.delay(&path).await;
    if let Some(f) = s.fault(&path) {
        return f;
    }
    let full = format!("{o}/{r}");
    let Some(sha) = s.resolve(&full, &rf) else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let token = hex::encode(Sha256::digest(format!(
        "{}{sha}{}",
        s.token,
        rand::random::<u64>()
    )))[..32]
        .to_string();
    s.inner
        .lock()
        .expect("fake GitHub lock")
        .codeload_tokens
        .push(token.clone());
    let location = format!(
        "{}/_codeload/{o}/{r}/legacy.tar.gz/{sha}?token={token}",
        s.base
    );
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CONTENT_TYPE, "text/html;charset=utf-8".into()),
        ],
        "",
    )
        .into_response()
}

async fn codeload(
    State(s): S,
    Path((o, r, sha)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let full = format!("{o}/{r}");
    let path = format!("/_codeload/{full}/legacy.tar.gz/{sha}");
    s.delay(&path).await;
    if let Some(f) = s.fault(&path) {
        return f;
    }
    let files = {
        let mut inner = s.inner.lock().expect("fake GitHub lock");
        if !q
            .get("token")
            .is_some_and(|t| inner.codeload_tokens.contains(t))
        {
            return (StatusCode::NOT_FOUND, "Not Found").into_response();
        }
        inner.tarball_requests += 1;
        inner
            .repos
            .get(&full)
            .and_then(|rp| rp.commits.get(&sha))
            .cloned()
    };
    let Some(files) = files else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let body = github_tarball(&o, &r, &sha, &files);
    let disp = format!("attachment; filename={o}-{r}-{}.tar.gz", &sha[..7]);
    (
        [
            (header::CONTENT_TYPE, "application/x-gzip".to_string()),
            (header::CONTENT_DISPOSITION, disp),
        ],
        s.tarball_body(body),
    )
        .into_response()
}

async fn create_status(
    State(s): S,
    Path((o, r, sha)): Path<(String, String, String)>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&s, &h) {
        return gh_error(StatusCode::UNAUTHORIZED, "Requires authentication");
    }
    let path = format!("/repos/{o}/{r}/statuses/{sha}");
    s.delay(&path).await;
    if let Some(f) = s.fault(&path) {
        return f;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return gh_error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    let state = v["state"].as_str().unwrap_or_default().to_string();
    if !["error", "failure", "pending", "success"].contains(&state.as_str()) {
        return gh_error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    }
    let description = v["description"].as_str().unwrap_or_default().to_string();
    if description.chars().count() > 140 {
        return gh_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "description is too long (maximum is 140 characters)",
        );
    }
    let context = v["context"].as_str().unwrap_or("default").to_string();
    let call = StatusCall {
        repo: format!("{o}/{r}"),
        sha: sha.clone(),
        state: state.clone(),
        description: description.clone(),
        context: context.clone(),
    };
    let id = {
        let mut inner = s.inner.lock().expect("fake GitHub lock");
        inner.statuses.push(call);
        inner.statuses.len()
    };
    let resp = json!({
        "url": format!("{}/repos/{o}/{r}/statuses/{sha}", s.base), "avatar_url": "https://github.com/images/error/hubot_happy.gif",
        "id": id, "node_id": "MDY6U3RhdHVzMQ==", "state": state, "description": description,
        "target_url": v["target_url"], "context": context,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "creator": user(&s.base, o.as_str())
    });
    (StatusCode::CREATED, axum::Json(resp)).into_response()
}

async fn commit(
    State(s): S,
    Path((o, r, rf)): Path<(String, String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&s, &h) {
        return gh_error(StatusCode::UNAUTHORIZED, "Requires authentication");
    }
    let full = format!("{o}/{r}");
    let Some(sha) = s.resolve(&full, &rf) else {
        return gh_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("No commit found for SHA: {rf}"),
        );
    };
    let parents: Vec<Value> = s
        .lock()
        .repos
        .get(&full)
        .and_then(|rp| rp.parents.get(&sha).cloned())
        .unwrap_or_default()
        .iter()
        .map(|p| json!({"sha": p, "url": format!("{}/repos/{full}/commits/{p}", s.base)}))
        .collect();
    axum::Json(json!({
        "url": format!("{}/repos/{full}/commits/{sha}", s.base), "sha": sha, "node_id": "C_kwDO",
        "html_url": format!("https://github.com/{full}/commit/{sha}"),
        "commit": {"url": format!("{}/repos/{full}/git/commits/{sha}", s.base), "message": "test commit",
            "author": {"name": "Mosaic Test", "email": "test@example.com", "date": "2026-01-01T00:00:00Z"},
            "committer": {"name": "Mosaic Test", "email": "test@example.com", "date": "2026-01-01T00:00:00Z"},
            "tree": {"url": format!("{}/repos/{full}/git/trees/{sha}", s.base), "sha": sha}, "comment_count": 0},
        "author": user(&s.base, &o), "committer": user(&s.base, &o), "parents": parents
    }))
    .into_response()
}

async fn repo(State(s): S, Path((o, r)): Path<(String, String)>, h: HeaderMap) -> Response {
    if !authorized(&s, &h) {
        return gh_error(StatusCode::UNAUTHORIZED, "Requires authentication");
    }
    let full = format!("{o}/{r}");
    let private = s
        .inner
        .lock()
        .expect("fake GitHub lock")
        .repos
        .get(&full)
        .map(|rp| rp.private);
    match private {
        Some(p) => axum::Json(repo_json(&s.base, &full, p)).into_response(),
        None => gh_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `GET /orgs/{o}/repos` and `/users/{o}/repos`, paginated with `per_page`/`page` and a `Link` header.
async fn list(
    State(s): S,
    Path(owner): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if !authorized(&s, &h) {
        return gh_error(StatusCode::UNAUTHORIZED, "Requires authentication");
    }
    let per_page: usize = q
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = q
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut names: Vec<(String, bool)> = {
        let inner = s.inner.lock().expect("fake GitHub lock");
        inner
            .repos
            .iter()
            .filter(|(k, _)| k.split('/').next() == Some(owner.as_str()))
            .map(|(k, v)| (k.clone(), v.private))
            .collect()
    };
    names.sort();
    let last = names.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = names
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(n, p)| repo_json(&s.base, n, *p))
        .collect();
    let link_to = |p: usize, rel: &str| {
        format!(
            "<{}{}?per_page={per_page}&page={p}>; rel=\"{rel}\"",
            s.base,
            uri.path()
        )
    };
    let mut links = Vec::new();
    if page < last {
        links.push(link_to(page + 1, "next"));
        links.push(link_to(last, "last"));
    }
    if page > 1 {
        links.push(link_to(1, "first"));
        links.push(link_to(page - 1, "prev"));
    }
    let mut resp = axum::Json(items).into_response();
    if !links.is_empty() {
        resp.headers_mut().insert(
            header::LINK,
            links.join(", ").parse().expect("ASCII link header"),
        );
    }
    resp
}

impl FakeGitHub {
    /// Start on a free loopback port, accepting only `token`.
    pub async fn start(token: &str) -> Self {
        Self::start_advertised(token, "127.0.0.1").await
    }

    /// As `start`, but known to clients (its `url` and the redirects it answers with) as
    /// `http://HOST:PORT`: for clients that reach the loopback port at another address, such
    /// as pods of the real test cluster at its node address (`scripts/cluster`).
    pub async fn start_advertised(token: &str, host: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("local addr").port();
        let url = format!("http://{host}:{port}");
        let shared = Arc::new(Shared {
            token: token.to_string(),
            base: url.clone(),
            inner: Mutex::new(Inner::default()),
        });
        let app = Router::new()
            .route("/repos/{o}/{r}/tarball/{*rf}", get(tarball))
            .route("/_codeload/{o}/{r}/legacy.tar.gz/{sha}", get(codeload))
            .route("/repos/{o}/{r}/statuses/{sha}", post(create_status))
            .route("/repos/{o}/{r}/commits/{*rf}", get(commit))
            .route("/repos/{o}/{r}/branches/{b}", get(graph::branch))
            .route("/repos/{o}/{r}/compare/{basehead}", get(graph::compare))
            .route("/repos/{o}/{r}/hooks", get(hooks::list).post(hooks::create))
            .route("/repos/{o}/{r}/hooks/{id}", patch(hooks::update))
            .route("/repos/{o}/{r}", get(repo))
            .route("/orgs/{o}/repos", get(list))
            .route("/users/{o}/repos", get(list))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            token: token.to_string(),
            shared,
            task,
        }
    }

    /// Create (or make private) a repository with no commits.
    pub fn add_repo(&self, full: &str, private: bool) {
        self.shared
            .lock()
            .repos
            .entry(full.to_string())
            .or_default()
            .private = private;
    }

    /// Every status posted so far for `sha`, in order.
    pub fn statuses(&self, sha: &str) -> Vec<StatusCall> {
        self.shared
            .lock()
            .statuses
            .iter()
            .filter(|s| s.sha == sha)
            .cloned()
            .collect()
    }

    /// How many tarballs were downloaded.
    pub fn tarball_downloads(&self) -> usize {
        self.shared.lock().tarball_requests
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake GitHub lock")
    }
}
