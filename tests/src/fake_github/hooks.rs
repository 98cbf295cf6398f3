//! Repository webhooks on the fake GitHub: `GET`/`POST /repos/{o}/{r}/hooks` and
//! `PATCH /repos/{o}/{r}/hooks/{hook_id}`. Request bodies are checked against the
//! documented schemas (`@octokit/openapi` api.github.com.json: on create only
//! `name` = "web", `config`, `events`, `active`, no other key; on update `config`,
//! `events`, `add_events`, `remove_events`, `active`); responses have the `hook`
//! shape, with the secret masked as GitHub masks it.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FakeGitHub, S, Shared, authorized, gh_error};

const CREATE_KEYS: &[&str] = &["name", "config", "events", "active"];
const UPDATE_KEYS: &[&str] = &["config", "events", "add_events", "remove_events", "active"];
const CONFIG_KEYS: &[&str] = &["url", "content_type", "secret", "insecure_ssl"];

/// One stored hook: the repository and the hook as created or updated (secret in clear).
#[derive(Debug, Clone)]
pub struct StoredHook {
    pub repo: String,
    pub id: u64,
    pub active: bool,
    pub events: Vec<String>,
    pub config: Value,
}

fn unknown_key(v: &Value, allowed: &[&str]) -> Option<String> {
    v.as_object()?
        .keys()
        .find(|k| !allowed.contains(&k.as_str()))
        .cloned()
}

/// Validate a body; `Err` is the 422 message.
fn validate(v: &Value, create: bool) -> Result<(), String> {
    if !v.is_object() {
        return Err("Invalid request: body is not an object".into());
    }
    let allowed = if create { CREATE_KEYS } else { UPDATE_KEYS };
    if let Some(k) = unknown_key(v, allowed) {
        return Err(format!("Invalid request: {k:?} is not a permitted key"));
    }
    if create && v.get("name").is_some_and(|n| n != "web") {
        return Err("Invalid request: name must be \"web\"".into());
    }
    if let Some(c) = v.get("config") {
        if let Some(k) = unknown_key(c, CONFIG_KEYS) {
            return Err(format!(
                "Invalid request: config.{k} is not a permitted key"
            ));
        }
        if !c.get("url").is_some_and(Value::is_string) {
            return Err("Validation Failed: config.url is missing".into());
        }
        if c.get("content_type")
            .is_some_and(|t| t != "json" && t != "form")
        {
            return Err("Validation Failed: config.content_type must be json or form".into());
        }
    } else if create {
        return Err("Validation Failed: config is missing".into());
    }
    if v.get("events")
        .is_some_and(|e| !e.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
    {
        return Err("Invalid request: events must be an array of strings".into());
    }
    Ok(())
}

/// The `hook` response shape.
fn hook_json(base: &str, h: &StoredHook) -> Value {
    let mut config = h.config.clone();
    if config.get("secret").is_some() {
        config["secret"] = json!("********");
    }
    let url = format!("{base}/repos/{}/hooks/{}", h.repo, h.id);
    json!({
        "type": "Repository", "id": h.id, "name": "web", "active": h.active,
        "events": h.events, "config": config,
        "updated_at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z",
        "url": url, "test_url": format!("{url}/test"), "ping_url": format!("{url}/pings"),
        "deliveries_url": format!("{url}/deliveries"),
        "last_response": {"code": null, "status": "unused", "message": null}
    })
}

fn events_of(v: &Value) -> Option<Vec<String>> {
    v.get("events")?.as_array().map(|a| {
        a.iter()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect()
    })
}

fn guard(s: &Shared, h: &HeaderMap, repo: &str) -> Option<Response> {
    if !authorized(s, h) {
        return Some(gh_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
        ));
    }
    if let Some(f) = s.fault(&format!("/repos/{repo}/hooks")) {
        return Some(f);
    }
    if !s.lock().repos.contains_key(repo) {
        return Some(gh_error(StatusCode::NOT_FOUND, "Not Found"));
    }
    None
}

pub(super) async fn list(
    State(s): S,
    Path((o, r)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    let repo = format!("{o}/{r}");
    if let Some(resp) = guard(&s, &h, &repo) {
        return resp;
    }
    let items: Vec<Value> = s
        .lock()
        .hooks
        .iter()
        .filter(|x| x.repo == repo)
        .map(|x| hook_json(&s.base, x))
        .collect();
    axum::Json(items).into_response()
}

pub(super) async fn create(
    State(s): S,
    Path((o, r)): Path<(String, String)>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let repo = format!("{o}/{r}");
    if let Some(resp) = guard(&s, &h, &repo) {
        return resp;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return gh_error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    if let Err(m) = validate(&v, true) {
        return gh_error(StatusCode::UNPROCESSABLE_ENTITY, &m);
    }
    let mut inner = s.lock();
    let url = &v["config"]["url"];
    if inner
        .hooks
        .iter()
        .any(|x| x.repo == repo && &x.config["url"] == url)
    {
        return gh_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation Failed: Hook already exists on this repository",
        );
    }
    let hook = StoredHook {
        repo,
        id: 1000 + inner.hooks.len() as u64,
        active: v["active"].as_bool().unwrap_or(true),
        events: events_of(&v).unwrap_or_else(|| vec!["push".into()]),
        config: v["config"].clone(),
    };
    let out = hook_json(&s.base, &hook);
    inner.hooks.push(hook);
    (StatusCode::CREATED, axum::Json(out)).into_response()
}

pub(super) async fn update(
    State(s): S,
    Path((o, r, id)): Path<(String, String, u64)>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let repo = format!("{o}/{r}");
    if let Some(resp) = guard(&s, &h, &repo) {
        return resp;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return gh_error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    if let Err(m) = validate(&v, false) {
        return gh_error(StatusCode::UNPROCESSABLE_ENTITY, &m);
    }
    let mut inner = s.lock();
    let Some(hook) = inner
        .hooks
        .iter_mut()
        .find(|x| x.repo == repo && x.id == id)
    else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Some(c) = v.get("config") {
        hook.config = c.clone();
    }
    if let Some(e) = events_of(&v) {
        hook.events = e;
    }
    if let Some(a) = v["active"].as_bool() {
        hook.active = a;
    }
    let out = hook_json(&s.base, hook);
    axum::Json(out).into_response()
}

impl FakeGitHub {
    /// Every hook of `repo`, as stored (secret in clear), in creation order.
    pub fn hooks(&self, repo: &str) -> Vec<StoredHook> {
        self.shared
            .lock()
            .hooks
            .iter()
            .filter(|h| h.repo == repo)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_against_the_documented_keys() {
        let ok = json!({"name": "web", "active": true, "events": ["push"],
            "config": {"url": "https://x/h", "content_type": "json", "secret": "s", "insecure_ssl": "0"}});
        assert!(validate(&ok, true).is_ok());
        assert!(
            validate(
                &json!({"config": {"url": "https://x"}, "name": "email"}),
                true
            )
            .is_err()
        );
        assert!(validate(&json!({"config": {"url": "https://x"}, "extra": 1}), true).is_err());
        assert!(validate(&json!({"config": {"url": "https://x", "token": "t"}}), true).is_err());
        assert!(
            validate(&json!({"events": ["push"]}), true).is_err(),
            "config is required on create"
        );
        assert!(
            validate(&json!({"events": ["push"]}), false).is_ok(),
            "but not on update"
        );
        assert!(
            validate(
                &json!({"name": "web", "config": {"url": "https://x"}}),
                false
            )
            .is_err(),
            "PATCH takes no name"
        );
    }
}
