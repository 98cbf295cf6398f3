//! Real-stack tests of `--syntax-frontends` with `--builder buildkit`: a Dockerfile whose
//! `# syntax=` names a frontend the builder does not allow fails its Build with the reason,
//! before BuildKit sees it; the same line where it is only a comment (after an instruction)
//! builds; and the classic builder, which ignores the line, builds it.

use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::fake_github::File;
use mosaic_tests::webhook::*;

fn commit(w: &World, dockerfile: &str, marker: &str) -> String {
    w.gh.commit(
        &w.repo,
        "main",
        vec![
            File::new("Dockerfile", dockerfile),
            File::new("hello.txt", marker),
        ],
    )
}

async fn built(
    w: &World,
    server: &Server,
    sha: &str,
    delivery: &str,
) -> mosaic_core::resources::BuildStatus {
    let (status, body) = push(server, w, delivery, sha).await;
    assert_eq!(status, 201, "{body}");
    terminal(w, &build_name("web", sha), 120)
        .await
        .status
        .unwrap()
}

#[tokio::test]
async fn an_unlisted_frontend_fails_the_buildkit_build_with_the_reason() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let server = start(&w, "sf-1", &["--builder", "buildkit"]).await;
    let sha = commit(
        &w,
        "# Syntax = docker/dockerfile:1\nFROM scratch\nCOPY hello.txt /hello.txt\n",
        "asks for a frontend\n",
    );
    let st = built(&w, &server, &sha, "d-1").await;
    assert_eq!(st.phase, BuildPhase::Failed, "{st:?}");
    let m = st.message.unwrap_or_default();
    assert!(
        m.contains("frontend \"docker/dockerfile:1\"")
            && m.contains("line 1")
            && m.contains("--syntax-frontends allows none"),
        "{m}"
    );
    assert_eq!(st.image, None, "nothing was pushed");

    // After an instruction the line is a comment: it builds.
    let sha = commit(
        &w,
        "FROM scratch\n# syntax=docker/dockerfile:1\nCOPY hello.txt /hello.txt\n",
        "only a comment\n",
    );
    let st = built(&w, &server, &sha, "d-2").await;
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
}

#[tokio::test]
async fn the_classic_builder_ignores_the_directive() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let server = start(&w, "sf-2", &[]).await;
    let sha = commit(
        &w,
        "# syntax=docker/dockerfile:1\nFROM scratch\nCOPY hello.txt /hello.txt\n",
        "classic\n",
    );
    let st = built(&w, &server, &sha, "d-1").await;
    assert_eq!(st.phase, BuildPhase::Succeeded, "{st:?}");
}
