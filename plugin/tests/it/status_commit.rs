//! Real-stack test of `kubectl mosaic status --commit SHA`: for a deployed, a superseded, a
//! refused and a never-delivered commit, it says what happened, from the Builds and Events the
//! webhook writes (written here in the same shapes). And `kubectl mosaic status` without
//! `--commit`: the last Events on the Binding, why its recent pushes did not deploy.

use crate::support::stack;

use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use mosaic_core::names::{LABEL_BINDING, LABEL_COMMIT};
use stack::{deployment, mosaic, setup};

const DEPLOYED: &str = "1111111111111111111111111111111111111111";
const SUPERSEDED: &str = "2222222222222222222222222222222222222222";
const REFUSED: &str = "3333333333333333333333333333333333333333";
const NEVER: &str = "4444444444444444444444444444444444444444";

async fn build(k: &mosaic_tests::TestKube, commit: &str, status: serde_json::Value) {
    let name = format!("web-{}", &commit[..12]);
    let b: mosaic_core::Build = serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": name, "namespace": k.namespace,
            "labels": {LABEL_BINDING: "web", LABEL_COMMIT: commit}},
        "spec": {"binding": "web", "commit": commit, "ref": "refs/heads/main", "trigger": {"type": "push"}}
    }))
    .unwrap();
    let api: Api<mosaic_core::Build> = Api::namespaced(k.client.clone(), &k.namespace);
    let pp = PatchParams::apply("test-setup").force();
    api.patch(&name, &pp, &Patch::Apply(&b)).await.unwrap();
    let st = serde_json::json!({"apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build", "status": status});
    api.patch_status(&name, &pp, &Patch::Apply(&st))
        .await
        .unwrap();
}

#[tokio::test]
async fn status_commit_answers_for_deployed_superseded_refused_and_never_delivered_commits() {
    let k = setup().await;
    deployment(&k, "web", &[("app", "r.example.com/acme/web:1")], None).await;
    stack::binding(&k, "web", "web", "acme/web", "r.example.com/acme/web").await;
    build(&k, DEPLOYED, serde_json::json!({"phase": "Succeeded", "reason": "Deployed",
        "message": "deployed r.example.com/acme/web@sha256:aa", "image": "r.example.com/acme/web@sha256:aa"})).await;
    build(
        &k,
        SUPERSEDED,
        serde_json::json!({"phase": "Superseded", "reason": "Superseded",
        "message": "superseded by 111111111111: branch main has moved on"}),
    )
    .await;
    build(
        &k,
        REFUSED,
        serde_json::json!({"phase": "Cancelled", "reason": "NotOnBranch",
        "message": "333333333333 is not on branch main (head 111111111111)"}),
    )
    .await;
    let ev: Event = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web-333333333333.notonbranch", "labels": {LABEL_COMMIT: REFUSED}},
        "involvedObject": {"apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding", "name": "web", "namespace": k.namespace},
        "reason": "NotOnBranch", "message": "not deployed (web-333333333333, commit 333333333333): not on branch main",
        "type": "Normal", "source": {"component": "mosaic-webhook"}
    }))
    .unwrap();
    Api::<Event>::namespaced(k.client.clone(), &k.namespace)
        .create(&PostParams::default(), &ev)
        .await
        .unwrap();

    let ask = |sha: &'static str| {
        let k = &k;
        async move {
            let r = mosaic(k, &["status", "--commit", sha], &[]).await;
            r.assert_ok();
            r.stdout
        }
    };
    let out = ask(DEPLOYED).await;
    assert!(
        out.contains("deployed r.example.com/acme/web@sha256:aa"),
        "{out}"
    );
    let out = ask(SUPERSEDED).await;
    assert!(
        out.contains("not deployed (Superseded): superseded by 111111111111"),
        "{out}"
    );
    let out = ask(REFUSED).await;
    assert!(out.contains("refused (NotOnBranch)"), "{out}");
    assert!(out.contains("event NotOnBranch"), "{out}");
    let out = ask(&NEVER[..7]).await;
    assert!(
        out.starts_with("No delivery for 4444444 ever arrived"),
        "{out}"
    );
    assert!(out.contains("resync"), "{out}");
    // A short prefix finds the full commit; a non-commit is refused with one error line.
    let out = ask(&DEPLOYED[..9]).await;
    assert!(out.contains("web-111111111111"), "{out}");
    let r = mosaic(&k, &["status", "--commit", "main"], &[]).await;
    r.assert_error(2, "is not a commit id");
}

/// An Event on Binding `binding` as the webhook writes it (labelled with the Binding and the
/// commit), `secs_ago` seconds ago.
async fn binding_event(
    k: &mosaic_tests::TestKube,
    binding: &str,
    reason: &str,
    message: &str,
    secs_ago: i64,
) {
    let at = k8s_openapi::jiff::Timestamp::now()
        - k8s_openapi::jiff::SignedDuration::from_secs(secs_ago);
    let ev: Event = serde_json::from_value(serde_json::json!({
        "metadata": {"name": format!("{binding}.{}.{secs_ago}", reason.to_ascii_lowercase()),
            "labels": {LABEL_BINDING: binding, LABEL_COMMIT: REFUSED}},
        "involvedObject": {"apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "name": binding, "namespace": k.namespace},
        "reason": reason, "message": message, "type": "Normal",
        "source": {"component": "mosaic-webhook"}, "reportingComponent": "mosaic-webhook",
        "firstTimestamp": at.to_string(), "lastTimestamp": at.to_string(), "count": 1
    }))
    .unwrap();
    Api::<Event>::namespaced(k.client.clone(), &k.namespace)
        .create(&PostParams::default(), &ev)
        .await
        .unwrap();
}

#[tokio::test]
async fn status_shows_why_the_last_pushes_did_not_deploy() {
    let k = setup().await;
    deployment(&k, "web", &[("app", "r.example.com/acme/web:1")], None).await;
    stack::binding(&k, "web", "web", "acme/web", "r.example.com/acme/web").await;
    deployment(&k, "api", &[("app", "r.example.com/acme/api:1")], None).await;
    stack::binding(&k, "api", "api", "acme/api", "r.example.com/acme/api").await;
    binding_event(&k, "web", "NotBoundBranch",
        "push to branch \"dev\" (commit 3333333) not deployed: this Binding deploys branch \"main\"", 600).await;
    binding_event(
        &k,
        "web",
        "NotOnBranch",
        "not deployed (web-333333333333, commit 3333333): not on branch main",
        120,
    )
    .await;
    binding_event(
        &k,
        "api",
        "Paused",
        "push of commit 3333333 not built: the Binding is paused",
        60,
    )
    .await;
    let r = mosaic(&k, &["status", "deployment/web"], &[]).await;
    r.assert_ok();
    let out = r.stdout;
    let why = out
        .split("Why recent pushes did not deploy:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    let lines: Vec<&str> = why.lines().collect();
    assert_eq!(lines.len(), 2, "only web's, newest first: {out}");
    assert!(
        lines[0].contains("NotOnBranch: not deployed (web-333333333333"),
        "{out}"
    );
    assert!(
        lines[1].contains("NotBoundBranch: push to branch \"dev\""),
        "{out}"
    );
    // In JSON too.
    let r = mosaic(&k, &["status", "deployment/api", "-o", "json"], &[]).await;
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["items"][0]["events"][0]["reason"], "Paused", "{v}");
}
