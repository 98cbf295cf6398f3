//! Hostile deliveries against the real `mosaic-webhook` binary on the real stack: malformed
//! signature headers, concurrent replays of one signed delivery, payloads whose ref or commit
//! are not what they claim, and Bindings whose Dockerfile or context escapes the repository.
//! Each is refused with a clear reason and records no Build it should not (complements
//! `flow.rs`, which covers tampered, unsigned, sha1-prefixed and wrong-secret deliveries).

use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;
use serde_json::{Value, json};

/// POST `body` to the intake with exactly `headers`; returns (status, JSON body).
async fn post(server: &Server, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/webhooks/github", server.url))
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("webhook answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn build_count(w: &World) -> usize {
    w.builds()
        .list(&Default::default())
        .await
        .expect("list Builds")
        .items
        .len()
}

async fn metric(server: &Server, result: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    let key = format!("mosaic_webhook_requests_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0, |v| v.trim().parse().expect("counter value"))
}

#[tokio::test]
async fn malformed_signature_headers_are_refused() {
    let w = world(None, true).await;
    let server = start(&w, "hostile-sig", &[]).await;
    let sha = w.commit("signatures\n");
    let body = push_body(&w.repo, &sha);
    let good = sign(WEBHOOK_SECRET.as_bytes(), &body);
    let hex = good.strip_prefix("sha256=").unwrap();
    let other_body = sign(WEBHOOK_SECRET.as_bytes(), b"{}");
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "upper-case prefix",
            vec![("x-hub-signature-256", format!("SHA256={hex}"))],
        ),
        ("no prefix", vec![("x-hub-signature-256", hex.to_string())]),
        (
            "63 hex digits",
            vec![("x-hub-signature-256", good[..good.len() - 1].to_string())],
        ),
        (
            "65 hex digits",
            vec![("x-hub-signature-256", format!("{good}0"))],
        ),
        (
            "128 hex digits",
            vec![("x-hub-signature-256", format!("{good}{hex}"))],
        ),
        (
            "non-hex",
            vec![("x-hub-signature-256", format!("sha256={}", "g".repeat(64)))],
        ),
        ("empty", vec![("x-hub-signature-256", String::new())]),
        (
            "prefix only",
            vec![("x-hub-signature-256", "sha256=".into())],
        ),
        (
            "padded",
            vec![("x-hub-signature-256", format!("sha256= {}", &hex[1..]))],
        ),
        (
            "only the legacy sha1 header",
            vec![("x-hub-signature", format!("sha1={}", &hex[..40]))],
        ),
        (
            "signature of another body",
            vec![("x-hub-signature-256", other_body)],
        ),
        (
            "bad first of two headers",
            vec![
                ("x-hub-signature-256", format!("sha256={}", "0".repeat(64))),
                ("x-hub-signature-256", good.clone()),
            ],
        ),
    ];
    let n = cases.len() as u64;
    for (what, sig_headers) in cases {
        let mut headers = vec![("x-github-event", "push"), ("x-github-delivery", "d-sig")];
        headers.extend(sig_headers.iter().map(|(k, v)| (*k, v.as_str())));
        let (status, j) = post(&server, &headers, &body).await;
        assert_eq!(status, 401, "{what}: {j}");
        let msg = j["error"].as_str().unwrap_or_default();
        assert!(msg.contains("X-Hub-Signature-256"), "{what}: {msg}");
        assert!(!msg.contains('\n'), "{what}: one line: {msg}");
    }
    assert_eq!(metric(&server, "unauthorized").await, n);
    assert_eq!(build_count(&w).await, 0, "no Build from a bad signature");
    // The correct header still works, so the refusals above were about the header alone.
    let (status, j) = post(
        &server,
        &[("x-github-event", "push"), ("x-hub-signature-256", &good)],
        &body,
    )
    .await;
    assert_eq!(status, 201, "{j}");
}

#[tokio::test]
async fn concurrent_replays_of_one_delivery_record_one_build() {
    let w = world(None, true).await;
    let server = start(&w, "hostile-replay", &[]).await;
    let sha = w.commit("replayed\n");
    let body = push_body(&w.repo, &sha);
    let replays = (0..20).map(|_| deliver(&server, "push", "d-replay", &body, WEBHOOK_SECRET));
    let answers = futures::future::join_all(replays).await;
    let created: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    let existing: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    assert_eq!(existing.len(), 19, "{answers:?}");
    let name = format!("{}/{}", w.ns(), build_name("web", &sha));
    for (_, j) in existing {
        assert_eq!(j["existing"], json!([name]), "{j}");
    }
    // A replay under a fresh delivery id, hours later, is the same push: still one Build.
    let (status, j) = deliver(&server, "push", "d-replay-later", &body, WEBHOOK_SECRET).await;
    assert_eq!((status, &j["created"]), (200, &json!([])), "{j}");
    assert_eq!(build_count(&w).await, 1);
    assert_eq!(metric(&server, "created").await, 1);
    assert_eq!(metric(&server, "duplicate").await, 20);
}

#[tokio::test]
async fn payloads_whose_ref_or_commit_lie_are_refused_or_ignored() {
    let w = world(None, true).await;
    let server = start(&w, "hostile-payload", &[]).await;
    let sha = w.commit("lies\n");
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_slice(&push_body(&w.repo, &sha)).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    // 400: the payload is not a push of a commit id.
    for (what, body, needle) in [
        ("not JSON", b"{\"ref\": [".to_vec(), "not valid JSON"),
        (
            "after is a branch",
            edit(&|v| v["after"] = "main".into()),
            "\"main\"",
        ),
        (
            "after is 39 hex",
            edit(&|v| v["after"] = sha[..39].into()),
            "40-hex",
        ),
        (
            "after is upper-case",
            edit(&|v| v["after"] = sha.to_uppercase().into()),
            "40-hex",
        ),
        (
            "after is a number",
            edit(&|v| v["after"] = 7.into()),
            "not valid JSON",
        ),
        (
            "no repository",
            edit(&|v| v["repository"] = Value::Null),
            "not valid JSON",
        ),
    ] {
        let (status, j) = deliver(&server, "push", "d-lie", &body, WEBHOOK_SECRET).await;
        assert_eq!(status, 400, "{what}: {j}");
        let msg = j["error"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{what}: {msg}");
    }
    // 202 with a reason: a well-formed push that names no watched branch.
    for (what, body, reason) in [
        (
            "a tag named like the branch",
            edit(&|v| v["ref"] = "refs/tags/main".into()),
            "TagPush",
        ),
        (
            "a bare branch name",
            edit(&|v| v["ref"] = "main".into()),
            "NotABranch",
        ),
        (
            "a pull-request ref",
            edit(&|v| v["ref"] = "refs/pull/1/head".into()),
            "NotABranch",
        ),
        (
            "a dot-dot branch",
            edit(&|v| v["ref"] = "refs/heads/x/../main".into()),
            "NoMatchingBinding",
        ),
        (
            "a branch with a trailing slash",
            edit(&|v| v["ref"] = "refs/heads/main/".into()),
            "NoMatchingBinding",
        ),
        (
            "another owner's repository",
            edit(&|v| v["repository"]["full_name"] = format!("evil/{}", w.ns()).into()),
            "NoMatchingBinding",
        ),
        (
            "a deleted branch",
            edit(&|v| v["deleted"] = true.into()),
            "BranchDeleted",
        ),
    ] {
        let (status, j) = deliver(&server, "push", "d-lie", &body, WEBHOOK_SECRET).await;
        assert_eq!(
            (status, j["reason"].as_str()),
            (202, Some(reason)),
            "{what}: {j}"
        );
    }
    let (status, j) = deliver(
        &server,
        "Push",
        "d-lie",
        &push_body(&w.repo, &sha),
        WEBHOOK_SECRET,
    )
    .await;
    assert_eq!(
        (status, j["reason"].as_str()),
        (202, Some("UnsupportedEvent")),
        "{j}"
    );
    let sig = sign(WEBHOOK_SECRET.as_bytes(), b"{}");
    let (status, j) = post(&server, &[("x-hub-signature-256", &sig)], b"{}").await;
    assert_eq!(status, 400, "{j}");
    assert!(
        j["error"]
            .as_str()
            .unwrap_or_default()
            .contains("X-GitHub-Event")
    );
    assert_eq!(build_count(&w).await, 0, "nothing recorded");
    assert_eq!(w.gh.tarball_downloads(), 0, "nothing fetched");
}

#[tokio::test]
async fn a_commit_github_does_not_have_fails_cleanly() {
    let w = world(None, true).await;
    let server = start(&w, "hostile-ghost", &[]).await;
    w.commit("the branch exists\n");
    let ghost = "0123456789abcdef0123456789abcdef01234567";
    let (status, j) = push(&server, &w, "d-ghost", ghost).await;
    assert_eq!(status, 201, "a well-formed push is recorded: {j}");
    let b = terminal(&w, &build_name("web", ghost), 60).await;
    let st = b.status.unwrap();
    // The branch check finds that GitHub does not know the commit: nothing is fetched.
    assert_eq!(st.phase, BuildPhase::Failed, "{st:?}");
    assert_eq!(st.reason.as_deref(), Some("CommitNotFound"), "{st:?}");
    let msg = st.message.unwrap_or_default();
    assert!(
        msg.contains("404") && msg.contains("does not know"),
        "{msg}"
    );
    assert_eq!(w.gh.tarball_downloads(), 0);
    assert!(!msg.contains(GITHUB_TOKEN), "{msg}");
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
}

#[tokio::test]
async fn a_dockerfile_or_context_escaping_the_repository_fails_the_build() {
    let w = world(None, true).await;
    let server = start(&w, "hostile-escape", &[]).await;
    let sha = w.commit("escape\n");
    let escapes = [
        ("dockerfile-up", ".", "../../etc/passwd", "dockerfile path"),
        ("dockerfile-abs", ".", "/etc/passwd", "dockerfile path"),
        ("context-up", "../other-repo", "Dockerfile", "build context"),
        ("context-abs", "/", "Dockerfile", "build context"),
    ];
    for (name, context, dockerfile, _) in escapes {
        let b: mosaic_core::resources::Binding = serde_json::from_value(json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "metadata": {"name": name},
            // Each its own Deployment: one owner per container.
            "spec": {"deployment": name, "repo": w.repo, "branch": "main", "image": w.image,
                "registrySecret": "registry", "githubSecret": "github",
                "context": context, "dockerfile": dockerfile}
        }))
        .unwrap();
        w.bindings().create(&Default::default(), &b).await.unwrap();
    }
    // The intake sees the new Bindings through its watch: poll until a push records all five.
    let body = push_body(&w.repo, &sha);
    let recorded = mosaic_tests::eventually("the intake to see 5 Bindings", 20, || {
        let body = body.clone();
        let server = &server;
        async move {
            let (_, j) = deliver(server, "push", "d-esc", &body, WEBHOOK_SECRET).await;
            let n = j["created"].as_array().map_or(0, Vec::len)
                + j["existing"].as_array().map_or(0, Vec::len);
            (n == 5).then_some(())
        }
    })
    .await;
    let () = recorded;
    for (name, _, _, needle) in escapes {
        let b = terminal(&w, &build_name(name, &sha), 60).await;
        let st = b.status.unwrap();
        assert_eq!(st.phase, BuildPhase::Failed, "{name}: {st:?}");
        assert_eq!(
            st.reason.as_deref(),
            Some("InvalidBinding"),
            "{name}: {st:?}"
        );
        let msg = st.message.unwrap_or_default();
        assert!(msg.contains(needle), "{name}: {msg}");
        assert!(
            msg.contains("`..`") || msg.contains("absolute"),
            "{name}: {msg}"
        );
    }
}

/// Finding 1 of docs/reliability.md (fixed): Build names carry the first 12 hex digits of the
/// commit; a second commit sharing that prefix must still get its own Build, not be taken for
/// a redelivery.
#[tokio::test]
async fn two_commits_sharing_a_short_prefix_both_get_builds() {
    let w = world(None, true).await;
    let server = start(&w, "hostile-prefix", &[]).await;
    let a = "abcdef012345aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let b = "abcdef012345bbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    let (s, j) = push(&server, &w, "d-a", a).await;
    assert_eq!(s, 201, "{j}");
    let (s, j) = push(&server, &w, "d-b", b).await;
    assert_eq!(
        s, 201,
        "a different commit is a new Build, not a duplicate: {j}"
    );
    let commits: Vec<String> = w
        .builds()
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|x| x.spec.commit)
        .collect();
    assert!(commits.contains(&b.to_string()), "{commits:?}");
}
