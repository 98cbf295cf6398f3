//! Unit tests of the pipeline with in-memory fakes: GitHub, the engine and the registry behind
//! the `ports` traits, and a fake API server behind `kube::Client` for whole runs.

use std::sync::Arc;

use http::Method;

use super::fakes::{DIGEST, FakeEngine, FakeGitHub, FakeRegistry, serving};
use super::test_world::*;
use super::*;

/// Stages tried once, as if no pause were left.
fn once() -> stages::Tries {
    stages::Tries::new(&[])
}

fn failed(r: &Result<impl std::fmt::Debug, Stop>) -> (&'static str, String) {
    match r {
        Err(Stop::Failed {
            reason, message, ..
        }) => (reason.as_str(), message.clone()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_build_stream_error_fails_with_that_line_and_keeps_the_log() {
    let line = "The command '/bin/sh -c false' returned a non-zero code: 1";
    let engine = FakeEngine {
        build_error: Some(line.into()),
        ..Default::default()
    };
    let (r, tail) =
        stages::fetch_and_build(&FakeGitHub::default(), &engine, LONG, &job(), &mut once()).await;
    let (reason, message) = failed(&r);
    assert_eq!(reason, "BuildFailed");
    assert!(message.ends_with(line), "{message}");
    assert!(tail.contains("RUN false") && tail.ends_with(line), "{tail}");
}

#[tokio::test]
async fn a_missing_tarball_is_source_unavailable_and_builds_nothing() {
    let gh = FakeGitHub {
        missing: true,
        ..Default::default()
    };
    let (r, tail) =
        stages::fetch_and_build(&gh, &FakeEngine::default(), LONG, &job(), &mut once()).await;
    let (reason, message) = failed(&r);
    assert_eq!(reason, "SourceUnavailable");
    assert!(
        message.contains("404") && message.contains(SHA),
        "{message}"
    );
    assert!(tail.is_empty(), "no build ran: {tail}");
}

#[tokio::test]
async fn a_digest_the_registry_does_not_serve_fails_the_push() {
    let engine = FakeEngine::default();
    let r =
        stages::push_and_verify(&engine, &FakeRegistry::default(), &job(), None, &mut once()).await;
    let (reason, message) = failed(&r);
    assert_eq!(reason, "DigestNotServed");
    assert!(
        message.contains(DIGEST) && message.contains("404"),
        "{message}"
    );
    assert_eq!(
        *engine.pushed.lock().unwrap(),
        ["127.0.0.1:5000/team/web:0123456789ab"]
    );
    let ok = stages::push_and_verify(&engine, &serving(), &job(), None, &mut once()).await;
    assert_eq!(ok.unwrap(), format!("127.0.0.1:5000/team/web@{DIGEST}"));
}

#[tokio::test]
async fn a_whole_run_deploys_by_digest() {
    let kube = cluster();
    let gh = Arc::new(FakeGitHub::default());
    let (r, errors) = run_old(&ctx(&kube, gh.clone(), Arc::default())).await;
    let image = format!("127.0.0.1:5000/team/web@{DIGEST}");
    assert_eq!(r.unwrap().image, image);
    assert!(errors.is_empty());
    assert_eq!(deployed_image(&kube), image);
    let states: Vec<CommitState> = gh.statuses.lock().unwrap().iter().map(|s| s.0).collect();
    use CommitState::{Pending, Success};
    assert_eq!(states, [Pending, Pending, Success]);
}

/// The commit statuses recorded in `web-old`'s status, as the fake API server stores it.
fn recorded(kube: &fake_kube::FakeKube) -> Vec<mosaic_core::commit_status::CommitReport> {
    let st = kube.state.lock().unwrap();
    let b = &st.objects[&format!("{BUILDS}/web-old")];
    serde_json::from_value(b["status"]["commitStatuses"].clone()).unwrap_or_default()
}

#[tokio::test]
async fn each_report_sent_is_recorded_in_the_build_status_in_order() {
    use mosaic_core::commit_status::{Delivery, ReportState};
    let kube = cluster();
    let gh = Arc::new(FakeGitHub::default());
    let (r, _) = run_old(&ctx(&kube, gh.clone(), Arc::default())).await;
    assert!(r.is_ok(), "{r:?}");
    let sent = gh.statuses.lock().unwrap().clone();
    let got = recorded(&kube);
    let state = |c: CommitState| match c {
        CommitState::Pending => ReportState::Pending,
        CommitState::Success => ReportState::Success,
        CommitState::Failure => ReportState::Failure,
        CommitState::Error => ReportState::Error,
    };
    assert_eq!(
        got.iter()
            .map(|r| (r.state, r.description.clone(), r.delivery))
            .collect::<Vec<_>>(),
        sent.iter()
            .map(|(c, d)| (state(*c), d.clone(), Delivery::Sent))
            .collect::<Vec<_>>()
    );
    assert!(
        got.iter()
            .all(|r| r.context == job().context && r.reason.is_none())
    );

    // Refused sends are recorded too, as not sent, with the adapter's one-line reason.
    let kube = cluster();
    let gh = Arc::new(FakeGitHub {
        statuses_fail: true,
        ..Default::default()
    });
    let (r, errors) = run_old(&ctx(&kube, gh, Arc::default())).await;
    assert!(r.is_ok(), "{r:?}");
    let got = recorded(&kube);
    assert_eq!(got.len(), errors.len(), "{got:?} {errors:?}");
    assert!(
        got.iter().all(|r| r.delivery == Delivery::Failed),
        "{got:?}"
    );
    let last = got.last().unwrap();
    assert_eq!(last.state, ReportState::Success);
    assert_eq!(
        last.reason.as_deref(),
        Some(errors.last().unwrap().as_str()),
        "{got:?}"
    );
}

#[tokio::test]
async fn failing_status_reports_do_not_fail_the_build() {
    let kube = cluster();
    let gh = Arc::new(FakeGitHub {
        statuses_fail: true,
        ..Default::default()
    });
    let (r, errors) = run_old(&ctx(&kube, gh, Arc::default())).await;
    assert!(r.is_ok(), "{r:?}");
    // Building and rolling out may be replaced by a newer report before they are sent; the
    // final one never is.
    assert!(
        (1..=3).contains(&errors.len()),
        "building, rolling out, deployed: {errors:?}"
    );
    assert!(errors.iter().all(|e| e.contains("500")), "{errors:?}");
    assert_eq!(
        deployed_image(&kube),
        format!("127.0.0.1:5000/team/web@{DIGEST}")
    );
}

#[tokio::test]
async fn a_build_superseded_before_its_rollout_never_rolls() {
    let kube = cluster();
    let during_push = kube.clone();
    let engine = Arc::new(FakeEngine {
        on_push: Some(Box::new(move || {
            let newer = build_object("web-new", NEWER, "2026-01-01T00:00:02Z", Some("Building"));
            during_push.state.lock().unwrap().put(BUILDS, newer);
        })),
        ..Default::default()
    });
    let gh = Arc::new(FakeGitHub::default());
    let (r, _) = run_old(&ctx(&kube, gh.clone(), engine)).await;
    assert!(
        matches!(&r, Err(Stop::Superseded { build, commit }) if build == "web-new" && commit == NEWER),
        "{r:?}"
    );
    assert_eq!(
        kube.state
            .lock()
            .unwrap()
            .count(&Method::PATCH, DEPLOYMENTS),
        0
    );
    assert_eq!(deployed_image(&kube), "r/web:before");
    let last = gh.statuses.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        last,
        (
            CommitState::Error,
            "not deployed: superseded by fedcba987654".into()
        )
    );
}

#[tokio::test]
async fn a_newer_rollout_announced_after_the_check_still_stops_the_apply() {
    let kube = cluster();
    // The newer Build announces its rollout just as this one announces its own: the
    // latest-wins check before the announcement saw nothing.
    kube.on_request(Box::new(|st, method, path, body| {
        if *method == Method::PUT
            && path.ends_with("/web-old/status")
            && body["status"]["phase"] == "RollingOut"
        {
            st.put(
                BUILDS,
                build_object("web-new", NEWER, "2026-01-01T00:00:02Z", Some("RollingOut")),
            );
        }
    }));
    let (r, _) = run_old(&ctx(&kube, Arc::default(), Arc::default())).await;
    assert!(
        matches!(&r, Err(Stop::Superseded { build, .. }) if build == "web-new"),
        "{r:?}"
    );
    assert_eq!(
        kube.state
            .lock()
            .unwrap()
            .count(&Method::PATCH, DEPLOYMENTS),
        0
    );
}

#[tokio::test]
async fn an_apply_racing_another_writer_checks_again() {
    let kube = cluster();
    // Someone changes the Deployment between this worker's read and its apply, once.
    let mut raced = false;
    kube.on_request(Box::new(move |st, method, path, _| {
        if !raced && *method == Method::PATCH && path.ends_with("/deployments/web") {
            raced = true;
            let key = format!("{DEPLOYMENTS}/web");
            let dep = st.objects[&key].clone();
            st.put(DEPLOYMENTS, dep);
        }
    }));
    let (r, _) = run_old(&ctx(&kube, Arc::default(), Arc::default())).await;
    assert!(r.is_ok(), "{r:?}");
    let st = kube.state.lock().unwrap();
    assert_eq!(
        st.count(&Method::PATCH, DEPLOYMENTS),
        2,
        "refused once, then applied"
    );
}

#[tokio::test]
async fn a_build_superseded_before_it_starts_still_reports_why() {
    let kube = cluster();
    let newer = build_object("web-new", NEWER, "2026-01-01T00:00:02Z", Some("Building"));
    kube.state.lock().unwrap().put(BUILDS, newer);
    let gh = Arc::new(FakeGitHub::default());
    let engine = Arc::new(FakeEngine::default());
    let (r, errors) = run_old(&ctx(&kube, gh.clone(), engine.clone())).await;
    assert!(
        matches!(&r, Err(Stop::Superseded { build, .. }) if build == "web-new"),
        "{r:?}"
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert!(engine.pushed.lock().unwrap().is_empty(), "nothing built");
    assert_eq!(
        *gh.statuses.lock().unwrap(),
        [(
            CommitState::Error,
            "not deployed: superseded by fedcba987654".to_string()
        )],
        "the only status says why the commit was not deployed"
    );
}

#[tokio::test]
async fn a_status_api_that_does_not_answer_holds_up_no_stage() {
    let kube = cluster();
    // GitHub answers no status report until the image is being pushed.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let opens = gate.clone();
    let engine = Arc::new(FakeEngine {
        on_push: Some(Box::new(move || opens.add_permits(10))),
        ..Default::default()
    });
    let gh = Arc::new(FakeGitHub {
        gate: Some(gate),
        ..Default::default()
    });
    let ctx = ctx(&kube, gh.clone(), engine);
    let (r, errors) = tokio::time::timeout(LONG, run_old(&ctx))
        .await
        .expect("the run went on while the first report was unanswered");
    assert!(r.is_ok() && errors.is_empty(), "{r:?} {errors:?}");
    // In order, the newest waiting one wins, and the final one is posted before `run` returns.
    let statuses = gh.statuses.lock().unwrap().clone();
    let all = [
        (CommitState::Pending, "building".to_string()),
        (CommitState::Pending, "rolling out".into()),
        (
            CommitState::Success,
            format!("deployed 127.0.0.1:5000/team/web@{DIGEST}"),
        ),
    ];
    let mut rest = all.iter();
    assert!(
        statuses.iter().all(|s| rest.any(|a| a == s)),
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), all.last(), "{statuses:?}");
}

#[tokio::test]
async fn a_cache_behind_the_api_server_does_not_let_an_older_build_run() {
    use kube::runtime::watcher::Event;
    let kube = cluster();
    let newer = build_object("web-new", NEWER, "2026-01-01T00:00:02Z", Some("Building"));
    kube.state.lock().unwrap().put(BUILDS, newer);
    let gh = Arc::new(FakeGitHub::default());
    let engine = Arc::new(FakeEngine::default());
    let c = ctx(&kube, gh, engine.clone());
    // The watch cache has seen this Build but not the newer push yet.
    let old: Build =
        serde_json::from_value(build_object("web-old", SHA, "2026-01-01T00:00:01Z", None)).unwrap();
    let index = c.builds.add();
    for e in [Event::Init, Event::InitApply(old), Event::InitDone] {
        index.apply(&e);
    }
    let (r, _) = run_old(&c).await;
    assert!(
        matches!(&r, Err(Stop::Superseded { build, .. }) if build == "web-new"),
        "the API server, not the stale cache, decides that nothing newer exists: {r:?}"
    );
    assert!(engine.pushed.lock().unwrap().is_empty(), "nothing built");
}
