//! Real-stack tests of the Events a Build leaves: one per phase change, in order, reason = the
//! phase, a short message without secrets, all under the webhook's one reporting component; a
//! failure is a Warning naming its reason.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;

/// The Events on Build `name` once there are `want` of them, oldest first.
async fn events_of(w: &World, name: &str, want: usize) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(w.kube.client.clone(), w.ns());
    mosaic_tests::eventually("the Build's Events", 30, || {
        let api = api.clone();
        async move {
            // The test API server selects Events by metadata fields only: filter here.
            let mut items: Vec<Event> = api
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .into_iter()
                .filter(|e| {
                    e.involved_object.kind.as_deref() == Some("Build")
                        && e.involved_object.name.as_deref() == Some(name)
                })
                .collect();
            items.sort_by_key(|e| {
                e.metadata
                    .resource_version
                    .clone()
                    .unwrap_or_default()
                    .parse::<u64>()
                    .unwrap_or_default()
            });
            (items.len() >= want).then_some(items)
        }
    })
    .await
}

#[tokio::test]
async fn a_deployed_build_leaves_one_event_per_phase_in_order() {
    let w = world(None, true).await;
    let server = start(&w, "events-1", &[]).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let sha = w.commit("events\n");
    assert_eq!(push(&server, &w, "d-ev-1", &sha).await.0, 201);
    let name = build_name("web", &sha);
    let b = terminal(&w, &name, 120).await;
    assert_eq!(b.status.unwrap().phase, BuildPhase::Succeeded);
    let events = events_of(&w, &name, 5).await;
    let reasons: Vec<&str> = events.iter().filter_map(|e| e.reason.as_deref()).collect();
    assert_eq!(
        reasons,
        [
            "Building",
            "Pushing",
            "RollingOut",
            "Verifying",
            "Succeeded"
        ]
    );
    for e in &events {
        assert_eq!(e.reporting_component.as_deref(), Some("mosaic-webhook"));
        assert_eq!(e.reporting_instance.as_deref(), Some("events-1"));
        assert_eq!(e.type_.as_deref(), Some("Normal"));
        let m = e.message.as_deref().unwrap_or_default();
        assert!(m.chars().count() <= 200 && !m.contains('\n'), "{m}");
        for secret in [WEBHOOK_SECRET, GITHUB_TOKEN, w.reg.password.as_str()] {
            assert!(!m.contains(secret), "an Event leaks a secret");
        }
    }
    assert!(
        events[4]
            .message
            .as_deref()
            .unwrap_or_default()
            .starts_with("Succeeded (Deployed): deployed "),
        "{:?}",
        events[4].message
    );
}

#[tokio::test]
async fn a_failed_build_leaves_a_warning_with_its_reason() {
    let w = world(Some("wrong-password"), true).await;
    let server = start(&w, "events-2", &[]).await;
    let sha = w.commit("events denied\n");
    assert_eq!(push(&server, &w, "d-ev-2", &sha).await.0, 201);
    let name = build_name("web", &sha);
    assert_eq!(
        terminal(&w, &name, 120).await.status.unwrap().phase,
        BuildPhase::Failed
    );
    let events = events_of(&w, &name, 3).await;
    let last = events.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some("Failed"));
    assert_eq!(last.type_.as_deref(), Some("Warning"));
    let m = last.message.as_deref().unwrap_or_default();
    assert!(m.starts_with("Failed (PushFailed): "), "{m}");
    assert!(!m.contains("wrong-password"), "{m}");
}
