//! Real-stack tests of `--builder buildkit`: the real dockerd's BuildKit (API `version=2` with
//! a session) builds a `FROM scratch` commit, the image is pushed and served by its digest and
//! the Deployment rolls to it; a broken Dockerfile fails the Build with BuildKit's error line.

use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::fake_github::File;
use mosaic_tests::webhook::*;

async fn push(w: &World, server: &Server, sha: &str) -> String {
    let (status, body) = mosaic_tests::webhook::push(server, w, "d-1", sha).await;
    assert_eq!(status, 201, "{body}");
    build_name("web", sha)
}

#[tokio::test]
async fn buildkit_builds_pushes_and_rolls_by_digest() {
    let w = world(None, true).await;
    let server = start(&w, "bk-1", &["--builder", "buildkit"]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let sha = w.commit(&format!("built by buildkit in {}\n", w.ns()));
    let name = push(&w, &server, &sha).await;

    let b = terminal(&w, &name, 120).await;
    let st = b.status.unwrap();
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
    let tail = st.log_tail.unwrap_or_default();
    // Only BuildKit reports its internal steps; the classic builder prints `Step 1/2 : …`.
    assert!(
        tail.contains("[internal] load remote build context")
            && tail.contains("[1/1] COPY hello.txt /hello.txt")
            && !tail.contains("Step 1/"),
        "{tail}"
    );
    let image = st.image.expect("image recorded");
    let (repo, digest) = image.split_once('@').expect("image by digest");
    assert_eq!(repo, w.image);
    assert_eq!(registry_serves(&w, digest).await, 200);
    assert_eq!(deployed_image(&w).await, image);
    let last = w.gh.statuses(&sha).pop().unwrap();
    assert_eq!(last.state, "success");
}

#[tokio::test]
async fn a_broken_dockerfile_fails_the_buildkit_build_with_its_error() {
    let w = world(None, true).await;
    let server = start(&w, "bk-2", &["--builder", "buildkit"]).await;
    let sha = w.gh.commit(
        &w.repo,
        "main",
        vec![File::new(
            "Dockerfile",
            "FROM scratch\nCOPY missing.txt /missing.txt\n",
        )],
    );
    let name = push(&w, &server, &sha).await;
    let b = terminal(&w, &name, 120).await;
    let st = b.status.unwrap();
    assert_eq!(
        (st.phase, st.reason.as_deref()),
        (BuildPhase::Failed, Some("BuildFailed")),
        "{st:?}"
    );
    let msg = st.message.unwrap_or_default();
    assert!(msg.contains("missing.txt") && !msg.contains('\n'), "{msg}");
    assert_eq!(deployed_image(&w).await, "example.com/web:before");
}
