//! Real-stack tests of `status.commitStatuses`: the Build records exactly the commit statuses
//! the (fake) GitHub received, in order, and a send GitHub refused as not sent, with a short
//! reason and no token; a Build superseded before it ran records the status saying why.

use mosaic_core::commit_status::{CommitReport, Delivery};
use mosaic_core::resources::{Build, BuildPhase, build_name};
use mosaic_tests::fake_github::StatusCall;
use mosaic_tests::webhook::*;

/// (context, state, description) of each recorded report.
fn recorded(b: &Build, delivery: Delivery) -> Vec<(String, String, String)> {
    b.status
        .iter()
        .flat_map(|s| &s.commit_statuses)
        .filter(|r| r.delivery == delivery)
        .map(|r| {
            (
                r.context.clone(),
                r.state.as_str().to_string(),
                r.description.clone(),
            )
        })
        .collect()
}

fn received(calls: Vec<StatusCall>) -> Vec<(String, String, String)> {
    calls
        .into_iter()
        .map(|c| (c.context, c.state, c.description))
        .collect()
}

fn reports(b: &Build) -> &[CommitReport] {
    b.status.as_ref().map_or(&[], |s| &s.commit_statuses)
}

#[tokio::test]
async fn the_build_records_exactly_the_statuses_github_received() {
    let w = world(None, true).await;
    let server = start(&w, "reports-1", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let sha = w.commit("reported\n");
    let (status, _) = push(&server, &w, "d-1", &sha).await;
    assert_eq!(status, 201);
    let b = terminal(&w, &build_name("web", &sha), 120).await;
    assert_eq!(phase(&b), BuildPhase::Succeeded, "{:?}", b.status);
    let got = received(w.gh.statuses(&sha));
    assert!(got.len() >= 2, "{got:?}");
    assert_eq!(recorded(&b, Delivery::Sent), got, "{:?}", reports(&b));
    assert!(recorded(&b, Delivery::Failed).is_empty());
    let last = reports(&b).last().unwrap();
    assert_eq!(last.state.as_str(), "success");
    assert!(last.description.starts_with("deployed "), "{last:?}");
    // Sent in order, each before the Build's terminal write.
    let times: Vec<i64> = reports(&b)
        .iter()
        .map(|r| r.sent_at.0.as_second())
        .collect();
    assert!(times.is_sorted(), "{times:?}");
    let finished = b
        .status
        .as_ref()
        .unwrap()
        .phase_times
        .finished
        .clone()
        .unwrap();
    assert!(times.iter().all(|t| *t <= finished.0.as_second()));
}

#[tokio::test]
async fn a_refused_send_is_recorded_as_not_sent_without_secrets() {
    let w = world(None, true).await;
    // The first report (pending "building") is refused; the later ones go through.
    w.gh.inject_fault_times(&format!("/repos/{}/statuses", w.repo), 500, 1);
    let server = start(&w, "reports-2", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let sha = w.commit("first report refused\n");
    let (status, _) = push(&server, &w, "d-1", &sha).await;
    assert_eq!(status, 201);
    let b = terminal(&w, &build_name("web", &sha), 120).await;
    assert_eq!(phase(&b), BuildPhase::Succeeded, "{:?}", b.status);
    let failed: Vec<&CommitReport> = reports(&b)
        .iter()
        .filter(|r| r.delivery == Delivery::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", reports(&b));
    assert_eq!(
        (failed[0].state.as_str(), failed[0].description.as_str()),
        ("pending", "building")
    );
    let reason = failed[0].reason.as_deref().unwrap();
    assert!(reason.contains("500"), "{reason}");
    assert!(
        !reason.contains(GITHUB_TOKEN) && !reason.contains('\n'),
        "{reason}"
    );
    assert!(reason.chars().count() <= mosaic_core::commit_status::MAX_REASON);
    assert_eq!(
        recorded(&b, Delivery::Sent),
        received(w.gh.statuses(&sha)),
        "{:?}",
        reports(&b)
    );
    let text = serde_json::to_string(&b.status).unwrap();
    assert!(!text.contains(GITHUB_TOKEN));
}

#[tokio::test]
async fn a_superseded_build_records_the_status_saying_why() {
    let w = world(None, true).await;
    let server = start(&w, "reports-3", &["--concurrency", "2"]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let old = w.commit("older\n");
    let new = w.commit("newer\n");
    let (s1, _) = push(&server, &w, "d-old", &old).await;
    let (s2, _) = push(&server, &w, "d-new", &new).await;
    assert_eq!((s1, s2), (201, 201));
    let name = build_name("web", &old);
    let b = terminal(&w, &name, 120).await;
    assert_eq!(phase(&b), BuildPhase::Superseded, "{:?}", b.status);
    // A Build ended before it ran records its report after the terminal write.
    let api = w.builds();
    let b = mosaic_tests::eventually("the superseded Build's report", 30, || {
        let api = api.clone();
        let name = name.clone();
        async move {
            let b = api.get(&name).await.ok()?;
            let last = b.status.as_ref()?.commit_statuses.last()?;
            (last.state.as_str() == "error").then_some(b)
        }
    })
    .await;
    let last = reports(&b).last().unwrap();
    assert!(
        last.description
            .starts_with(&format!("not deployed: superseded by {}", &new[..12])),
        "{last:?}"
    );
    assert_eq!(recorded(&b, Delivery::Sent), received(w.gh.statuses(&old)));
}
