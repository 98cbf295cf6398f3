//! Twins of the rollout tests on the real cluster of `scripts/cluster` (Kubernetes 1.20 from
//! Debian: real Deployment controller, scheduler, kubelet and containerd; no stand-in): a good
//! push runs its digest in a real Pod, and `kubectl mosaic explain` names the cause for real
//! crash-looping Pods and real failing readiness probes. `#[ignore]`d because they need the
//! cluster: scripts/test's cluster phase runs them with `--ignored`, where a missing cluster
//! fails them.

use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;

#[tokio::test]
#[ignore = "needs the real cluster: eval \"$(scripts/cluster up)\"; run by scripts/test's cluster phase"]
async fn cluster_good_push_runs_the_pushed_digest_in_a_real_pod() {
    let w = cluster_world(Some("/healthz"), true).await;
    let server = start(&w, "cluster-good", &[]).await;
    let marker = format!("hello from a real pod in {}", w.ns());
    let sha = commit_app(&w, App::Serves(&marker));
    assert_eq!(push(&server, &w, "d-good", &sha).await.0, 201);

    let b = terminal(&w, &build_name("web", &sha), 240).await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let image = st.image.expect("image recorded");
    let digest = image
        .split_once('@')
        .expect("image by digest")
        .1
        .to_string();
    assert_eq!(deployed_image(&w).await, image);

    // The real controllers replaced the pause pod by one Ready pod whose container runs exactly
    // the pushed digest, as the kubelet reports it (imageID), and nothing else runs.
    let pod = eventually_on_cluster(&w, "only a Ready pod of the pushed digest", 60, || {
        let (w, image, digest) = (&w, &image, &digest);
        async move {
            let pods = web_pods(w).await;
            let ready: Vec<_> = pods
                .iter()
                .filter(|p| {
                    spec_image(p) == image
                        && app_status(p).is_some_and(|c| {
                            c.ready
                                && c.image_id.ends_with(digest.as_str())
                                && c.state.as_ref().is_some_and(|s| s.running.is_some())
                        })
                })
                .cloned()
                .collect();
            (pods.len() == 1 && ready.len() == 1).then(|| ready[0].clone())
        }
    })
    .await;
    let cs = app_status(&pod).unwrap();
    assert_eq!(cs.restart_count, 0, "{cs:?}");
    assert!(cs.image_id.contains("/mosaic-test/"), "{}", cs.image_id);

    // The pod serves the pushed commit (its address is on the cluster's bridge).
    let ip = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("pod IP");
    let body = reqwest::get(format!("http://{ip}:{PORT}/"))
        .await
        .expect("the pod answers")
        .text()
        .await
        .unwrap();
    assert_eq!(body.trim(), marker);
    let last = w.gh.statuses(&sha).pop().unwrap();
    assert_eq!(last.state, "success", "{}", last.description);
}

/// Push `app` with rollback off and wait until the real kubelet shows `ready_when` on a new pod.
async fn push_and_wait_for(
    w: &World,
    server: &Server,
    app: App<'_>,
    what: &str,
    ready_when: fn(&k8s_openapi::api::core::v1::Pod) -> bool,
) -> String {
    let sha = commit_app(w, app);
    assert_eq!(push(server, w, "d-bad", &sha).await.0, 201);
    eventually_on_cluster(w, what, 180, || async move {
        web_pods(w)
            .await
            .into_iter()
            .find(|p| spec_image(p) != PAUSE_IMAGE && ready_when(p))
            .and_then(|p| p.metadata.name)
    })
    .await
}

#[tokio::test]
#[ignore = "needs the real cluster: eval \"$(scripts/cluster up)\"; run by scripts/test's cluster phase"]
async fn cluster_explain_names_a_real_crash_loop() {
    let w = cluster_world(None, false).await;
    let server = start(&w, "cluster-crash", &[]).await;
    let pod = push_and_wait_for(
        &w,
        &server,
        App::CrashesAfterOneSecond,
        "a new pod that crashed twice",
        |p| app_status(p).is_some_and(|c| c.restart_count >= 2),
    )
    .await;

    // Between restarts the kubelet shows the container running again: poll explain until it
    // sees the crash loop (1.20 reports it as waiting: CrashLoopBackOff).
    let crash = explained(&w, &pod, "pod.crash-loop").await;
    let text = crash.to_string();
    assert!(
        text.contains("exit code 3"),
        "the exit code is named: {crash:#}"
    );
    let out = explain(&w, &["deploy/web", "-n", w.ns()]);
    assert_eq!(out.status.code(), Some(1), "explain exits 1 with findings");
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.contains(&pod) && human.contains("crash loop: container app exits with code 3"),
        "{human}"
    );
}

/// Poll `kubectl mosaic explain deploy/web -o json` until it has a `slug` finding for `pod`.
async fn explained(w: &World, pod: &str, slug: &str) -> serde_json::Value {
    mosaic_tests::eventually(
        &format!("explain to report {slug} for {pod}"),
        90,
        || async move {
            findings(&explain(w, &["deploy/web", "-n", w.ns(), "-o", "json"]))
                .into_iter()
                .find(|f| f["object"]["name"] == pod && f["slug"] == slug)
        },
    )
    .await
}

#[tokio::test]
#[ignore = "needs the real cluster: eval \"$(scripts/cluster up)\"; run by scripts/test's cluster phase"]
async fn cluster_explain_names_a_real_failing_readiness_probe() {
    let w = cluster_world(Some("/healthz"), false).await;
    let server = start(&w, "cluster-probe", &[]).await;
    let pod = push_and_wait_for(
        &w,
        &server,
        App::NoHealthz("no healthz here"),
        "a new pod running but not ready",
        |p| {
            app_status(p)
                .is_some_and(|c| !c.ready && c.state.as_ref().is_some_and(|s| s.running.is_some()))
        },
    )
    .await;

    // The kubelet's Unhealthy events come with the probe period: poll explain until it has one.
    let finding = explained(&w, &pod, "pod.probe.readiness-failing").await;
    let text = finding.to_string();
    assert!(
        text.contains("404"),
        "the probe's answer is named: {finding:#}"
    );
    assert!(text.contains("/healthz"), "the probe is named: {finding:#}");
}
