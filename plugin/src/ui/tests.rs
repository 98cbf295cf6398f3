//! Unit tests of the UI's pure parts: escaping, the token gate's pieces, rows and stages.

use axum::http::{HeaderMap, HeaderValue, header};
use mosaic_core::{Binding, Build};

use super::html::{esc, github_url, seg};
use super::security::{Keys, cookie, csrf_ok, same};
use super::{build_page, facts, has_display, hosts, overview};

fn keys() -> Keys {
    Keys {
        token: "t".repeat(64),
        csrf: "c".repeat(64),
        hosts: hosts("127.0.0.1:8099".parse().unwrap()),
    }
}

fn binding(v: serde_json::Value) -> Binding {
    serde_json::from_value(v).unwrap()
}

#[test]
fn html_and_terminal_escapes_are_inert() {
    let hostile = "<script>alert(1)</script> \x1b[31mred\x1b[0m \"q\" 'a' & \x07";
    let e = esc(hostile);
    assert_eq!(
        e,
        "&lt;script&gt;alert(1)&lt;/script&gt; ^[[31mred^[[0m &quot;q&quot; &#39;a&#39; &amp; ^G"
    );
    assert!(!e.contains('\x1b') && !e.contains('<'));
    assert_eq!(esc("line 1\nline 2"), "line 1\nline 2");
}

#[test]
fn urls_are_built_only_from_safe_parts() {
    assert_eq!(seg("a b/c"), "a%20b%2Fc");
    assert_eq!(
        github_url("acme/api", "/tree/main").as_deref(),
        Some("https://github.com/acme/api/tree/main")
    );
    assert_eq!(github_url("javascript:x/y\"", ""), None);
    assert_eq!(github_url("../x", ""), None);
    assert_eq!(github_url("acme", ""), None);
}

#[test]
fn tokens_compare_and_cookies_parse() {
    assert!(same("abc", "abc"));
    assert!(!same("abc", "abd"));
    assert!(!same("abc", "abcd"));
    let mut h = HeaderMap::new();
    h.insert(
        header::COOKIE,
        HeaderValue::from_static("a=1; mosaic_ui=xyz; b=2"),
    );
    assert_eq!(cookie(&h, "mosaic_ui"), Some("xyz"));
    assert_eq!(cookie(&h, "c"), None);
}

#[test]
fn csrf_needs_the_token_and_the_same_origin() {
    let k = keys();
    let c = "c".repeat(64);
    let mut h = HeaderMap::new();
    assert!(!csrf_ok(&k, &h, None), "no token");
    assert!(!csrf_ok(&k, &h, Some("wrong")));
    assert!(csrf_ok(&k, &h, Some(&c)), "form field");
    h.insert("x-mosaic-csrf", HeaderValue::from_str(&c).unwrap());
    assert!(csrf_ok(&k, &h, None), "header");
    h.insert(
        header::ORIGIN,
        HeaderValue::from_static("http://evil.example"),
    );
    assert!(!csrf_ok(&k, &h, None), "another origin");
    h.insert(
        header::ORIGIN,
        HeaderValue::from_static("http://127.0.0.1:8099"),
    );
    assert!(csrf_ok(&k, &h, None));
    h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
    assert!(!csrf_ok(&k, &h, None), "cross-site fetch");
}

#[test]
fn loopback_hosts_and_display() {
    let h = hosts("127.0.0.1:8099".parse().unwrap());
    assert!(h.contains(&"localhost:8099".to_string()));
    assert!(!h.iter().any(|x| x.contains("evil")));
    assert_eq!(hosts("10.0.0.5:80".parse().unwrap()), vec!["10.0.0.5:80"]);
    if cfg!(target_os = "linux") {
        assert!(!has_display(|_| None));
        assert!(!has_display(|_| Some(String::new())));
        assert!(has_display(|k| (k == "DISPLAY").then(|| ":0".into())));
    }
}

#[test]
fn a_row_escapes_cluster_strings_and_links_github() {
    let b = binding(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
        "metadata": {"name": "api", "namespace": "shop", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"deployment": "api", "repo": "acme/api", "branch": "<b>main</b>", "image": "r.example.com/api"},
        "status": {"lastCommit": "0123456789abcdef0123456789abcdef01234567",
            "lastImage": "r.example.com/api@sha256:aaaaaaaaaaaabbbbbbbbbbbbcccccccccccccccccccccccccccccccccccccccc"}
    }));
    let r = overview::row(&b, &[], None);
    assert!(r.contains("data-key=\"shop/api\""), "{r}");
    assert!(r.contains("&lt;b&gt;main&lt;/b&gt;"), "{r}");
    assert!(!r.contains("<b>"), "{r}");
    assert!(
        r.contains("https://github.com/acme/api/commit/0123456789abcdef"),
        "{r}"
    );
    assert!(r.contains(">sha256:aaaaaaaaaaaa<"), "{r}");
    assert!(r.contains("deployment/api not found"), "{r}");
}

#[test]
fn stages_have_durations() {
    let b: Build = serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": "api-1", "namespace": "shop"},
        "spec": {"binding": "api", "commit": "0123456789abcdef0123456789abcdef01234567", "ref": "refs/heads/main",
            "trigger": {"type": "push", "pusher": "octocat"}},
        "status": {"phase": "Succeeded", "phaseTimes": {"pending": "2026-01-01T00:00:00Z",
            "building": "2026-01-01T00:00:02Z", "pushing": "2026-01-01T00:01:02Z",
            "rollingOut": "2026-01-01T00:01:12Z", "finished": "2026-01-01T00:01:40Z"}}
    }))
    .unwrap();
    let s = facts::stages(&b, 0);
    assert_eq!(
        s,
        vec![
            ("fetch", Some(2)),
            ("build", Some(60)),
            ("push", Some(10)),
            ("roll out", Some(28)),
            ("verify", None)
        ]
    );
}

#[test]
fn the_build_page_lists_the_commit_statuses_newest_first_and_escaped() {
    let mut b: Build = serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": "api-1", "namespace": "shop"},
        "spec": {"binding": "api", "commit": "0123456789abcdef0123456789abcdef01234567", "ref": "refs/heads/main",
            "trigger": {"type": "push", "pusher": "octocat"}},
        "status": {"phase": "Failed", "commitStatuses": [
            {"context": "mosaic/shop/api", "state": "pending", "description": "building",
             "sentAt": "2026-01-01T00:00:00Z", "delivery": "Sent"},
            {"context": "mosaic/shop/api", "state": "failure", "description": "<img src=x> failed",
             "sentAt": "2026-01-01T00:01:00Z", "delivery": "Failed", "reason": "GitHub answered 500: <b>x</b>"}
        ]}
    }))
    .unwrap();
    let now = "2026-01-01T00:02:00Z"
        .parse::<k8s_openapi::jiff::Timestamp>()
        .unwrap()
        .as_second();
    let page = build_page::build(&b, None, now);
    let table = page.split("<table id=\"reports\">").nth(1).expect(&page);
    let failed = table.find("&lt;img src=x&gt; failed").expect(table);
    let building = table.find(">building<").expect(table);
    assert!(failed < building, "newest first: {table}");
    assert!(table.contains("<td>60s ago</td>"), "{table}");
    assert!(
        table.contains("not sent: GitHub answered 500: &lt;b&gt;x&lt;/b&gt;"),
        "{table}"
    );
    assert!(!table.contains("<img") && !table.contains("<b>"), "{table}");
    b.status.as_mut().unwrap().commit_statuses.clear();
    assert!(build_page::build(&b, None, now).contains("<p id=\"reports\">None recorded.</p>"));
}
