//! Unit tests of the worker over the fake cluster: an API server that stays away longer than
//! the retry budget never makes the worker build a Build twice. Time is paused, so the 30 s
//! budgets pass at once.

use std::sync::atomic::Ordering::SeqCst;

use http::Method;

use super::*;
use crate::pipeline::fake_kube::FakeKube;
use crate::pipeline::fakes::{FakeEngine, FakeGitHub};
use crate::pipeline::ports::CommitState;
use crate::pipeline::test_world::*;
use mosaic_core::commit_status::{Delivery, ReportState};

async fn get(kube: &FakeKube) -> Arc<Build> {
    let api = Api::<Build>::namespaced(kube.client(), NS);
    Arc::new(api.get("web-old").await.unwrap())
}

fn status(b: &Build) -> (BuildPhase, Option<String>, String) {
    let s = b.status.clone().unwrap_or_default();
    (s.phase, s.reason, s.message.unwrap_or_default())
}

/// Takes the API server away when a status write of `web-old` sets `phase`.
fn outage_at(kube: &FakeKube, phase: &'static str) {
    kube.on_request(Box::new(move |st, method, path, body| {
        if *method == Method::PUT
            && path.ends_with("/web-old/status")
            && body["status"]["phase"] == phase
        {
            st.down = true;
        }
    }));
}

#[tokio::test(start_paused = true)]
async fn an_outage_at_the_terminal_write_keeps_the_outcome_and_never_rebuilds() {
    let kube = cluster();
    outage_at(&kube, "Succeeded");
    let engine = Arc::new(FakeEngine::default());
    let gh = Arc::new(FakeGitHub::default());
    let ctx = Arc::new(Worker::new(ctx(&kube, gh.clone(), engine.clone())));
    let action = reconcile(get(&kube).await, ctx.clone()).await.unwrap();
    assert_eq!(action, Action::requeue(RECORD_RETRY));
    kube.state.lock().unwrap().down = false;
    kube.on_request(Box::new(|_, _, _, _| {}));
    let before = get(&kube).await;
    assert_eq!(
        status(&before).0,
        BuildPhase::RollingOut,
        "not recorded yet"
    );
    reconcile(before, ctx.clone()).await.unwrap();
    let (phase, reason, message) = status(&*get(&kube).await);
    assert_eq!(
        (phase, reason.as_deref()),
        (BuildPhase::Succeeded, Some("Deployed"))
    );
    assert!(message.starts_with("deployed "), "{message}");
    assert_eq!(engine.builds.load(SeqCst), 1, "built once");
    assert_eq!(engine.pushed.lock().unwrap().len(), 1, "pushed once");
    let last = gh.statuses.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.0, CommitState::Success);
    // Recorded: a further event changes nothing.
    assert_eq!(
        reconcile(get(&kube).await, ctx).await.unwrap(),
        Action::await_change()
    );
    assert_eq!(engine.builds.load(SeqCst), 1);
}

/// A Build run to success whose terminal write met an outage: its outcome is kept (parked).
async fn kept_after_an_outage() -> (FakeKube, Arc<Worker>) {
    let kube = cluster();
    outage_at(&kube, "Succeeded");
    let ctx = Arc::new(Worker::new(ctx(
        &kube,
        Arc::new(FakeGitHub::default()),
        Arc::new(FakeEngine::default()),
    )));
    reconcile(get(&kube).await, ctx.clone()).await.unwrap();
    (kube, ctx)
}

#[tokio::test(start_paused = true)]
async fn a_kept_outcome_is_recorded_at_shutdown_once_the_api_server_is_back() {
    let (kube, ctx) = kept_after_an_outage().await;
    kube.state.lock().unwrap().down = false;
    kube.on_request(Box::new(|_, _, _, _| {}));
    assert_eq!(record_parked(&ctx, Duration::from_secs(10)).await, 0);
    let (phase, reason, _) = status(&*get(&kube).await);
    assert_eq!(
        (phase, reason.as_deref()),
        (BuildPhase::Succeeded, Some("Deployed"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_kept_outcome_the_api_server_never_takes_is_counted_at_shutdown_within_the_bound() {
    let (_kube, ctx) = kept_after_an_outage().await;
    let started = tokio::time::Instant::now();
    assert_eq!(record_parked(&ctx, Duration::from_secs(10)).await, 1);
    assert!(started.elapsed() <= Duration::from_secs(10));
    assert!(ctx.parked.drain().is_empty(), "nothing left behind");
}

#[tokio::test(start_paused = true)]
async fn an_outage_mid_run_fails_the_build_once_and_never_builds_it_again() {
    let kube = cluster();
    outage_at(&kube, "Pushing");
    let engine = Arc::new(FakeEngine::default());
    let gh = Arc::new(FakeGitHub::default());
    let ctx = Arc::new(Worker::new(ctx(&kube, gh.clone(), engine.clone())));
    let action = reconcile(get(&kube).await, ctx.clone()).await.unwrap();
    assert_eq!(action, Action::requeue(RECORD_RETRY));
    // Still away at the next try: kept, and tried again later.
    let action = reconcile(get_while_down(&kube).await, ctx.clone())
        .await
        .unwrap();
    assert_eq!(action, Action::requeue(RECORD_RETRY));
    kube.state.lock().unwrap().down = false;
    kube.on_request(Box::new(|_, _, _, _| {}));
    reconcile(get(&kube).await, ctx.clone()).await.unwrap();
    let (phase, reason, message) = status(&*get(&kube).await);
    assert_eq!(
        (phase, reason.as_deref()),
        (BuildPhase::Failed, Some("ClusterUnreachable"))
    );
    assert!(
        message.contains("Kubernetes API server was unreachable")
            && message.contains("not rebuilt")
            && message.contains(SHA),
        "{message}"
    );
    assert_eq!(engine.builds.load(SeqCst), 1, "built once");
    assert!(
        engine.pushed.lock().unwrap().is_empty(),
        "stopped before the push"
    );
    let last = gh.statuses.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        last,
        (
            CommitState::Error,
            "not deployed: the Kubernetes API was unreachable".into()
        )
    );
}

/// The Build as the controller's cache last saw it, while the API server is away.
async fn get_while_down(kube: &FakeKube) -> Arc<Build> {
    let key = format!("{BUILDS}/web-old");
    let obj = kube.state.lock().unwrap().objects[&key].clone();
    Arc::new(serde_json::from_value(obj).unwrap())
}

/// The phases written to `web-old`'s status, in order.
type Writes = Arc<Mutex<Vec<String>>>;

/// A cluster and a watch cache that both hold `web-old` and the newer push `web-new`.
fn superseded_world(gh: FakeGitHub) -> (FakeKube, Arc<Worker>, Arc<FakeGitHub>, Writes) {
    use kube::runtime::watcher::Event;
    let kube = cluster();
    let newer = build_object("web-new", NEWER, "2026-01-01T00:00:02Z", Some("Building"));
    kube.state.lock().unwrap().put(BUILDS, newer.clone());
    let writes = Arc::new(Mutex::new(Vec::new()));
    let seen = writes.clone();
    kube.on_request(Box::new(move |_, method, path, body| {
        if *method == Method::PUT && path.ends_with("/web-old/status") {
            let phase = body["status"]["phase"].as_str().unwrap_or_default();
            seen.lock().unwrap().push(phase.to_string());
        }
    }));
    let gh = Arc::new(gh);
    let c = ctx(&kube, gh.clone(), Arc::new(FakeEngine::default()));
    let old = build_object("web-old", SHA, "2026-01-01T00:00:01Z", None);
    let index = c.builds.add();
    let mut events = vec![Event::Init];
    for b in [old, newer] {
        events.push(Event::InitApply(serde_json::from_value(b).unwrap()));
    }
    events.push(Event::InitDone);
    for e in &events {
        index.apply(e);
    }
    (kube, Arc::new(Worker::new(c)), gh, writes)
}

#[tokio::test]
async fn a_build_the_cache_shows_superseded_is_ended_in_one_write_and_reported() {
    let (kube, ctx, gh, writes) = superseded_world(FakeGitHub::default());
    let action = reconcile(get(&kube).await, ctx).await.unwrap();
    assert_eq!(action, Action::await_change());
    assert_eq!(
        *writes.lock().unwrap(),
        ["Superseded", "Superseded"],
        "one terminal status write, no claim before it; then the report sent is recorded"
    );
    let reports = get(&kube).await.status.clone().unwrap().commit_statuses;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        (
            reports[0].state,
            reports[0].description.as_str(),
            reports[0].delivery
        ),
        (
            ReportState::Error,
            "not deployed: superseded by fedcba987654",
            Delivery::Sent
        )
    );
    let (phase, reason, message) = status(&*get(&kube).await);
    assert_eq!(
        (phase, reason.as_deref()),
        (BuildPhase::Superseded, Some("Superseded"))
    );
    assert!(message.contains("web-new"), "{message}");
    assert_eq!(
        *gh.statuses.lock().unwrap(),
        [(
            CommitState::Error,
            "not deployed: superseded by fedcba987654".to_string()
        )]
    );
}

#[tokio::test]
async fn a_failed_report_of_a_superseded_build_is_noted_on_it() {
    let (kube, ctx, _, writes) = superseded_world(FakeGitHub {
        statuses_fail: true,
        ..Default::default()
    });
    reconcile(get(&kube).await, ctx).await.unwrap();
    assert_eq!(
        *writes.lock().unwrap(),
        ["Superseded", "Superseded", "Superseded"],
        "the terminal write, the failed report recorded, the note"
    );
    let reports = get(&kube).await.status.clone().unwrap().commit_statuses;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].delivery, Delivery::Failed);
    assert!(reports[0].reason.is_some(), "{reports:?}");
    let (phase, _, message) = status(&*get(&kube).await);
    assert_eq!(phase, BuildPhase::Superseded);
    assert!(message.contains("GitHub status report failed"), "{message}");
}
