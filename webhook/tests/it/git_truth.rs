//! Real-stack tests of "git is the truth": the real `mosaic-webhook` binary against the fake
//! GitHub's commit graph, which each test moves as git would (push, force-push, reset). A
//! delivery is a hint; the branch decides what deploys.

use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build, BuildPhase, TriggerKind, build_name};
use mosaic_tests::fake_github::File;
use mosaic_tests::webhook::*;

/// A signed push of `sha` whose `before` is `before`.
async fn push_from(
    server: &Server,
    w: &World,
    delivery: &str,
    sha: &str,
    before: &str,
) -> (u16, serde_json::Value) {
    let mut v: serde_json::Value = serde_json::from_slice(&push_body(&w.repo, sha)).unwrap();
    v["before"] = before.into();
    let body = serde_json::to_vec(&v).unwrap();
    deliver(server, "push", delivery, &body, WEBHOOK_SECRET).await
}

fn app(marker: &str) -> Vec<File> {
    vec![
        File::new("Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n"),
        File::new("hello.txt", marker),
    ]
}

async fn deployed_commit(w: &World) -> String {
    let d = w.deployments().get("web").await.unwrap();
    d.spec
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap_or_default()[names::ANNOTATION_COMMIT]
        .clone()
}

/// The Events on Binding `web` with `reason`, as their messages, once there is one: a Build
/// decided before it starts writes its Event just after its terminal status.
async fn binding_events(w: &World, reason: &str) -> Vec<String> {
    let events: Api<k8s_openapi::api::core::v1::Event> =
        Api::namespaced(w.kube.client.clone(), w.ns());
    mosaic_tests::eventually("an Event on the Binding", 30, || {
        let events = events.clone();
        async move {
            let found: Vec<String> = events
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .into_iter()
                .filter(|e| {
                    e.involved_object.kind.as_deref() == Some("Binding")
                        && e.involved_object.name.as_deref() == Some("web")
                        && e.reason.as_deref() == Some(reason)
                })
                .filter_map(|e| e.message)
                .collect();
            (!found.is_empty()).then_some(found)
        }
    })
    .await
}

fn reason(b: &Build) -> String {
    b.status
        .as_ref()
        .and_then(|s| s.reason.clone())
        .unwrap_or_default()
}

fn message(b: &Build) -> String {
    b.status
        .as_ref()
        .and_then(|s| s.message.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_late_redelivery_of_an_older_push_is_superseded_and_rolls_nothing_back() {
    let w = world(None, true).await;
    let server = start(&w, "git-1", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let old = w.commit("one\n");
    let new = w.commit("two\n");
    // The older push was refused at the time (say a 503); the newer one deploys.
    assert_eq!(push_from(&server, &w, "d-new", &new, &old).await.0, 201);
    let newer = terminal(&w, &build_name("web", &new), 120).await;
    assert_eq!(phase(&newer), BuildPhase::Succeeded, "{:?}", newer.status);
    let image = newer.status.unwrap().image.unwrap();
    let downloads = w.gh.tarball_downloads();

    // Redelivered from GitHub's UI later: it is the newest arrival, but git says it is behind.
    assert_eq!(push(&server, &w, "d-old", &old).await.0, 201);
    let b = terminal(&w, &build_name("web", &old), 60).await;
    assert_eq!(
        (phase(&b), reason(&b).as_str()),
        (BuildPhase::Superseded, "Superseded"),
        "{:?}",
        b.status
    );
    assert!(message(&b).contains(&new[..12]), "{}", message(&b));
    assert_eq!(deployed_image(&w).await, image, "still on the newer digest");
    let events = binding_events(&w, "Superseded").await;
    assert!(
        events
            .iter()
            .any(|m| m.contains(&old[..12]) && m.contains(&new[..12])),
        "{events:?}"
    );
    assert_eq!(w.gh.tarball_downloads(), downloads, "nothing built");
    // Posted after the Build's terminal write, as the Event.
    let last = mosaic_tests::eventually("the old commit's status", 30, || {
        let last = w.gh.statuses(&old).pop();
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
async fn a_signed_push_of_a_commit_not_on_the_branch_builds_and_deploys_nothing() {
    let w = world(None, true).await;
    let server = start(&w, "git-2", &[]).await;
    let head = w.commit("main\n");
    // An unmerged pull request's head: GitHub serves it, but it is on no branch.
    let pr = w.gh.commit_off_branch(&w.repo, Some(&head), app("evil\n"));
    assert_eq!(push(&server, &w, "d-pr", &pr).await.0, 201);
    let b = terminal(&w, &build_name("web", &pr), 60).await;
    assert_eq!(
        (phase(&b), reason(&b).as_str()),
        (BuildPhase::Cancelled, "NotOnBranch"),
        "{:?}",
        b.status
    );
    assert!(
        message(&b).contains("not on branch main") && message(&b).contains(&head[..12]),
        "{}",
        message(&b)
    );
    assert_eq!(w.gh.tarball_downloads(), 0, "nothing fetched or built");
    let events = binding_events(&w, "NotOnBranch").await;
    assert!(
        events
            .iter()
            .any(|m| m.contains(&pr[..12]) && m.contains("not on branch main")),
        "the Event on the Binding says why: {events:?}"
    );
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
    let binding = w.bindings().get("web").await.unwrap();
    assert!(
        binding.status.and_then(|s| s.last_commit).is_none(),
        "nothing deployed"
    );
}

#[tokio::test]
async fn a_force_push_deploys_the_new_head_and_a_reset_deploys_an_old_commit_again() {
    let w = world(None, true).await;
    let server = start(&w, "git-5", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let zero = "0".repeat(40);
    let a = w.commit("a\n");
    assert_eq!(push_from(&server, &w, "d-a", &a, &zero).await.0, 201);
    assert_eq!(
        phase(&terminal(&w, &build_name("web", &a), 120).await),
        BuildPhase::Succeeded
    );
    let b = w.commit("b\n");
    assert_eq!(push_from(&server, &w, "d-b", &b, &a).await.0, 201);
    assert_eq!(
        phase(&terminal(&w, &build_name("web", &b), 120).await),
        BuildPhase::Succeeded
    );

    // Force-push: c replaces b (it descends from a, not from b). The branch head wins.
    let c = w.gh.commit_off_branch(&w.repo, Some(&a), app("c\n"));
    w.gh.move_branch(&w.repo, "main", &c);
    assert_eq!(push_from(&server, &w, "d-c", &c, &b).await.0, 201);
    let built = terminal(&w, &build_name("web", &c), 120).await;
    assert_eq!(phase(&built), BuildPhase::Succeeded, "{:?}", built.status);
    assert_eq!(deployed_commit(&w).await, c);

    // Reset back to a, which was built and deployed before: it deploys again, as a new Build.
    w.gh.move_branch(&w.repo, "main", &a);
    let (status, body) = push_from(&server, &w, "d-reset", &a, &c).await;
    assert_eq!(status, 201, "{body}");
    let again = format!("{}-from-{}", build_name("web", &a), &c[..8]);
    assert_eq!(
        body["created"],
        serde_json::json!([format!("{}/{again}", w.ns())])
    );
    let redeployed = terminal(&w, &again, 120).await;
    assert_eq!(
        phase(&redeployed),
        BuildPhase::Succeeded,
        "{:?}",
        redeployed.status
    );
    assert_eq!(deployed_commit(&w).await, a);
    // A redelivery of the reset push is still a no-op.
    let (status, body) = push_from(&server, &w, "d-reset", &a, &c).await;
    assert_eq!((status, &body["created"]), (200, &serde_json::json!([])));
    // The force-pushed-away commit b, redelivered, is no longer on the branch.
    let (status, _) = push_from(&server, &w, "d-b2", &b, &zero).await;
    assert_eq!(status, 201);
    let gone = terminal(
        &w,
        &format!("{}-from-{}", build_name("web", &b), &zero[..8]),
        60,
    )
    .await;
    assert_eq!(reason(&gone), "NotOnBranch", "{:?}", gone.status);
    assert_eq!(deployed_commit(&w).await, a);
}

#[tokio::test]
async fn a_lost_delivery_is_deployed_by_the_resync_and_an_unchanged_branch_costs_only_304s() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let sha = w.commit("never delivered\n");
    let server = start(&w, "git-4", &["--resync-interval", "1"]).await;
    let b = terminal(&w, &build_name("web", &sha), 120).await;
    assert_eq!(phase(&b), BuildPhase::Succeeded, "{:?}", b.status);
    assert_eq!(b.spec.trigger.kind, TriggerKind::Resync);
    assert_eq!(deployed_commit(&w).await, sha);

    // Nothing changes: every further read of the branch is conditional and answered 304.
    let before = w.gh.graph_requests();
    let gh = &w.gh;
    let after = mosaic_tests::eventually("three more resync rounds", 90, || async move {
        let now = gh.graph_requests();
        (now.branch_not_modified >= before.branch_not_modified + 3).then_some(now)
    })
    .await;
    assert_eq!(
        after.branch_full, before.branch_full,
        "no unconditional read of an unchanged branch"
    );
    let builds = w.builds().list(&ListParams::default()).await.unwrap();
    assert_eq!(
        builds.items.len(),
        1,
        "nothing recorded for an unchanged branch"
    );
    drop(server);
}

#[tokio::test]
async fn a_paused_binding_builds_nothing_even_from_builds_recorded_before_the_pause() {
    let w = world(None, true).await;
    let sha = w.commit("paused\n");
    // An intake-only replica records the Build; then the Binding is paused.
    let intake = start(&w, "git-7a", &["--concurrency", "0"]).await;
    assert_eq!(push(&intake, &w, "d-1", &sha).await.0, 201);
    let pause = serde_json::json!({"spec": {"paused": true}});
    w.bindings()
        .patch("web", &PatchParams::default(), &Patch::Merge(&pause))
        .await
        .unwrap();
    let worker = start(&w, "git-7b", &[]).await;
    let b = terminal(&w, &build_name("web", &sha), 60).await;
    assert_eq!(
        (phase(&b), reason(&b).as_str()),
        (BuildPhase::Cancelled, "Paused"),
        "{:?}",
        b.status
    );
    assert!(message(&b).contains("spec.paused"), "{}", message(&b));
    assert_eq!(w.gh.tarball_downloads(), 0, "nothing built");
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
    // And a push while paused records nothing at all.
    let next = w.commit("still paused\n");
    let (status, body) = push(&worker, &w, "d-2", &next).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (202, Some("BindingsPaused"))
    );
}

#[tokio::test]
async fn two_bindings_of_one_commit_report_under_two_contexts() {
    let w = world(None, true).await;
    let server = start(
        &w,
        "git-8",
        &["--resync-interval", "0", "--rollout-timeout", "5"],
    )
    .await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    // A second Binding of the same branch, for Deployment `api`, which never becomes ready.
    let dep: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "api"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "app", "image": "example.com/api:before"}]}}}
    }))
    .unwrap();
    w.deployments()
        .create(&PostParams::default(), &dep)
        .await
        .unwrap();
    let mut api_binding = w.bindings().get("web").await.unwrap();
    api_binding.metadata = kube::api::ObjectMeta {
        name: Some("api".into()),
        ..Default::default()
    };
    api_binding.spec.deployment = "api".into();
    api_binding.status = None;
    let bindings: Api<Binding> = w.bindings();
    bindings
        .create(&PostParams::default(), &api_binding)
        .await
        .unwrap();
    let sha = w.commit("two teams\n");
    let (server, world, commit) = (&server, &w, &sha);
    mosaic_tests::eventually("the webhook to see both Bindings", 30, || async move {
        let (status, _) = push(server, world, "d-1", commit).await;
        let w = world;
        let n = w
            .builds()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len();
        (status == 201 || status == 200)
            .then_some(())
            .filter(|_| n == 2)
    })
    .await;
    let web = terminal(&w, &build_name("web", &sha), 120).await;
    let api = terminal(&w, &build_name("api", &sha), 120).await;
    assert_eq!(phase(&web), BuildPhase::Succeeded, "{:?}", web.status);
    assert_eq!(phase(&api), BuildPhase::Failed, "{:?}", api.status);
    let last = |context: String| {
        w.gh.statuses(&sha)
            .into_iter()
            .rfind(|s| s.context == context)
            .map(|s| s.state)
    };
    let ns = w.ns();
    assert_eq!(last(format!("mosaic/{ns}/web")).as_deref(), Some("success"));
    assert_eq!(
        last(format!("mosaic/{ns}/api")).as_deref(),
        Some("failure"),
        "the failure is not hidden by the other Binding's success"
    );
}
