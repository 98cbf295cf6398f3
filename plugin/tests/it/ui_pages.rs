//! The UI's Explain page in a real browser against the real stack: the findings are the ones
//! `kubectl mosaic explain TYPE/NAME -n NS -o json` reports (same gathering, same engine), and
//! a Service's probe, with no kubelet to start its pod, ends in a clean "did not finish" note
//! and leaves no pod behind. An unbound Deployment is bound from the overview with the
//! proposal `bind --auto` makes, creating the very Binding its `--dry-run` prints.

use crate::support::stack;
use crate::support::webdriver::Browser;
use crate::ui_browser::{Ui, shots};

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

/// The slugs and summaries `kubectl mosaic explain TARGET -n NS -o json` reports.
async fn cli_findings(k: &mosaic_tests::TestKube, target: &str) -> Vec<(String, String)> {
    let run = stack::mosaic(
        k,
        &["explain", target, "-o", "json", "--fail-on", "never"],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["slug"].as_str().unwrap().to_string(),
                f["summary"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The slugs and "KIND/NAME: summary" lines the page shows.
async fn page_findings(br: &Browser) -> Vec<(String, String)> {
    let v = br
        .js(
            "return [...document.querySelectorAll('#explained li.finding')].map(li => \
             [li.dataset.slug, li.querySelector('p').textContent]);",
            json!([]),
        )
        .await;
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn the_explain_page_shows_the_clis_findings_and_a_probe_that_cannot_start() {
    let k = stack::setup().await;
    stack::deployment(&k, "web", &[("app", "r.example.com/acme/web:v1")], None).await;
    let svc: Service = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"clusterIP": "10.96.0.51", "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}))
    .unwrap();
    Api::<Service>::namespaced(k.client.clone(), &k.namespace)
        .create(&PostParams::default(), &svc)
        .await
        .unwrap();
    // A crash-looping pod of the Deployment, as a kubelet 1.36 reports one.
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web-5d9c-abcde", "labels": {"app": "web"},
            "creationTimestamp": "2026-12-01T10:00:00Z"},
        "spec": {"containers": [{"name": "app", "image": "r.example.com/acme/web:v1"}]}
    }))
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(k.client.clone(), &k.namespace);
    pods.create(&PostParams::default(), &pod).await.unwrap();
    pods.patch_status(
        "web-5d9c-abcde",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "app", "image": "r.example.com/acme/web:v1", "imageID": "",
                "ready": false, "started": false, "restartCount": 6,
                "state": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-12-01T10:05:00Z", "finishedAt": "2026-12-01T10:05:01Z"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-12-01T10:04:00Z", "finishedAt": "2026-12-01T10:04:01Z"}}}]}})),
    )
    .await
    .unwrap();

    let ui = Ui::start(&k.kubeconfig, &k.namespace, &[]);
    let br = Browser::start().await;
    br.goto(&ui.url).await;
    br.click("nav a[href=\"/explain\"]").await;
    br.wait_text("h1", "Explain", 10).await;
    assert_eq!(
        br.js("return document.querySelector('#ns').value;", json!([]))
            .await,
        json!(k.namespace)
    );
    let options = br
        .js(
            "return [...document.querySelectorAll('#target option')].map(o => o.value);",
            json!([]),
        )
        .await;
    assert_eq!(options, json!(["deploy/web", "svc/web"]));

    // A workload: the page's findings are the command line's, in the same order.
    br.js(
        "document.querySelector('#target').value = 'deploy/web'; return true;",
        json!([]),
    )
    .await;
    br.click("#do-explain").await;
    br.wait_text("#explained h2", "deploy/web", 10).await;
    let want = cli_findings(&k, "deploy/web").await;
    assert!(!want.is_empty(), "the crash loop is a finding");
    let got = page_findings(&br).await;
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for ((gs, gtext), (ws, wsum)) in got.iter().zip(&want) {
        assert_eq!(gs, ws);
        assert!(gtext.ends_with(wsum.as_str()), "{gtext} vs {wsum}");
    }
    let text = br.text("#explained").await;
    assert!(text.contains("Fix:") && text.contains("Learn:"), "{text}");
    assert!(
        text.contains(&format!(
            "kubectl mosaic explain deploy/web -n {} --learn",
            k.namespace
        )),
        "{text}"
    );
    br.screenshot(&shots().join("explain.png")).await;

    // A Service: its findings, then the probe, whose pod never starts without a kubelet.
    br.js(
        "document.querySelector('#target').value = 'svc/web'; return true;",
        json!([]),
    )
    .await;
    br.click("#do-explain").await;
    br.wait_text("#explained h2", "svc/web", 10).await;
    let want = cli_findings(&k, "svc/web").await;
    let got: Vec<String> = page_findings(&br)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(got, want.into_iter().map(|(s, _)| s).collect::<Vec<_>>());
    br.js(
        "document.querySelector('#timeout').value = '2s'; return true;",
        json!([]),
    )
    .await;
    br.click("#do-probe").await;
    let asked = br.accept_dialog().await;
    assert!(asked.contains("--probe"), "{asked}");
    let said = br.wait_text("#result", "did not finish", 30).await;
    assert!(
        said.contains("the probe of Service web did not finish within 2 s"),
        "{said}"
    );
    assert!(said.contains("its pod was deleted"), "{said}");
    assert!(
        said.contains(&format!(
            "kubectl mosaic explain svc/web -n {} --probe --probe-timeout 2s",
            k.namespace
        )),
        "{said}"
    );
    let left = pods
        .list(&kube::api::ListParams::default().labels("mosaic.nectar.dev/probe"))
        .await
        .unwrap()
        .items;
    assert!(left.is_empty(), "probe pods left: {}", left.len());
    br.screenshot(&shots().join("explain-probe.png")).await;
}

#[tokio::test]
async fn an_unbound_deployment_is_bound_from_its_proposal() {
    use mosaic_core::Binding;
    use mosaic_tests::fake_github::FakeGitHub;
    let k = stack::setup().await;
    // The image's registry refuses connections: the proposal comes from the owner's names.
    stack::deployment(&k, "shop", &[("app", "127.0.0.1:9/acme/shop:v1")], None).await;
    let gh = FakeGitHub::start("gh-ui-token").await;
    for r in ["shop", "shopping-list", "api"] {
        gh.add_repo(&format!("acme/{r}"), false);
    }
    let env = [
        ("GITHUB_TOKEN", gh.token.as_str()),
        ("MOSAIC_GITHUB_API_URL", gh.url.as_str()),
    ];
    let dry = stack::mosaic(
        &k,
        &[
            "bind",
            "--auto",
            "--owner",
            "acme",
            "--dry-run",
            "-o",
            "json",
        ],
        &env,
    )
    .await;
    dry.assert_ok();
    let want: Vec<Binding> = serde_json::from_str::<serde_json::Value>(&dry.stdout)
        .map(|v| serde_json::from_value(v["items"].clone()).unwrap())
        .unwrap();
    assert_eq!(want.len(), 1, "{}", dry.stdout);

    let ui = Ui::start_env(&k.kubeconfig, &k.namespace, &[], &env);
    let br = Browser::start().await;
    br.goto(&ui.url).await;
    let item = format!("#unbound li[data-key=\"{}/shop\"]", k.namespace);
    assert!(br.text(&item).await.contains("deployment/shop"));
    br.click(&format!("{item} a")).await;
    br.wait_text("h1", "Bind deployment/shop", 10).await;
    br.type_into("#owner", "acme").await;
    br.click("#do-propose").await;
    let proposal = br.wait_text("#proposals .proposal", "acme/shop", 10).await;
    assert!(proposal.contains("same name"), "{proposal}");
    assert_eq!(
        br.js(
            "return document.querySelector('#repo-app').value;",
            json!([])
        )
        .await,
        json!("acme/shop")
    );
    br.screenshot(&shots().join("bind.png")).await;
    br.click("#do-bind-app").await;
    let asked = br.accept_dialog().await;
    assert!(
        asked.contains("kubectl mosaic bind deployment/shop"),
        "{asked}"
    );
    let said = br.wait_text("#result", "created", 10).await;
    assert!(
        said.contains(&format!(
            "kubectl mosaic bind deployment/shop -n {} --repo acme/shop --image 127.0.0.1:9/acme/shop",
            k.namespace
        )),
        "{said}"
    );
    let made = Api::<Binding>::namespaced(k.client.clone(), &k.namespace)
        .get("shop")
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&made.spec).unwrap(),
        serde_json::to_value(&want[0].spec).unwrap(),
        "the UI binds what bind --auto proposes"
    );
}

/// A ReplicaSet of Deployment `dep` (uid `owner`) at `revision` running `image`, `ready` pods ready.
async fn replicaset(
    k: &mosaic_tests::TestKube,
    owner: &str,
    revision: u32,
    image: &str,
    ready: i32,
) -> String {
    use k8s_openapi::api::apps::v1::ReplicaSet;
    let name = format!("api-{revision}");
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "api", "pod-template-hash": format!("h{revision}")},
            "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api",
                "uid": owner, "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api", "pod-template-hash": format!("h{revision}")}},
            "template": {"metadata": {"labels": {"app": "api", "pod-template-hash": format!("h{revision}")}},
                "spec": {"containers": [{"name": "app", "image": image}]}}}
    }))
    .unwrap();
    let api: Api<ReplicaSet> = Api::namespaced(k.client.clone(), &k.namespace);
    let made = api.create(&PostParams::default(), &rs).await.unwrap();
    api.patch_status(
        &name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"status": {"replicas": 1, "readyReplicas": ready,
            "availableReplicas": ready, "observedGeneration": 1}})),
    )
    .await
    .unwrap();
    made.metadata.uid.unwrap()
}

#[tokio::test]
async fn the_binding_page_explains_the_rollout_and_plots_build_times() {
    use crate::ui_browser::build;
    use k8s_openapi::api::apps::v1::Deployment;
    let k = stack::setup().await;
    stack::deployment(&k, "api", &[("app", "r.example.com/acme/api:v2")], None).await;
    stack::binding(&k, "api", "api", "acme/api", "r.example.com/acme/api").await;
    for (i, (start, pushed, rolled, end)) in [
        ("10:00:00", "10:01:00", "10:01:10", "10:01:40"),
        ("11:00:00", "11:02:30", "11:02:40", "11:03:00"),
        ("12:00:00", "12:00:40", "12:00:50", "12:04:50"),
    ]
    .iter()
    .enumerate()
    {
        build(
            &k,
            &format!("api-{i}"),
            "api",
            &format!("{i}").repeat(40),
            json!({"phase": "Succeeded", "phaseTimes": {"pending": format!("2026-12-01T{start}Z"),
                "building": format!("2026-12-01T{start}Z"), "pushing": format!("2026-12-01T{pushed}Z"),
                "rollingOut": format!("2026-12-01T{rolled}Z"), "finished": format!("2026-12-01T{end}Z")}}),
        )
        .await;
    }
    // Revision 1 ran v1 and is ready; revision 2 runs v2 and its pod crash-loops.
    let dep = Api::<Deployment>::namespaced(k.client.clone(), &k.namespace)
        .get("api")
        .await
        .unwrap();
    let owner = dep.metadata.uid.unwrap();
    replicaset(&k, &owner, 1, "r.example.com/acme/api:v1", 1).await;
    let rs2 = replicaset(&k, &owner, 2, "r.example.com/acme/api:v2", 0).await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "api-2-abcde", "labels": {"app": "api", "pod-template-hash": "h2"},
            "creationTimestamp": "2026-12-01T12:01:00Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-2",
                "uid": rs2, "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"containers": [{"name": "app", "image": "r.example.com/acme/api:v2"}]}
    }))
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(k.client.clone(), &k.namespace);
    pods.create(&PostParams::default(), &pod).await.unwrap();
    pods.patch_status(
        "api-2-abcde",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "app", "image": "r.example.com/acme/api:v2", "imageID": "",
                "ready": false, "started": false, "restartCount": 5,
                "state": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-12-01T12:05:00Z", "finishedAt": "2026-12-01T12:05:01Z"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-12-01T12:04:00Z", "finishedAt": "2026-12-01T12:04:01Z"}}}]}})),
    )
    .await
    .unwrap();

    let ui = Ui::start(&k.kubeconfig, &k.namespace, &[]);
    let br = Browser::start().await;
    br.goto(&ui.url).await;
    br.goto(&format!("{}/b/{}/api", ui.origin(), k.namespace))
        .await;
    br.wait_text("h1", "Binding", 10).await;
    // The findings are explain's for deploy/api, what changed included.
    let want: Vec<String> = cli_findings(&k, "deploy/api")
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(want.contains(&"pod.crash-loop".to_string()), "{want:?}");
    let got = br
        .js(
            "return [...document.querySelectorAll('#insight li.finding')].map(li => li.dataset.slug);",
            json!([]),
        )
        .await;
    assert_eq!(got, json!(want));
    let changed = br.text("#changed").await;
    assert!(
        changed.contains("changed since revision 1")
            && changed.contains("api:v1")
            && changed.contains("api:v2"),
        "{changed}"
    );
    let explain = br.text("#explain").await;
    assert!(
        explain.contains("Fix:") && explain.contains("Learn:"),
        "{explain}"
    );
    // The plot: one build bar and one roll-out bar per Build, heights in proportion.
    let bars = br
        .js(
            "return [...document.querySelectorAll('#plot g.pt')].map(g => \
             [...g.querySelectorAll('rect')].map(r => Number(r.getAttribute('height'))));",
            json!([]),
        )
        .await;
    // Oldest first: build 70 s / roll-out 30 s, 160 s / 20 s, 50 s / 240 s; the longest is
    // 290 s, drawn 110 units high.
    assert_eq!(bars, json!([[26, 11], [60, 7], [18, 91]]));
    br.screenshot(&shots().join("binding-insight.png")).await;
}
