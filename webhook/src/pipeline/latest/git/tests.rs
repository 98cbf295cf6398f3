//! The git verdict and the questions behind it, against a scripted history.

use std::sync::Mutex;

use futures::future::BoxFuture;

use super::*;
use crate::adapters::github::GitHubError;
use crate::adapters::github::git_history::history_error;
use crate::pipeline::ports::{Comparison, PortError};
use mosaic_core::BuildReason;

const C: &str = "0123456789abcdef0123456789abcdef01234567";
const H: &str = "fedcba9876543210fedcba9876543210fedcba98";

#[test]
fn the_head_deploys_its_ancestors_are_superseded_and_the_rest_is_refused() {
    assert_eq!(verdict(C, Some(C), None), Verdict::Head);
    assert_eq!(
        verdict(C, Some(H), Some(Relation::Ahead)),
        Verdict::Behind { head: H.into() }
    );
    for r in [Relation::Behind, Relation::Diverged] {
        assert_eq!(
            verdict(C, Some(H), Some(r)),
            Verdict::NotOnBranch {
                head: Some(H.into())
            }
        );
    }
    assert_eq!(verdict(C, None, None), Verdict::NotOnBranch { head: None });
    assert!(stop_for(&Verdict::Head, "main", C).is_none());
    let Some(Stop::Decided {
        phase,
        reason,
        message,
    }) = stop_for(&Verdict::Behind { head: H.into() }, "main", C)
    else {
        panic!()
    };
    assert_eq!(
        (phase, reason),
        (BuildPhase::Superseded, BuildReason::Superseded)
    );
    assert!(
        message.starts_with("superseded by fedcba987654"),
        "{message}"
    );
    let Some(Stop::Decided { phase, reason, .. }) =
        stop_for(&Verdict::NotOnBranch { head: None }, "main", C)
    else {
        panic!()
    };
    assert_eq!(
        (phase, reason),
        (BuildPhase::Cancelled, BuildReason::NotOnBranch)
    );
}

/// Answers in order (the last repeats); records the questions.
#[derive(Default)]
struct Scripted {
    heads: Mutex<Vec<Result<Option<String>, u16>>>,
    relation: Option<Relation>,
    asked: Mutex<Vec<String>>,
}

/// GitHub's answer `status`, as the adapter classifies it.
fn gh(status: u16) -> PortError {
    history_error(GitHubError::Status {
        what: "x".into(),
        status,
        message: "m".into(),
    })
}

impl GitHistory for Scripted {
    fn branch_head<'a>(
        &'a self,
        _: Option<&'a Token>,
        _: &'a RepoName,
        branch: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, PortError>> {
        self.asked.lock().unwrap().push(format!("branch {branch}"));
        let mut heads = self.heads.lock().unwrap();
        let next = if heads.len() > 1 {
            heads.remove(0)
        } else {
            heads[0].clone()
        };
        Box::pin(async move { next.map_err(gh) })
    }

    fn compare<'a>(
        &'a self,
        _: Option<&'a Token>,
        _: &'a RepoName,
        base: &'a str,
        head: &'a str,
    ) -> BoxFuture<'a, Result<Comparison, PortError>> {
        self.asked
            .lock()
            .unwrap()
            .push(format!("compare {}...{}", &base[..4], &head[..4]));
        let r = self.relation.map(|relation| Comparison {
            relation,
            ahead_by: 1,
            behind_by: 0,
            merge_base: None,
        });
        Box::pin(async move { r.ok_or_else(|| gh(404)) })
    }
}

fn repo() -> RepoName {
    RepoName::parse("acme/app").unwrap()
}

#[tokio::test]
async fn the_head_costs_one_request_and_another_commit_two() {
    let head = Scripted {
        heads: Mutex::new(vec![Ok(Some(C.into()))]),
        ..Default::default()
    };
    let v = ask(&head, None, &repo(), "main", C, &[]).await;
    assert!(matches!(v, Ok(Verdict::Head)));
    assert_eq!(*head.asked.lock().unwrap(), ["branch main"]);

    let behind = Scripted {
        heads: Mutex::new(vec![Ok(Some(H.into()))]),
        relation: Some(Relation::Ahead),
        ..Default::default()
    };
    let v = ask(&behind, None, &repo(), "main", C, &[]).await;
    assert!(matches!(v, Ok(Verdict::Behind { .. })));
    assert_eq!(
        *behind.asked.lock().unwrap(),
        ["branch main", "compare 0123...fedc"]
    );
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_github_is_asked_again_and_never_guessed() {
    let s = Scripted {
        heads: Mutex::new(vec![Err(503), Err(502), Ok(Some(C.into()))]),
        ..Default::default()
    };
    let pauses = [Duration::from_secs(1), Duration::from_secs(2)];
    assert!(matches!(
        ask(&s, None, &repo(), "main", C, &pauses).await,
        Ok(Verdict::Head)
    ));
    let down = Scripted {
        heads: Mutex::new(vec![Err(503)]),
        ..Default::default()
    };
    let Err(Stop::Failed {
        reason, message, ..
    }) = ask(&down, None, &repo(), "main", C, &pauses).await
    else {
        panic!()
    };
    assert_eq!(reason, "GitHubUnavailable");
    assert!(message.contains("not built on a guess"), "{message}");
    assert_eq!(down.asked.lock().unwrap().len(), 3, "one try and two more");
}

#[tokio::test]
async fn each_github_refusal_has_its_own_reason() {
    for (status, want) in [
        (404, "CommitNotFound"),
        (422, "CompareRefused"),
        (429, "GitHubRateLimited"),
        (403, "GitHubForbidden"),
        (500, "GitHubUnavailable"),
    ] {
        let s = Scripted {
            heads: Mutex::new(vec![Err(status)]),
            ..Default::default()
        };
        let Err(Stop::Failed { reason, .. }) = ask(&s, None, &repo(), "main", C, &[]).await else {
            panic!("{status}")
        };
        assert_eq!(reason, want, "{status}");
    }
    // A commit GitHub does not know: the compare answers 404.
    let s = Scripted {
        heads: Mutex::new(vec![Ok(Some(H.into()))]),
        relation: None,
        ..Default::default()
    };
    let Err(Stop::Failed { reason, .. }) = ask(&s, None, &repo(), "main", C, &[]).await else {
        panic!()
    };
    assert_eq!(reason, "CommitNotFound");
}
