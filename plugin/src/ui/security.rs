//! Who may drive the UI: the random token of the printed URL (kept in an HttpOnly,
//! SameSite=Strict cookie after the first load), the CSRF token every action carries, the
//! Host header (no DNS rebinding), and the response headers every answer gets (a strict CSP,
//! no caching, no referrer: the token never leaves the page).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;

/// The cookie that carries the token.
pub const COOKIE: &str = "mosaic_ui";
/// The header (or form field) that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-mosaic-csrf";

/// Every page is server-rendered; the one script and stylesheet are served from the binary.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The secrets of one UI run.
#[derive(Clone)]
pub struct Keys {
    /// In the printed URL, then in the cookie.
    pub token: String,
    /// In every page, required on every action.
    pub csrf: String,
    /// Host header values that name this server (`127.0.0.1:PORT`, `localhost:PORT`, …).
    pub hosts: Vec<String>,
}

/// 32 random bytes as hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Compare secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `token` query parameter, if any.
fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)
}

fn forbidden(why: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("403 Forbidden: {why}\n"),
    )
        .into_response()
}

/// The gate in front of every route: a known Host, then the cookie, else the URL's token
/// (answered with the cookie and a redirect to the same path without the token).
pub async fn gate(State(keys): State<Keys>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !keys.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return forbidden("unknown Host header (open the URL kubectl mosaic ui printed)");
    }
    if cookie(req.headers(), COOKIE).is_some_and(|c| same(c, &keys.token)) {
        return next.run(req).await;
    }
    match query_token(req.uri().query()) {
        Some(t) if same(t, &keys.token) => {
            let path = req.uri().path().to_string();
            // Only a local path: never `//host` (another site).
            let local = path.starts_with('/') && !path.starts_with("//");
            let mut r = Redirect::to(if local { &path } else { "/" }).into_response();
            let c = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", keys.token);
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        _ => forbidden("missing or wrong token: open the URL kubectl mosaic ui printed"),
    }
}

/// Whether an action request carries the page's CSRF token (header or form field) and, when
/// the browser says where it comes from, comes from this origin.
pub fn csrf_ok(keys: &Keys, headers: &HeaderMap, form_token: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
    {
        return false;
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = origin.strip_prefix("http://").unwrap_or("\u{0}not-http");
        if !keys.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return false;
        }
    }
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .or(form_token);
    given.is_some_and(|t| same(t, &keys.csrf))
}

/// Headers on every answer.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}
