//! Bounded history without a list per ended Build (finding 19, docs/reliability.md): under a
//! backlog every ended Build used to list all the Builds of its Binding to prune its history,
//! so the backlog drained slower the longer it was. The builder now decides from its watch
//! caches and only deletes. Counted from the stack API server's audit log: twelve Builds of a
//! paused Binding end `Cancelled` before they start; the history keeps the newest two, and the
//! builder lists no Builds meanwhile (the old code listed them once per ended Build).

use kube::api::{Patch, PatchParams, PostParams};
use mosaic_core::names::LABEL_BINDING;
use mosaic_core::resources::{Build, BuildPhase, build_name};
use mosaic_tests::webhook::*;
use serde_json::json;

const BUILDS: usize = 12;
const KEEP: usize = 2;

#[tokio::test]
async fn ended_builds_are_pruned_to_the_bound_without_listing_builds_each_time() {
    let log = crate::audit::audit_log();
    let w = world(None, false).await;
    let paused = json!({"spec": {"paused": true, "history": {"failed": KEEP}}});
    w.bindings()
        .patch("web", &PatchParams::default(), &Patch::Merge(&paused))
        .await
        .unwrap();
    let user = format!("system:serviceaccount:{}:mosaic-builder-history", w.ns());
    let kc = crate::audit::impersonating(&w, &user, "history.kubeconfig");
    let server = start_with(&w, "history", &[], &kc).await;
    let from = chrono::Utc::now();

    let mut names = Vec::new();
    for i in 0..BUILDS {
        let commit = format!("{i:04x}{}", "ab".repeat(18));
        let name = build_name("web", &commit);
        let b: Build = serde_json::from_value(json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
            "metadata": {"name": name, "labels": {LABEL_BINDING: "web"}},
            "spec": {"binding": "web", "commit": commit, "ref": "refs/heads/main",
                "trigger": {"type": "manual", "user": "history-reads"}}
        }))
        .unwrap();
        w.builds().create(&PostParams::default(), &b).await.unwrap();
        names.push(name);
    }
    let left = mosaic_tests::eventually("the history to be pruned to its bound", 120, || {
        let api = w.builds();
        async move {
            let l = api.list(&Default::default()).await.ok()?.items;
            let ended = l.iter().all(|b| {
                b.status
                    .as_ref()
                    .is_some_and(|s| s.phase == BuildPhase::Cancelled)
            });
            (ended && l.len() == KEEP).then_some(l)
        }
    })
    .await;
    let kept: Vec<String> = left.into_iter().filter_map(|b| b.metadata.name).collect();
    assert!(
        kept.iter().all(|k| names.contains(k)),
        "{kept:?} are not the test's Builds"
    );
    // Every deletion is the builder's; wait until the log shows the last one.
    let deletes = mosaic_tests::eventually("the builder's deletions in the audit log", 30, || {
        let counts = crate::rollout_reads::requests_between(
            &log,
            &user,
            from,
            crate::rollout_reads::last_logged(&log),
        );
        async move {
            let d = counts.get("delete builds").copied().unwrap_or_default();
            (d >= BUILDS - KEEP).then_some(counts)
        }
    })
    .await;
    drop(server);
    assert_eq!(
        deletes.get("list builds").copied().unwrap_or_default(),
        0,
        "the builder listed Builds while {BUILDS} ended: {deletes:?}"
    );
    eprintln!("history_reads: the builder's requests while {BUILDS} Builds ended: {deletes:?}");
}
