//! Real-stack tests of the whole flow through the real `mosaic-webhook` binary: signed push →
//! Build → image in the registry by digest → Deployment rolled by digest → GitHub statuses; plus
//! redelivery, tampering, latest-wins, bad registry credentials and a failing rollout.

use mosaic_core::names;
use mosaic_core::resources::BuildPhase;
use mosaic_tests::webhook::*;

#[tokio::test]
async fn signed_push_builds_pushes_rolls_and_reports() {
    let w = world(None, true).await;
    let server = start(&w, "flow-1", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let sha = w.commit("hello from the full flow\n");

    let (status, body) = push(&server, &w, "delivery-1", &sha).await;
    assert_eq!(status, 201, "{body}");
    let name = mosaic_core::resources::build_name("web", &sha);
    assert_eq!(
        body["created"],
        serde_json::json!([format!("{}/{name}", w.ns())]),
        "{body}"
    );

    let b = terminal(&w, &name, 120).await;
    let st = b.status.clone().unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let image = st.image.clone().expect("image recorded");
    let (repo_part, digest) = image.split_once('@').expect("image by digest");
    assert_eq!(repo_part, w.image);
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    assert_eq!(
        registry_serves(&w, digest).await,
        200,
        "registry serves the recorded digest"
    );
    assert_eq!(
        deployed_image(&w).await,
        image,
        "Deployment runs the digest"
    );
    let dep = w.deployments().get("web").await.unwrap();
    let ann = dep.spec.template.metadata.unwrap().annotations.unwrap();
    assert_eq!(ann[names::ANNOTATION_COMMIT], sha);
    assert!(
        st.log_tail
            .as_deref()
            .unwrap_or_default()
            .contains("COPY hello.txt"),
        "log tail: {:?}",
        st.log_tail
    );
    assert_eq!(st.previous_image.as_deref(), Some("example.com/web:before"));

    let states: Vec<(String, String)> =
        w.gh.statuses(&sha)
            .into_iter()
            .map(|s| (s.state, s.description))
            .collect();
    assert_eq!(
        states,
        [
            ("pending".to_string(), "building".to_string()),
            ("pending".to_string(), "rolling out".to_string()),
            (
                "pending".to_string(),
                "verifying: the new pods must stay healthy for 1s".to_string()
            ),
            (
                "success".to_string(),
                format!("deployed {image}").chars().take(140).collect()
            ),
        ]
    );
    let context = format!("mosaic/{}/web", w.ns());
    assert!(w.gh.statuses(&sha).iter().all(|s| s.context == context));

    let binding = w.bindings().get("web").await.unwrap();
    let bs = binding.status.unwrap();
    assert_eq!(bs.last_commit.as_deref(), Some(sha.as_str()));
    assert_eq!(bs.last_image.as_deref(), Some(image.as_str()));
    assert_eq!(bs.last_build.as_deref(), Some(name.as_str()));
    assert_eq!(bs.conditions[0].status, "True");

    // Redelivery of the same push (same or new delivery id) records nothing new.
    let (status, body) = push(&server, &w, "delivery-1", &sha).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["existing"],
        serde_json::json!([format!("{}/{name}", w.ns())])
    );
    assert_eq!(body["created"], serde_json::json!([]));
    assert_eq!(
        w.builds()
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        w.gh.tarball_downloads(),
        1,
        "the commit was fetched exactly once"
    );

    // No secret value anywhere: logs, Build and Binding status, metrics.
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("mosaic_webhook_requests_total{result=\"created\"} 1"),
        "{metrics}"
    );
    let log = std::fs::read_to_string(&server.log).unwrap();
    let build_json = serde_json::to_string(&w.builds().get(&name).await.unwrap()).unwrap();
    let binding_json = serde_json::to_string(&w.bindings().get("web").await.unwrap()).unwrap();
    for secret in [WEBHOOK_SECRET, GITHUB_TOKEN, w.reg.password.as_str()] {
        for (what, text) in [
            ("log", &log),
            ("metrics", &metrics),
            ("Build", &build_json),
            ("Binding", &binding_json),
        ] {
            assert!(!text.contains(secret), "{what} leaks a secret");
        }
    }
}

#[tokio::test]
async fn tampered_or_unsigned_deliveries_are_refused_and_create_nothing() {
    let w = world(None, true).await;
    let server = start(&w, "flow-3", &[]).await;
    let sha = w.commit("tamper\n");
    let body = push_body(&w.repo, &sha);
    let sig = sign(WEBHOOK_SECRET.as_bytes(), &body);
    let mut tampered = body.clone();
    let i = tampered.iter().position(|&c| c == b'm').unwrap();
    tampered[i] = b'n';
    let http = reqwest::Client::new();
    for (what, b, s) in [
        ("tampered", tampered, Some(sig.clone())),
        ("unsigned", body.clone(), None),
        (
            "wrong prefix",
            body.clone(),
            Some(sig.replace("sha256=", "sha1=")),
        ),
    ] {
        let mut req = http
            .post(format!("{}/webhooks/github", server.url))
            .header("x-github-event", "push")
            .body(b);
        if let Some(s) = s {
            req = req.header("x-hub-signature-256", s);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        let j: serde_json::Value = resp.json().await.unwrap();
        assert!(
            j["error"].as_str().unwrap().contains("X-Hub-Signature-256"),
            "{what}: {j}"
        );
    }
    // Signed with the wrong secret.
    let (status, _) = deliver(&server, "push", "d-x", &body, "not-the-secret").await;
    assert_eq!(status, 401);
    assert!(
        w.builds()
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "nothing recorded"
    );

    // Ping, tag pushes and unknown repositories are answered without a Build.
    let ping = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/ping.json")).unwrap();
    assert_eq!(
        deliver(&server, "ping", "d-p", &ping, WEBHOOK_SECRET)
            .await
            .0,
        200
    );
    let (status, j) = deliver(
        &server,
        "push",
        "d-o",
        &push_body("someone/else", &sha),
        WEBHOOK_SECRET,
    )
    .await;
    assert_eq!(
        (status, j["reason"].as_str()),
        (202, Some("NoMatchingBinding"))
    );
    // Over 25 MiB: 413.
    let big = vec![b' '; 25 * 1024 * 1024 + 1];
    let (status, _) = deliver(&server, "push", "d-big", &big, WEBHOOK_SECRET).await;
    assert_eq!(status, 413);
    assert!(
        w.builds()
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "still nothing recorded"
    );
}

#[tokio::test]
async fn two_quick_pushes_deploy_only_the_newer_commit() {
    let w = world(None, true).await;
    let server = start(&w, "flow-4", &["--concurrency", "2"]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let old = w.commit("first\n");
    let new = w.commit("second\n");
    let (s1, _) = push(&server, &w, "d-old", &old).await;
    let (s2, _) = push(&server, &w, "d-new", &new).await;
    assert_eq!((s1, s2), (201, 201));
    let old_b = terminal(&w, &mosaic_core::resources::build_name("web", &old), 120).await;
    let new_b = terminal(&w, &mosaic_core::resources::build_name("web", &new), 120).await;
    assert_eq!(phase(&old_b), BuildPhase::Superseded, "{:?}", old_b.status);
    assert_eq!(phase(&new_b), BuildPhase::Succeeded, "{:?}", new_b.status);
    assert_eq!(
        deployed_image(&w).await,
        new_b.status.unwrap().image.unwrap()
    );
    let dep = w.deployments().get("web").await.unwrap();
    assert_eq!(
        dep.spec.template.metadata.unwrap().annotations.unwrap()[names::ANNOTATION_COMMIT],
        new
    );
    assert!(
        w.gh.statuses(&old)
            .iter()
            .all(|s| !s.description.contains("rolling out")),
        "the old commit never rolled"
    );
    // Superseded before or after its build, the old commit says why it was not deployed
    // (decided before it ran, the report follows the terminal write: wait for it).
    let last = mosaic_tests::eventually("the old commit's final status", 30, || {
        let last = w.gh.statuses(&old).pop().filter(|s| s.state != "pending");
        async move { last }
    })
    .await;
    assert_eq!(last.state, "error");
    assert!(
        last.description
            .starts_with(&format!("not deployed: superseded by {}", &new[..12])),
        "{}",
        last.description
    );
}

#[tokio::test]
async fn wrong_registry_credentials_fail_with_a_clear_reason() {
    let w = world(Some("wrong-password"), true).await;
    let server = start(&w, "flow-6", &[]).await;
    let sha = w.commit("denied\n");
    assert_eq!(push(&server, &w, "d-1", &sha).await.0, 201);
    let b = terminal(&w, &mosaic_core::resources::build_name("web", &sha), 120).await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Failed);
    assert_eq!(st.reason.as_deref(), Some("PushFailed"));
    let msg = st.message.unwrap();
    assert!(
        msg.contains("unauthorized") || msg.contains("authentication"),
        "{msg}"
    );
    assert!(!msg.contains("wrong-password"));
    assert_eq!(
        deployed_image(&w).await,
        "example.com/web:before",
        "nothing rolled"
    );
    let last = w.gh.statuses(&sha).pop().unwrap();
    assert_eq!(last.state, "failure");
    assert!(
        last.description.len() <= 140 && last.description.contains("push"),
        "{}",
        last.description
    );
}

#[tokio::test]
async fn crashing_new_pods_fail_the_rollout_with_findings_and_a_rollback() {
    let w = world(None, true).await;
    let server = start(&w, "flow-7", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::CrashingPods);
    let sha = w.commit("crashing\n");
    let (status, _) = push(&server, &w, "d-1", &sha).await;
    assert_eq!(status, 201);
    let b = terminal(&w, &mosaic_core::resources::build_name("web", &sha), 120).await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Failed, "{st:?}");
    assert_eq!(st.reason.as_deref(), Some("RolloutCrashed"));
    assert!(st.rolled_back, "{st:?}");
    let crash = st
        .findings
        .iter()
        .find(|f| f.slug == "pod.crash-loop")
        .unwrap_or_else(|| panic!("{:?}", st.findings));
    assert_eq!(crash.object.name, "web-g2-1");
    assert_eq!(
        st.message.as_deref(),
        Some(
            "crash loop: container app exits with code 1 about 1 s after start (restarted 6 times)"
        )
    );
    assert_eq!(
        deployed_image(&w).await,
        "example.com/web:before",
        "previous image applied back"
    );
    let last = w.gh.statuses(&sha).pop().unwrap();
    assert_eq!(last.state, "failure");
    assert!(
        last.description
            .starts_with("crash loop: container app exits with code 1")
            && last.description.chars().count() <= 140,
        "{}",
        last.description
    );
    let binding = w.bindings().get("web").await.unwrap().status.unwrap();
    assert_eq!(binding.conditions[0].status, "False");
    assert!(
        binding.last_commit.is_none(),
        "a failed build is not the last deployed commit"
    );
}

#[tokio::test]
async fn progress_deadline_fails_the_rollout_and_keeps_the_image_without_rollback() {
    let w = world(None, false).await;
    // The controller writes ProgressDeadlineExceeded once the deadline passed: make it short.
    w.deployments()
        .patch(
            "web",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(serde_json::json!({"spec": {"progressDeadlineSeconds": 3}})),
        )
        .await
        .unwrap();
    let server = start(&w, "flow-7b", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::DeadlineExceeded);
    let sha = w.commit("stuck\n");
    let (status, _) = push(&server, &w, "d-1", &sha).await;
    assert_eq!(status, 201);
    let b = terminal(&w, &mosaic_core::resources::build_name("web", &sha), 120).await;
    let st = b.status.unwrap();
    assert_eq!(
        (st.phase, st.reason.as_deref()),
        (BuildPhase::Failed, Some("ProgressDeadlineExceeded")),
        "{st:?}"
    );
    assert_eq!(
        st.message.as_deref(),
        Some(
            "rollout passed its progress deadline (3s): ReplicaSet \"web-new\" has timed out progressing."
        )
    );
    assert!(
        st.findings
            .iter()
            .any(|f| f.slug == "deployment.progress-deadline"),
        "{:?}",
        st.findings
    );
    assert!(!st.rolled_back, "rollbackOnFailure is off");
    assert_eq!(
        deployed_image(&w).await,
        st.image.unwrap(),
        "the new image stays"
    );
}
