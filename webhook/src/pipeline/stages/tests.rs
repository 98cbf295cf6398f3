//! Unit tests of the bounded retry of the build and push stages: a run that recovers (and says
//! so), one that gives up after three tries, a tarball fetched three times and not three times
//! three, and a refused push checked against the registry. Which errors are transient is the
//! adapters' to say (tested with them). Time is paused, so the pauses of about a minute pass
//! at once.

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use crate::pipeline::fakes::{FakeEngine, FakeGitHub, FakeRegistry, serving};
use crate::pipeline::test_world::*;
use crate::pipeline::*;

async fn run_with(engine: Arc<FakeEngine>) -> Result<Deployed, Stop> {
    run_against(Arc::new(FakeGitHub::default()), engine).await
}

async fn run_against(github: Arc<FakeGitHub>, engine: Arc<FakeEngine>) -> Result<Deployed, Stop> {
    let kube = cluster();
    let ctx = ctx(&kube, github, engine);
    let api = Api::<Build>::namespaced(ctx.client.clone(), NS);
    let build = api.get("web-old").await.unwrap();
    let claimed = Claimed::claim(api, &build, &ctx.identity).await.unwrap();
    run(&ctx, &claimed, &mut Vec::new()).await
}

#[tokio::test(start_paused = true)]
async fn a_lost_engine_and_a_registry_5xx_are_retried_and_said() {
    let engine = Arc::new(FakeEngine {
        lost_builds: 1,
        push_errors: std::sync::Mutex::new(vec![
            "received unexpected HTTP status: 502 Bad Gateway".into(),
        ]),
        ..Default::default()
    });
    let d = run_with(engine.clone()).await.unwrap();
    assert_eq!(engine.builds.load(SeqCst), 2);
    assert_eq!(engine.pushed.lock().unwrap().len(), 2);
    assert_eq!(d.retried.len(), 2, "{:?}", d.retried);
    assert!(
        d.retried[0].starts_with("build: connection to the Docker engine lost")
            && d.retried[1].starts_with("push: ")
            && d.retried[1].contains("502 Bad Gateway"),
        "{:?}",
        d.retried
    );
}

#[tokio::test(start_paused = true)]
async fn a_stage_that_keeps_failing_is_tried_three_times() {
    let engine = Arc::new(FakeEngine {
        lost_builds: usize::MAX,
        ..Default::default()
    });
    let started = tokio::time::Instant::now();
    let r = run_with(engine.clone()).await;
    match &r {
        Err(Stop::Failed {
            reason, message, ..
        }) => {
            assert_eq!(*reason, "EngineUnavailable");
            assert!(
                message.ends_with("(the build was tried 3 times)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(engine.builds.load(SeqCst), 3);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(60),
        "pauses of 15 and 45 s"
    );
    assert!(engine.pushed.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_tarball_github_keeps_failing_is_fetched_three_times_not_nine() {
    let github = Arc::new(FakeGitHub {
        tarball_errors: usize::MAX,
        ..Default::default()
    });
    let engine = Arc::new(FakeEngine::default());
    let started = tokio::time::Instant::now();
    let r = run_against(github.clone(), engine.clone()).await;
    match &r {
        Err(Stop::Failed {
            reason, message, ..
        }) => {
            assert_eq!(*reason, BuildReason::SourceUnavailable);
            assert!(
                message.starts_with("GitHub answered 502 for the tarball of acme/app@")
                    && message.ends_with("(the build was tried 3 times)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        github.tarballs.load(SeqCst),
        3,
        "one request per try of the stage"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    assert_eq!(engine.builds.load(SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_tarball_that_fails_once_is_fetched_again() {
    let github = Arc::new(FakeGitHub {
        tarball_errors: 1,
        ..Default::default()
    });
    let engine = Arc::new(FakeEngine::default());
    let d = run_against(github.clone(), engine.clone()).await.unwrap();
    assert_eq!(github.tarballs.load(SeqCst), 2);
    assert_eq!(engine.builds.load(SeqCst), 1);
    assert!(
        d.retried.len() == 1 && d.retried[0].starts_with("build: GitHub answered 502"),
        "{:?}",
        d.retried
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_build_step_is_not_retried() {
    let engine = Arc::new(FakeEngine {
        build_error: Some("The command '/bin/sh -c false' returned a non-zero code: 1".into()),
        ..Default::default()
    });
    let r = run_with(engine.clone()).await;
    assert!(
        matches!(&r, Err(Stop::Failed { reason: BuildReason::BuildFailed, message, .. }) if !message.contains("tried")),
        "{r:?}"
    );
    assert_eq!(engine.builds.load(SeqCst), 1);
}

/// A run whose Binding pushes with credentials, against `registry`.
async fn run_with_credentials(
    engine: Arc<FakeEngine>,
    registry: Arc<FakeRegistry>,
) -> Result<Deployed, Stop> {
    use base64::Engine as _;
    let kube = cluster();
    {
        let mut st = kube.state.lock().unwrap();
        st.put(
            "/apis/mosaic.nectar.dev/v1alpha1/namespaces/team/bindings",
            serde_json::json!({"apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
                "metadata": {"name": "web", "namespace": NS},
                "spec": {"deployment": "web", "repo": "acme/app", "image": "127.0.0.1:5000/team/web",
                    "registrySecret": "push"}}),
        );
        let config = r#"{"auths":{"127.0.0.1:5000":{"username":"u","password":"p"}}}"#;
        st.put(
            "/api/v1/namespaces/team/secrets",
            serde_json::json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "push", "namespace": NS},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(config)}}),
        );
    }
    let mut ctx = ctx(&kube, Arc::new(FakeGitHub::default()), engine);
    ctx.ports.registry = registry;
    let api = Api::<Build>::namespaced(ctx.client.clone(), NS);
    let build = api.get("web-old").await.unwrap();
    let claimed = Claimed::claim(api, &build, &ctx.identity).await.unwrap();
    run(&ctx, &claimed, &mut Vec::new()).await
}

fn refused_once() -> Arc<FakeEngine> {
    Arc::new(FakeEngine {
        push_errors: std::sync::Mutex::new(vec!["unauthorized: authentication required".into()]),
        ..Default::default()
    })
}

#[tokio::test(start_paused = true)]
async fn a_refused_push_is_tried_again_when_the_registry_accepts_the_credentials() {
    let engine = refused_once();
    let registry = Arc::new(FakeRegistry {
        accepts_credentials: true,
        ..serving()
    });
    let d = run_with_credentials(engine.clone(), registry.clone())
        .await
        .unwrap();
    assert_eq!(engine.pushed.lock().unwrap().len(), 2);
    assert_eq!(registry.checks.load(SeqCst), 1);
    assert!(
        d.retried.len() == 1
            && d.retried[0].contains("unauthorized: authentication required")
            && d.retried[0].contains("127.0.0.1:5000 accepts these credentials"),
        "{:?}",
        d.retried
    );
}

#[tokio::test(start_paused = true)]
async fn a_push_refused_with_credentials_the_registry_refuses_too_is_final() {
    let engine = refused_once();
    let registry = Arc::new(serving());
    let r = run_with_credentials(engine.clone(), registry.clone()).await;
    assert!(
        matches!(&r, Err(Stop::Failed { reason: BuildReason::PushFailed, message, .. })
            if message.contains("unauthorized") && !message.contains("tried")),
        "{r:?}"
    );
    assert_eq!(engine.pushed.lock().unwrap().len(), 1, "not pushed again");
    assert_eq!(registry.checks.load(SeqCst), 1);
}
