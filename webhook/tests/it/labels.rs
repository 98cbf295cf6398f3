//! Real-stack tests of the image's OCI labels: the classic builder gets them as ONE `LABEL` line
//! appended to the Dockerfile (one build step, not one per label), BuildKit as the build's
//! `labels` option; either way the image pushed carries all three with the Build's values.

use std::collections::HashMap;

use chrono::SecondsFormat;
use mosaic_core::names;
use mosaic_core::resources::{Build, BuildPhase, build_name};
use mosaic_tests::webhook::*;

/// Push a fresh commit through a webhook started with `extra`; returns the commit, the
/// Succeeded Build and the server (kept alive for its log).
async fn built(w: &World, identity: &str, extra: &[&str]) -> (String, Build, Server) {
    let server = start(w, identity, extra).await;
    let _controller = deployment_controller(w, Rollouts::Healthy);
    let sha = w.commit(&format!("labelled by {identity} in {}\n", w.ns()));
    let (status, body) = push(&server, w, "d-1", &sha).await;
    assert_eq!(status, 201, "{body}");
    let b = terminal(w, &build_name("web", &sha), 120).await;
    let phase = b.status.as_ref().map(|s| s.phase);
    assert_eq!(phase, Some(BuildPhase::Succeeded), "{:?}", b.status);
    (sha, b, server)
}

/// The labels of the image the Build recorded, from the stack's dockerd.
async fn image_labels(b: &Build) -> HashMap<String, String> {
    let image = b.status.as_ref().and_then(|s| s.image.clone()).unwrap();
    mosaic_tests::pull(&image).await;
    let inspect = mosaic_tests::docker()
        .inspect_image(&image)
        .await
        .unwrap_or_else(|e| panic!("inspect {image}: {e}"));
    inspect.config.and_then(|c| c.labels).unwrap_or_default()
}

/// The three labels Mosaic must have put on the image of `b` for commit `sha` of `w.repo`.
fn expected_labels(w: &World, sha: &str, b: &Build) -> HashMap<String, String> {
    let created = mosaic_webhook::push_time(b).expect("Build has a push time");
    HashMap::from([
        (names::OCI_LABEL_REVISION.to_string(), sha.to_string()),
        (
            names::OCI_LABEL_SOURCE.to_string(),
            format!("https://github.com/{}", w.repo),
        ),
        (
            names::OCI_LABEL_CREATED.to_string(),
            created.to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
    ])
}

/// The build output lines the webhook logged (JSON log, target `mosaic_webhook::build_log`).
fn build_lines(server: &Server) -> Vec<String> {
    std::fs::read_to_string(&server.log)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "mosaic_webhook::build_log")
        .filter_map(|v| v["line"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn classic_builds_set_the_three_labels_in_one_label_step() {
    let w = world(None, true).await;
    let (sha, b, server) = built(&w, "labels-classic", &[]).await;

    let labels = image_labels(&b).await;
    for (k, v) in expected_labels(&w, &sha, &b) {
        assert_eq!(
            labels.get(&k),
            Some(&v),
            "label {k}; image labels {labels:?}"
        );
    }

    let lines = build_lines(&server);
    let steps: Vec<&String> = lines.iter().filter(|l| l.starts_with("Step ")).collect();
    let label_steps: Vec<&&String> = steps.iter().filter(|l| l.contains(": LABEL ")).collect();
    assert_eq!(label_steps.len(), 1, "build steps: {steps:#?}");
    let step = label_steps[0];
    for k in [
        names::OCI_LABEL_REVISION,
        names::OCI_LABEL_SOURCE,
        names::OCI_LABEL_CREATED,
    ] {
        assert!(step.contains(&format!("\"{k}\"=")), "{k} not in {step}");
    }
    // FROM, COPY, the LABEL line: the last step, and nothing else added.
    assert_eq!(steps.len(), 3, "build steps: {steps:#?}");
    assert!(step.starts_with("Step 3/3 : LABEL "), "{step}");
}

#[tokio::test]
async fn buildkit_builds_still_set_the_three_labels() {
    let w = world(None, true).await;
    let (sha, b, server) = built(&w, "labels-bk", &["--builder", "buildkit"]).await;

    let labels = image_labels(&b).await;
    for (k, v) in expected_labels(&w, &sha, &b) {
        assert_eq!(
            labels.get(&k),
            Some(&v),
            "label {k}; image labels {labels:?}"
        );
    }
    // BuildKit got them as an option: the Dockerfile it read has no LABEL line.
    let lines = build_lines(&server);
    assert!(
        !lines.iter().any(|l| l.contains("LABEL")),
        "build output: {lines:#?}"
    );
}
