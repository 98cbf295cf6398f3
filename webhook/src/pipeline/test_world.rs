//! Shared ground of the pipeline and worker unit tests: a fake cluster with a Binding `web`,
//! its Deployment and a Build `web-old`, and a `Ctx` over it and the `ports` fakes.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use kube::api::Api;
use mosaic_core::reference::RepoName;
use mosaic_core::resources::Build;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::fake_kube::FakeKube;
use super::fakes::{FakeEngine, FakeGitHub, serving};
use super::{Ctx, Deployed, Limits, Ports, Stop, Work, run};
use crate::cluster::claim::Claimed;
use crate::metrics::Metrics;
use crate::pipeline::plan::plan_build;

pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
pub const NEWER: &str = "fedcba9876543210fedcba9876543210fedcba98";
pub const NS: &str = "team";
pub const BUILDS: &str = "/apis/mosaic.nectar.dev/v1alpha1/namespaces/team/builds";
pub const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/team/deployments";

pub const LONG: Duration = Duration::from_secs(60);

pub fn job() -> Work {
    let spec = serde_json::from_value(
        json!({"deployment": "web", "repo": "acme/app", "image": "127.0.0.1:5000/team/web"}),
    )
    .unwrap();
    Work {
        repo: RepoName::parse("acme/app").unwrap(),
        commit: SHA.into(),
        context: "mosaic/team/web".into(),
        plan: plan_build(&spec, SHA, "https://github.com/acme/app", Utc::now()).unwrap(),
        token: None,
        auth: None,
    }
}

pub fn build_object(
    name: &str,
    commit: &str,
    pushed: &str,
    phase: Option<&str>,
) -> serde_json::Value {
    let mut b = json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": name, "namespace": NS,
            "labels": {mosaic_core::names::LABEL_BINDING: "web"},
            "annotations": {mosaic_core::names::ANNOTATION_PUSHED_AT: pushed}},
        "spec": {"binding": "web", "commit": commit, "ref": "refs/heads/main",
            "trigger": {"type": "push"}},
    });
    if let Some(p) = phase {
        b["status"] = json!({"phase": p});
        if p == "RollingOut" {
            b["status"]["phaseTimes"] = json!({"rollingOut": "2026-01-01T00:00:00Z"});
        }
    }
    b
}

/// A cluster with Binding `web`, Deployment `web` (container `app`) and Build `web-old`.
pub fn cluster() -> FakeKube {
    let kube = FakeKube::default();
    let mut st = kube.state.lock().unwrap();
    st.put(
        "/apis/mosaic.nectar.dev/v1alpha1/namespaces/team/bindings",
        json!({"apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"deployment": "web", "repo": "acme/app", "image": "127.0.0.1:5000/team/web"}}),
    );
    st.put(
        DEPLOYMENTS,
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NS, "generation": 1},
            "spec": {"replicas": 1, "selector": {},
                "template": {"spec": {"containers": [{"name": "app", "image": "r/web:before"}]}}}}),
    );
    st.put(
        BUILDS,
        build_object("web-old", SHA, "2026-01-01T00:00:01Z", None),
    );
    drop(st);
    kube
}

pub fn ctx(kube: &FakeKube, gh: Arc<FakeGitHub>, engine: Arc<FakeEngine>) -> Ctx {
    Ctx {
        client: kube.client(),
        ports: Ports {
            builder: engine,
            source: gh,
            history: None,
            registry: Arc::new(serving()),
        },
        limits: Limits {
            claim_ttl: LONG,
            heartbeat: LONG,
            build_timeout: LONG,
            rollout_timeout: LONG,
            // No verification window here: the real-stack tests (tests/verdicts.rs) cover it.
            verify: mosaic_core::verdict::Defaults {
                window: Duration::ZERO,
                grace: LONG,
            },
            retry_pauses: vec![Duration::from_secs(15), Duration::from_secs(45)],
            keep: Default::default(),
        },
        metrics: Arc::new(Metrics::new()),
        identity: "me".into(),
        github_web_url: "https://github.com".into(),
        report_details: false,
        shutdown: CancellationToken::new(),
        defaults: Default::default(),
        builds: Default::default(),
    }
}

pub async fn run_old(ctx: &Ctx) -> (Result<Deployed, Stop>, Vec<String>) {
    let api = Api::<Build>::namespaced(ctx.client.clone(), NS);
    let build = api.get("web-old").await.unwrap();
    let claimed = Claimed::claim(api, &build, &ctx.identity).await.unwrap();
    let mut errors = Vec::new();
    let r = run(ctx, &claimed, &mut errors).await;
    (r, errors)
}

pub fn deployed_image(kube: &FakeKube) -> String {
    let st = kube.state.lock().unwrap();
    st.objects[&format!("{DEPLOYMENTS}/web")]["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}
