//! Real-stack takeover tests: a Build taken over after its push continues from the digest it
//! pushed (recorded in its status, or found under its own tag in the registry) without
//! downloading or building the commit again, and rolls the Deployment once; two Bindings of
//! one commit with different Dockerfiles into one repository each deploy their own image.

use kube::api::{Api, PostParams};
use mosaic_core::resources::{Binding, Build, BuildPhase, build_name};
use mosaic_tests::fake_github::File;
use mosaic_tests::webhook::*;
use serde_json::json;

/// Push a commit to a first process with no Deployment controller running, wait until it
/// holds the Build in RollingOut (pushed, digest recorded), SIGKILL it. Returns the Build.
async fn killed_in_rolling_out(w: &World, marker: &str) -> Build {
    let mut first = start(w, "first", &[]).await;
    let sha = w.commit(marker);
    let name = build_name("web", &sha);
    assert_eq!(push(&first, w, "d-1", &sha).await.0, 201);
    let api = w.builds();
    mosaic_tests::eventually("the Build to roll out under `first`", 60, || {
        let (api, name) = (api.clone(), name.clone());
        async move {
            let s = api.get_opt(&name).await.ok().flatten()?.status?;
            (s.phase == BuildPhase::RollingOut && s.claimed_by.as_deref() == Some("first"))
                .then_some(())
        }
    })
    .await;
    first.child.kill().expect("SIGKILL");
    first.child.wait().unwrap();
    api.get(&name).await.unwrap()
}

/// Every phase `name` is written in from `rv` on, in order, until it is terminal.
fn phases_from(w: &World, name: &str, rv: &str) -> tokio::task::JoinHandle<Vec<BuildPhase>> {
    use futures::StreamExt;
    let (api, name, rv) = (w.builds(), name.to_string(), rv.to_string());
    tokio::spawn(async move {
        let wp = kube::api::WatchParams::default().fields(&format!("metadata.name={name}"));
        let mut events = api.watch(&wp, &rv).await.expect("watch the Build").boxed();
        let mut seen = Vec::new();
        while let Some(ev) = events.next().await {
            if let Ok(kube::api::WatchEvent::Modified(b)) = ev {
                let phase = b.status.map(|s| s.phase).unwrap_or_default();
                seen.push(phase);
                if phase.is_terminal() {
                    break;
                }
            }
        }
        seen
    })
}

/// The second process takes `before` over and finishes it: Succeeded, with `before`'s digest,
/// no new download of the commit, one rollout, and the resume logged. The takeover keeps the
/// phase the Build had reached and when it entered each phase: it never shows Building again.
async fn finished_from_the_pushed_digest(w: &World, before: &Build, digest: &str) {
    let downloads = w.gh.tarball_downloads();
    let _controller = deployment_controller(w, Rollouts::Healthy);
    let name = before.metadata.name.clone().unwrap();
    let rv = before.metadata.resource_version.clone().unwrap();
    let phases = phases_from(w, &name, &rv);
    let second = start(w, "second", &[]).await;
    let b = terminal(w, &name, 120).await;
    let st = b.status.clone().unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let phases = tokio::time::timeout(std::time::Duration::from_secs(30), phases)
        .await
        .expect("the watch saw the Build end")
        .unwrap();
    assert!(
        !phases.contains(&BuildPhase::Building),
        "the takeover showed Building again: {phases:?}"
    );
    let was = before.status.clone().unwrap();
    assert_eq!(
        st.phase_times.building, was.phase_times.building,
        "the time the Build started building is kept"
    );
    assert_eq!(st.claimed_by.as_deref(), Some("second"));
    assert_eq!(st.image.as_deref(), Some(digest), "the digest pushed first");
    assert_eq!(deployed_image(w).await, digest);
    assert_eq!(
        w.gh.tarball_downloads(),
        downloads,
        "the commit was downloaded (built) again"
    );
    let dep = w.deployments().get("web").await.unwrap();
    assert_eq!(dep.metadata.generation, Some(2), "one rollout, not two");
    let log = std::fs::read_to_string(&second.log).unwrap();
    assert!(
        log.contains("taken over after its push"),
        "second log:\n{log}"
    );
}

#[tokio::test]
async fn taken_over_in_rolling_out_continues_from_the_recorded_digest() {
    let w = world(None, true).await;
    let before = killed_in_rolling_out(&w, "recorded digest\n").await;
    let image = before.status.as_ref().and_then(|s| s.image.clone());
    let image = image.expect("the first process recorded the pushed image");
    assert!(
        image.starts_with(&format!("{}@sha256:", w.image)),
        "{image}"
    );
    finished_from_the_pushed_digest(&w, &before, &image).await;
}

#[tokio::test]
async fn taken_over_in_pushing_finds_the_image_under_its_own_tag() {
    let w = world(None, true).await;
    let killed = killed_in_rolling_out(&w, "tag only\n").await;
    let image = killed
        .status
        .as_ref()
        .and_then(|s| s.image.clone())
        .unwrap();
    // As if the kill had landed after the registry took the push and before the digest was
    // written: phase Pushing, no image recorded (the status as the first process left it).
    let mut b = killed.clone();
    let s = b.status.as_mut().unwrap();
    s.phase = BuildPhase::Pushing;
    s.image = None;
    s.phase_times.rolling_out = None;
    s.previous_image = None;
    s.previous_commit = None;
    s.previous_build = None;
    let name = b.metadata.name.clone().unwrap();
    let before = w
        .builds()
        .replace_status(&name, &PostParams::default(), &b)
        .await
        .expect("rewrite the status");
    // The registry serves the Build's image under a tag of its own (commit and Build).
    let digest = image.split_once('@').unwrap().1;
    assert_eq!(registry_serves(&w, digest).await, 200);
    finished_from_the_pushed_digest(&w, &before, &image).await;
}

#[tokio::test]
async fn two_bindings_of_one_commit_with_other_dockerfiles_keep_their_images() {
    let w = world(None, true).await;
    // A second Deployment and Binding for the same repository and image repository, built
    // from another Dockerfile of the same commit.
    let dep = json!({
        "metadata": {"name": "alt"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "alt"}},
            "template": {"metadata": {"labels": {"app": "alt"}},
                "spec": {"containers": [{"name": "app", "image": "example.com/alt:before"}]}}}
    });
    let dep = serde_json::from_value(dep).unwrap();
    w.deployments()
        .create(&PostParams::default(), &dep)
        .await
        .unwrap();
    let binding: Binding = serde_json::from_value(json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
        "metadata": {"name": "alt"},
        "spec": {"deployment": "alt", "repo": w.repo, "branch": "main", "image": w.image,
            "dockerfile": "Dockerfile.alt", "registrySecret": "registry",
            "githubSecret": "github", "takeOwnership": true}
    }))
    .unwrap();
    Api::<Binding>::namespaced(w.kube.client.clone(), w.ns())
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let server = start(&w, "two", &["--concurrency", "2"]).await;
    let sha = w.gh.commit(
        &w.repo,
        "main",
        vec![
            File::new(
                "Dockerfile",
                "FROM scratch\nCOPY hello.txt /hello.txt\nLABEL variant=web\n",
            ),
            File::new(
                "Dockerfile.alt",
                "FROM scratch\nCOPY hello.txt /alt.txt\nLABEL variant=alt\n",
            ),
            File::new("hello.txt", "one commit, two images\n"),
        ],
    );
    assert_eq!(push(&server, &w, "d-1", &sha).await.0, 201);
    // The stand-in controller completes `web` only: each Build is checked once its image is
    // recorded and applied to its Deployment.
    let mut digests = Vec::new();
    for binding in ["web", "alt"] {
        let (builds, deps, name) = (w.builds(), w.deployments(), build_name(binding, &sha));
        let image = mosaic_tests::eventually(&format!("{binding} to be rolled"), 120, || {
            let (builds, deps, name) = (builds.clone(), deps.clone(), name.clone());
            async move {
                let st = builds.get_opt(&name).await.ok().flatten()?.status?;
                assert_ne!(st.phase, BuildPhase::Failed, "{binding}: {st:?}");
                let image = st.image?;
                let dep = deps.get(binding).await.ok()?;
                let spec = dep.spec.template.spec?;
                (spec.containers[0].image.as_deref() == Some(image.as_str())).then_some(image)
            }
        })
        .await;
        mosaic_tests::pull(&image).await;
        let labels = mosaic_tests::docker()
            .inspect_image(&image)
            .await
            .unwrap()
            .config
            .and_then(|c| c.labels)
            .unwrap_or_default();
        assert_eq!(
            labels.get("variant").map(String::as_str),
            Some(binding),
            "{binding} deployed {image}"
        );
        digests.push(image);
    }
    assert_ne!(digests[0], digests[1]);
}
