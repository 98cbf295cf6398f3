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
