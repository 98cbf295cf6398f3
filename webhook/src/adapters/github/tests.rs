//! Unit tests of the GitHub adapter against a scripted HTTP server: each request is made once
//! (octocrab's immediate retries are off; the pipeline retries), its failure is classified, and
//! a timeout says so.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::*;

/// Answers to the tarball request, in order (the last one repeats); counts requests.
#[derive(Default)]
struct Script {
    answers: Vec<u16>,
    tarball_requests: AtomicUsize,
    status_requests: AtomicUsize,
    /// Hold every answer this long (a GitHub slower than the client's timeout).
    hold: Duration,
}

async fn tarball(State(s): State<Arc<Script>>) -> axum::response::Response {
    let n = s.tarball_requests.fetch_add(1, SeqCst);
    tokio::time::sleep(s.hold).await;
    let code = s.answers[n.min(s.answers.len() - 1)];
    let status = StatusCode::from_u16(code).unwrap();
    if status.is_success() {
        (status, "tgz").into_response()
    } else {
        let body = serde_json::json!({"message": "Server Error"}).to_string();
        (status, [("content-type", "application/json")], body).into_response()
    }
}

async fn status(State(s): State<Arc<Script>>) -> axum::response::Response {
    s.status_requests.fetch_add(1, SeqCst);
    tokio::time::sleep(s.hold).await;
    let body = serde_json::json!({"message": "Server Error"}).to_string();
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

async fn serve(script: Script) -> (String, Arc<Script>) {
    let script = Arc::new(script);
    let app = Router::new()
        .route("/repos/{o}/{r}/tarball/{*rf}", get(tarball))
        .route("/repos/{o}/{r}/statuses/{sha}", post(status))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, script)
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn repo() -> RepoName {
    RepoName::parse("acme/app").unwrap()
}

async fn fetch(gh: &GitHub) -> Result<Vec<u8>, GitHubError> {
    let body = gh.tarball(None, &repo(), SHA).await?;
    let chunks: Vec<Bytes> = body.try_collect().await.unwrap();
    Ok(chunks.concat())
}

#[tokio::test]
async fn a_tarball_request_is_made_once_and_its_failure_classified() {
    // The build stage retries (`backoff`); the adapter never does, nor does octocrab.
    let (url, script) = serve(Script {
        answers: vec![500],
        ..Default::default()
    })
    .await;
    let gh = GitHub::new(&url, Duration::from_secs(5));
    let e = fetch(&gh).await.unwrap_err();
    assert!(
        matches!(&e, GitHubError::Status { status: 500, .. }),
        "{e:?}"
    );
    assert_eq!(script.tarball_requests.load(SeqCst), 1, "one request");
    let port = e.port(BuildReason::SourceUnavailable);
    assert_eq!(
        (port.kind, port.reason),
        (Kind::Transient, BuildReason::SourceUnavailable)
    );
    assert!(
        port.message
            .starts_with("GitHub answered 500 for the tarball of acme/app@"),
        "{port}"
    );

    let (url, _) = serve(Script {
        answers: vec![403],
        ..Default::default()
    })
    .await;
    let e = fetch(&GitHub::new(&url, Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Kind::Refused, "{e}");
}

#[tokio::test]
async fn a_real_answer_is_not_retried() {
    let (url, script) = serve(Script {
        answers: vec![404],
        ..Default::default()
    })
    .await;
    let gh = GitHub::new(&url, Duration::from_secs(5));
    let e = fetch(&gh).await.unwrap_err();
    assert!(
        matches!(&e, GitHubError::Status { status: 404, .. }) && e.kind() == Kind::Permanent,
        "{e:?}"
    );
    assert_eq!(script.tarball_requests.load(SeqCst), 1);
}

#[tokio::test]
async fn a_timeout_names_its_cause_and_status_reports_are_not_retried() {
    let (url, script) = serve(Script {
        answers: vec![200],
        hold: Duration::from_secs(5),
        ..Default::default()
    })
    .await;
    let gh = GitHub::new(&url, Duration::from_millis(200));
    let e = fetch(&gh).await.unwrap_err();
    assert!(matches!(e, GitHubError::Transport { .. }), "{e:?}");
    assert!(e.to_string().contains("timed out"), "{e}");
    assert_eq!(script.tarball_requests.load(SeqCst), 1);

    let e = gh
        .status(
            None,
            &repo(),
            SHA,
            "mosaic",
            CommitState::Pending,
            "building",
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("timed out"), "{e}");
    assert_eq!(
        script.status_requests.load(SeqCst),
        1,
        "a status report is tried once"
    );
}

#[tokio::test]
async fn one_client_per_token_is_built_and_reused() {
    let clients = Clients::default();
    let built = AtomicUsize::new(0);
    let gh = GitHub::new("http://127.0.0.1:9", Duration::from_secs(1));
    let get = |token: Option<&Token>| {
        clients
            .get_or_build(token, || {
                built.fetch_add(1, SeqCst);
                gh.build_client(token)
            })
            .map(|_| ())
    };
    let (a, b) = (Token("a".into()), Token("b".into()));
    for _ in 0..3 {
        get(Some(&a)).unwrap();
        get(Some(&b)).unwrap();
        get(None).unwrap();
    }
    assert_eq!(
        built.load(SeqCst),
        3,
        "one build each for a, b and no token"
    );
    for i in 0..Clients::MAX {
        get(Some(&Token(format!("rotated-{i}")))).unwrap();
    }
    assert!(
        clients.0.lock().unwrap().len() <= Clients::MAX,
        "rotated tokens do not pile up"
    );
}
