//! `kubectl mosaic rollback` on the real stack: it records one Build with trigger `rollback`
//! naming the newest earlier success whose image is not the one running (or `--to`), and
//! refuses a Build that did not succeed, or is not the Binding's, with one clear error.

use crate::support::stack;
use crate::ui_browser::{build, set_status};

use kube::Api;
use kube::api::{Patch, PatchParams};
use mosaic_core::resources::TriggerKind;
use mosaic_core::{Binding, Build};
use serde_json::json;

const A: &str = "r.example.com/acme/api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "r.example.com/acme/api@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

#[tokio::test]
async fn rollback_records_a_rollback_build_of_the_previous_release() {
    let k = stack::setup().await;
    stack::deployment(&k, "api", &[("app", "r.example.com/acme/api:v1")], None).await;
    stack::binding(&k, "api", "api", "acme/api", "r.example.com/acme/api").await;
    let done = |at: &str, image: &str| json!({"phase": "Succeeded", "image": image, "phaseTimes": {"finished": at}});
    build(
        &k,
        "api-old",
        "api",
        &"1".repeat(40),
        done("2026-12-01T10:00:00Z", A),
    )
    .await;
    build(
        &k,
        "api-new",
        "api",
        &"2".repeat(40),
        done("2026-12-01T11:00:00Z", B),
    )
    .await;
    build(
        &k,
        "api-bad",
        "api",
        &"3".repeat(40),
        json!({"phase": "Failed"}),
    )
    .await;
    set_status(&k, "api-bad", json!({"reason": "BuildFailed"})).await;
    Api::<Binding>::namespaced(k.client.clone(), &k.namespace)
        .patch_status(
            "api",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"lastImage": B, "lastBuild": "api-new"}})),
        )
        .await
        .unwrap();

    let bad = stack::mosaic(&k, &["rollback", "deployment/api", "--to", "api-bad"], &[]).await;
    bad.assert_error(2, "build/api-bad did not succeed (Failed)");
    let gone = stack::mosaic(&k, &["rollback", "deployment/api", "--to", "nope"], &[]).await;
    gone.assert_error(2, "build/nope is not a Build of this Binding");

    let run = stack::mosaic(&k, &["rollback", "deployment/api"], &[]).await;
    run.assert_ok();
    assert!(
        run.stderr.contains("Rolling back to build/api-old"),
        "{}",
        run.stderr
    );
    let builds = Api::<Build>::namespaced(k.client.clone(), &k.namespace)
        .list(&Default::default())
        .await
        .unwrap()
        .items;
    let rb: Vec<&Build> = builds
        .iter()
        .filter(|b| b.spec.trigger.kind == TriggerKind::Rollback)
        .collect();
    assert_eq!(rb.len(), 1);
    let name = rb[0].metadata.name.clone().unwrap();
    assert_eq!(
        run.stdout.trim(),
        format!("build.mosaic.nectar.dev/{name} created")
    );
    assert!(name.starts_with("api-111111111111-rb-"), "{name}");
    assert_eq!(rb[0].spec.trigger.build.as_deref(), Some("api-old"));
    assert_eq!(rb[0].spec.trigger.image.as_deref(), Some(A));
    assert_eq!(rb[0].spec.commit, "1".repeat(40));
}
