//! `kubectl mosaic ui` in a real browser (Debian's headless Chromium over WebDriver) against
//! the real stack: the overview updates live, the actions make exactly their API change, an
//! RBAC refusal is shown as the command line shows it, the token and CSRF gates hold, a
//! hostile build log stays text, and the Build page lists the commit statuses sent. The tests save screenshots under target/ui-screenshots/
//! (docs/ui/ holds a committed set).

use crate::support::rbac_front;
use crate::support::stack;
use crate::support::webdriver;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use mosaic_core::{Binding, Build};
use mosaic_tests::{TestKube, eventually};
use serde_json::json;
use stack::{binding, deployment, setup};
use webdriver::Browser;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const COMMIT2: &str = "89abcdef0123456789abcdef0123456789abcdef";
const COMMIT3: &str = "fedcba9876543210fedcba9876543210fedcba98";
const IMAGE_A: &str = "r.example.com/acme/api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const IMAGE_B: &str = "r.example.com/acme/api@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A running `kubectl mosaic ui --no-browser`; killed on drop.
pub(crate) struct Ui {
    child: Child,
    /// The printed URL, with its token.
    pub(crate) url: String,
}

impl Ui {
    pub(crate) fn start(kubeconfig: &Path, ns: &str, extra: &[&str]) -> Self {
        Self::start_env(kubeconfig, ns, extra, &[])
    }

    /// As `start`, with environment variables (GitHub's token and URL).
    pub(crate) fn start_env(
        kubeconfig: &Path,
        ns: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let mut child = stack::command(env)
            .args(["ui", "--no-browser", "--kubeconfig"])
            .arg(kubeconfig)
            .args(["-n", ns])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kubectl-mosaic ui");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the URL");
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.contains("/?token="),
            "printed {url:?}"
        );
        Self { child, url }
    }

    /// The server's origin (no token).
    pub(crate) fn origin(&self) -> String {
        self.url.split("/?").next().unwrap_or_default().to_string()
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn shots() -> PathBuf {
    mosaic_tests::workspace_root().join("target/ui-screenshots")
}

/// A Build of `binding` at `commit` with a status, as the webhook writes them.
pub(crate) async fn build(
    k: &TestKube,
    name: &str,
    binding: &str,
    commit: &str,
    status: serde_json::Value,
) {
    let api: Api<Build> = Api::namespaced(k.client.clone(), &k.namespace);
    let b: Build = serde_json::from_value(json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": name, "namespace": k.namespace,
            "labels": {"mosaic.nectar.dev/binding": binding}},
        "spec": {"binding": binding, "commit": commit, "ref": "refs/heads/main",
            "trigger": {"type": "push", "pusher": "octocat"}}
    }))
    .unwrap();
    api.create(&PostParams::default(), &b).await.unwrap();
    set_status(k, name, status).await;
}

pub(crate) async fn set_status(k: &TestKube, name: &str, status: serde_json::Value) {
    Api::<Build>::namespaced(k.client.clone(), &k.namespace)
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .unwrap();
}

/// A namespace with deployment/api bound to acme/api and one Build in `phase`.
pub(crate) async fn scene(phase: &str) -> TestKube {
    let k = setup().await;
    deployment(&k, "api", &[("app", "r.example.com/acme/api:v1")], None).await;
    binding(&k, "api", "api", "acme/api", "r.example.com/acme/api").await;
    build(
        &k,
        "api-0123456789ab",
        "api",
        COMMIT,
        json!({"phase": phase, "phaseTimes": {"pending": "2026-12-01T10:00:00Z",
            "building": "2026-12-01T10:00:02Z"}}),
    )
    .await;
    k
}

#[tokio::test]
async fn the_overview_lists_bindings_and_updates_live() {
    let k = scene("Building").await;
    let ui = Ui::start(&k.kubeconfig, &k.namespace, &[]);
    let b = Browser::start().await;
    b.goto(&ui.url).await;
    let row = format!("tr[data-key=\"{}/api\"]", k.namespace);
    let phase = format!("{row} .phase");
    assert_eq!(b.text(&phase).await, "Building");
    assert!(b.text(&row).await.contains("acme/api"));
    b.wait_text("#live", "live", 10).await;
    // A marker that a reload would wipe.
    b.js("window.__noReload = 42; return true;", json!([]))
        .await;
    set_status(
        &k,
        "api-0123456789ab",
        json!({"phase": "Succeeded", "image": "r.example.com/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "phaseTimes": {"pushing": "2026-12-01T10:01:00Z", "rollingOut": "2026-12-01T10:01:10Z",
            "finished": "2026-12-01T10:01:40Z"}}),
    )
    .await;
    b.wait_text(&phase, "Succeeded", 5).await;
    assert_eq!(
        b.js("return window.__noReload;", json!([])).await,
        json!(42),
        "the page was reloaded"
    );
    // A new Binding appears as a new row, also without a reload.
    deployment(&k, "web", &[("app", "r.example.com/acme/web:v1")], None).await;
    binding(&k, "web", "web", "acme/web", "r.example.com/acme/web").await;
    b.wait_text(
        &format!("tr[data-key=\"{}/web\"]", k.namespace),
        "acme/web",
        5,
    )
    .await;
    b.screenshot(&shots().join("overview.png")).await;
    // The Binding page: its Builds with stage bars, its Events and the Deployment's pods.
    let ev: k8s_openapi::api::core::v1::Event = serde_json::from_value(json!({
        "metadata": {"name": "api.1", "namespace": k.namespace},
        "involvedObject": {"kind": "Binding", "name": "api", "namespace": k.namespace,
            "apiVersion": "mosaic.nectar.dev/v1alpha1"},
        "type": "Warning", "reason": "PushIgnored",
        "message": "push to <b>feature</b> ignored: the Binding follows main",
        "lastTimestamp": "2026-12-01T10:00:00Z", "firstTimestamp": "2026-12-01T10:00:00Z", "count": 1,
        "source": {"component": "mosaic-webhook"}
    }))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::Event>::namespaced(k.client.clone(), &k.namespace)
        .create(&PostParams::default(), &ev)
        .await
        .unwrap();
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(json!({
        "metadata": {"name": "api-7d9f-x1", "namespace": k.namespace, "labels": {"app": "api"}},
        "spec": {"containers": [{"name": "app", "image": "r.example.com/acme/api:v1"}]}
    }))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::Pod>::namespaced(k.client.clone(), &k.namespace)
        .create(&PostParams::default(), &pod)
        .await
        .unwrap();
    b.click(&format!("{row} a[href^=\"/b/\"]")).await;
    b.wait_text("h1", "Binding", 10).await;
    assert!(b.text("#builds").await.contains("build 58s"));
    let events = b.text("#related").await;
    assert!(
        events.contains("PushIgnored: push to <b>feature</b> ignored"),
        "{events}"
    );
    assert!(b.text("#pods").await.contains("api-7d9f-x1"));
    b.screenshot(&shots().join("binding.png")).await;
}

#[tokio::test]
async fn actions_make_exactly_their_api_change() {
    let k = scene("Succeeded").await;
    // Two releases: the first (image A) and the one running now (image B).
    set_status(&k, "api-0123456789ab", json!({"image": IMAGE_A})).await;
    build(
        &k,
        "api-fedcba987654",
        "api",
        COMMIT3,
        json!({"phase": "Succeeded", "image": IMAGE_B,
            "phaseTimes": {"pending": "2026-12-01T11:00:00Z", "finished": "2026-12-01T11:01:00Z"}}),
    )
    .await;
    Api::<Binding>::namespaced(k.client.clone(), &k.namespace)
        .patch_status(
            "api",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"lastImage": IMAGE_B, "lastCommit": COMMIT3,
                "lastBuild": "api-fedcba987654"}}),
            ),
        )
        .await
        .unwrap();
    let ui = Ui::start(&k.kubeconfig, &k.namespace, &[]);
    let br = Browser::start().await;
    br.goto(&ui.url).await;
    br.goto(&format!("{}/b/{}/api", ui.origin(), k.namespace))
        .await;
    let bapi: Api<Binding> = Api::namespaced(k.client.clone(), &k.namespace);
    let dapi: Api<Deployment> = Api::namespaced(k.client.clone(), &k.namespace);
    let builds: Api<Build> = Api::namespaced(k.client.clone(), &k.namespace);
    let spec = |b: &Binding| serde_json::to_value(&b.spec).unwrap();

    // Deploy a commit: one new manual Build of that commit, nothing else.
    let before = builds.list(&Default::default()).await.unwrap().items.len();
    let b0 = bapi.get("api").await.unwrap();
    br.type_into("#ref", COMMIT2).await;
    br.click("#do-deploy").await;
    let asked = br.accept_dialog().await;
    assert!(
        asked.contains("kubectl mosaic deploy deployment/api"),
        "{asked}"
    );
    let said = br.wait_text("#result", "created", 10).await;
    assert!(
        said.contains(&format!(
            "kubectl mosaic deploy deployment/api -n {} --ref {COMMIT2}",
            k.namespace
        )),
        "{said}"
    );
    let all = builds.list(&Default::default()).await.unwrap().items;
    assert_eq!(all.len(), before + 1);
    let new = all
        .iter()
        .find(|x| x.spec.commit == COMMIT2)
        .expect("the new Build");
    assert_eq!(new.spec.binding, "api");
    assert_eq!(
        serde_json::to_value(&new.spec.trigger).unwrap()["type"],
        "manual"
    );
    assert_eq!(spec(&bapi.get("api").await.unwrap()), spec(&b0));

    // Roll back: one new Build with trigger rollback naming the first release and its image;
    // the Binding and the Deployment are left to the webhook.
    let d_before = dapi.get("api").await.unwrap();
    assert_eq!(
        br.js("return document.querySelector('#to').value;", json!([]))
            .await,
        json!("api-0123456789ab"),
        "the default target is the newest earlier success with another image"
    );
    br.click("#do-rollback").await;
    let asked = br.accept_dialog().await;
    assert!(
        asked.contains("kubectl mosaic rollback deployment/api"),
        "{asked}"
    );
    let said = br.wait_text("#result", "rolling back", 10).await;
    assert!(
        said.contains(&format!(
            "kubectl mosaic rollback deployment/api -n {} --to api-0123456789ab",
            k.namespace
        )) && said.contains(IMAGE_A),
        "{said}"
    );
    let after = builds.list(&Default::default()).await.unwrap().items;
    assert_eq!(after.len(), all.len() + 1);
    let rb = after
        .iter()
        .find(|x| x.spec.trigger.kind == mosaic_core::resources::TriggerKind::Rollback)
        .expect("the rollback Build");
    let t = serde_json::to_value(&rb.spec.trigger).unwrap();
    assert_eq!(
        (&t["type"], &t["build"], &t["image"]),
        (
            &json!("rollback"),
            &json!("api-0123456789ab"),
            &json!(IMAGE_A)
        ),
        "{t}"
    );
    assert_eq!(
        (rb.spec.binding.as_str(), rb.spec.commit.as_str()),
        ("api", COMMIT)
    );
    assert!(rb.status.is_none(), "the webhook, not the UI, runs it");
    assert_eq!(spec(&bapi.get("api").await.unwrap()), spec(&b0));
    assert_eq!(
        serde_json::to_value(dapi.get("api").await.unwrap().spec).unwrap(),
        serde_json::to_value(d_before.spec).unwrap()
    );

    // Pause, then resume: only spec.paused changes.
    br.click("#do-pause").await;
    br.accept_dialog().await;
    br.wait_text("#result", "paused", 10).await;
    let b1 = bapi.get("api").await.unwrap();
    assert!(b1.spec.paused);
    let mut want = spec(&b0);
    want["paused"] = json!(true);
    assert_eq!(spec(&b1), want);
    eventually("the page to offer Resume", 10, || async {
        (br.text("#do-resume").await == "Resume").then_some(())
    })
    .await;
    br.click("#do-resume").await;
    br.accept_dialog().await;
    br.wait_text("#result", "resumed", 10).await;
    assert_eq!(spec(&bapi.get("api").await.unwrap()), spec(&b0));

    // Scale: only the replica count changes.
    let d0 = dapi.get("api").await.unwrap();
    br.type_into("#replicas", "3").await;
    br.click("#do-scale").await;
    br.accept_dialog().await;
    let said = br.wait_text("#result", "scaled", 10).await;
    assert!(said.contains("kubectl scale deployment/api"), "{said}");
    let d1 = dapi.get("api").await.unwrap();
    assert_eq!(d1.spec.replicas, Some(3));
    let (mut a, mut c) = (
        serde_json::to_value(&d0.spec).unwrap(),
        serde_json::to_value(&d1.spec).unwrap(),
    );
    a["replicas"] = json!(null);
    c["replicas"] = json!(null);
    assert_eq!(a, c, "scale changed more than replicas");
    br.screenshot(&shots().join("actions.png")).await;

    // Unbind: the Binding goes, the Deployment stays.
    br.click("#do-unbind").await;
    br.accept_dialog().await;
    br.wait_text("#result", "deleted", 10).await;
    assert!(bapi.get_opt("api").await.unwrap().is_none());
    assert!(dapi.get_opt("api").await.unwrap().is_some());
}

// Multi-threaded: the RBAC front runs on this runtime while the test awaits the browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rbac_refusal_is_shown_as_the_command_line_shows_it() {
    let k = scene("Succeeded").await;
    let dir = tempfile::tempdir().unwrap();
    let front = rbac_front::start(k.client.clone(), "viewer", &k.namespace, dir.path()).await;
    let ui = Ui::start(&front, &k.namespace, &["--as", "viewer"]);
    let br = Browser::start().await;
    br.goto(&ui.url).await;
    br.goto(&format!("{}/b/{}/api", ui.origin(), k.namespace))
        .await;
    br.click("#do-pause").await;
    br.accept_dialog().await;
    let said = br.wait_text("#result", "error", 10).await;
    assert!(said.contains("viewer"), "{said}");
    assert!(said.contains("patch"), "{said}");
    assert!(
        said.contains(&format!(
            "kubectl auth can-i patch bindings.mosaic.nectar.dev -n {} --as viewer",
            k.namespace
        )),
        "{said}"
    );
    // The command line says the same.
    let mut cli = stack::command(&[]);
    cli.args(["unbind", "deployment/api", "--as", "viewer", "--kubeconfig"])
        .arg(&front)
        .args(["-n", &k.namespace]);
    let cli = tokio::process::Command::from(cli).output().await.unwrap();
    let cli_err = String::from_utf8_lossy(&cli.stderr);
    assert!(
        cli_err.contains("User \"viewer\"") || cli_err.contains("viewer"),
        "{cli_err}"
    );
    let bapi: Api<Binding> = Api::namespaced(k.client.clone(), &k.namespace);
    assert!(!bapi.get("api").await.unwrap().spec.paused);
    br.screenshot(&shots().join("rbac-refusal.png")).await;
}

#[tokio::test]
async fn without_the_token_403_and_without_csrf_no_action() {
    let k = scene("Succeeded").await;
    let ui = Ui::start(&k.kubeconfig, &k.namespace, &[]);
    let origin = ui.origin();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/", "/events", "/assets/app.js", "/?token=0000"] {
        let r = plain.get(format!("{origin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    // The token sets an HttpOnly, SameSite=Strict cookie and drops itself from the URL.
    let r = plain.get(&ui.url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(r.headers()["location"], "/");
    let pair = cookie.split(';').next().unwrap().to_string();
    let page = plain
        .get(format!("{origin}/"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    // Another Host (DNS rebinding) is refused even with the cookie.
    let r = plain
        .get(format!("{origin}/"))
        .header("cookie", &pair)
        .header("host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // An action with the cookie but without (or with a wrong) CSRF token changes nothing.
    let form = [
        ("op", "pause"),
        ("namespace", k.namespace.as_str()),
        ("binding", "api"),
    ];
    for csrf in [None, Some("wrong")] {
        let mut body = form
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        if let Some(c) = csrf {
            body.push_str(&format!("&csrf={c}"));
        }
        let r = plain
            .post(format!("{origin}/act"))
            .header("cookie", &pair)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "csrf {csrf:?}");
    }
    let bapi: Api<Binding> = Api::namespaced(k.client.clone(), &k.namespace);
    assert!(!bapi.get("api").await.unwrap().spec.paused);
    // The browser, with the URL, does get in.
    let br = Browser::start().await;
    br.goto(&ui.url).await;
    assert_eq!(br.text("h1").await, "Bindings");
    let cookie_seen = br.js("return document.cookie;", json!([])).await;
    assert_eq!(cookie_seen, json!(""), "the cookie must be HttpOnly");
}

#[tokio::test]
async fn a_hostile_build_log_is_shown_inert() {
    let k = scene("Building").await;
    let hostile = "step 1\n<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">\n\
\x1b[31mRED\x1b[0m \x1b]0;title\x07 done";
    set_status(
        &k,
        "api-0123456789ab",
        json!({"phase": "Failed", "reason": "BuildFailed", "message": "<b>docker build</b> failed",
            "logTail": hostile, "phaseTimes": {"finished": "2026-12-01T10:00:30Z"}}),
    )
    .await;
    let ui = Ui::start(&k.kubeconfig, &k.namespace, &[]);
    let br = Browser::start().await;
    br.goto(&ui.url).await;
    br.goto(&format!(
        "{}/build/{}/api-0123456789ab",
        ui.origin(),
        k.namespace
    ))
    .await;
    let log = br.wait_text("#log", "step 1", 10).await;
    assert!(log.contains("<script>window.__pwned=1</script>"), "{log}");
    assert!(log.contains("^[[31mRED^[[0m"), "{log}");
    assert!(!log.contains('\x1b'), "{log:?}");
    assert_eq!(
        br.js(
            "return [typeof window.__pwned, document.querySelectorAll('#log *').length, document.querySelectorAll('main b').length];",
            json!([])
        )
        .await,
        json!(["undefined", 0, 0])
    );
}

#[tokio::test]
async fn the_build_page_lists_the_commit_statuses_sent() {
    let k = scene("Succeeded").await;
    set_status(
        &k,
        "api-0123456789ab",
        json!({"phase": "Succeeded", "image": IMAGE_A, "logTail": "#1 [internal] load build definition\n#2 DONE 0.1s",
            "phaseTimes": {"pending": "2026-12-01T10:00:00Z", "building": "2026-12-01T10:00:02Z",
                "pushing": "2026-12-01T10:00:40Z", "rollingOut": "2026-12-01T10:00:45Z",
                "verifying": "2026-12-01T10:01:05Z", "finished": "2026-12-01T10:01:15Z"},
            "commitStatuses": [
                {"context": "mosaic/ns/api", "state": "pending", "description": "building",
                 "sentAt": "2026-12-01T10:00:02Z", "delivery": "Failed",
                 "reason": "GitHub answered 500 for the commit status of acme/api@0123456: <i>Server Error</i>"},
                {"context": "mosaic/ns/api", "state": "pending", "description": "rolling out",
                 "sentAt": "2026-12-01T10:00:45Z", "delivery": "Sent"},
                {"context": "mosaic/ns/api", "state": "success",
                 "description": format!("deployed {IMAGE_A}").chars().take(140).collect::<String>(),
                 "sentAt": "2026-12-01T10:01:15Z", "delivery": "Sent"}
            ]}),
    )
    .await;
    let ui = Ui::start(&k.kubeconfig, &k.namespace, &[]);
    let br = Browser::start().await;
    br.goto(&ui.url).await;
    br.goto(&format!(
        "{}/build/{}/api-0123456789ab",
        ui.origin(),
        k.namespace
    ))
    .await;
    br.wait_text("#reports", "rolling out", 10).await;
    let rows = br
        .js(
            "return Array.from(document.querySelectorAll('#reports tbody tr'))\
             .map(r => Array.from(r.cells).slice(1).map(c => c.textContent));",
            json!([]),
        )
        .await;
    assert_eq!(
        rows,
        json!([
            [
                "mosaic/ns/api",
                "success",
                format!("deployed {IMAGE_A}")
                    .chars()
                    .take(140)
                    .collect::<String>(),
                "sent"
            ],
            ["mosaic/ns/api", "pending", "rolling out", "sent"],
            [
                "mosaic/ns/api",
                "pending",
                "building",
                "not sent: GitHub answered 500 for the commit status of acme/api@0123456: <i>Server Error</i>"
            ]
        ])
    );
    // The reason stays text.
    assert_eq!(
        br.js(
            "return document.querySelectorAll('#reports i').length;",
            json!([])
        )
        .await,
        json!(0)
    );
    br.screenshot(&shots().join("build.png")).await;
}

/// Benchmark, not a timed test (run with `--ignored --nocapture`): the overview's first paint
/// with 500 Bindings and 5,000 Builds, and how long a watch event takes to reach the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo test -p kubectl-mosaic --test it ui_browser::ui_benchmark -- --ignored --nocapture"]
async fn ui_benchmark_first_paint_and_watch_latency() {
    use futures::StreamExt;
    let k = setup().await;
    let bapi: Api<Binding> = Api::namespaced(k.client.clone(), &k.namespace);
    let t0 = std::time::Instant::now();
    futures::stream::iter(0..500)
        .map(|i| {
            let (bapi, k) = (bapi.clone(), &k);
            async move {
                let b: Binding = serde_json::from_value(json!({
                    "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
                    "metadata": {"name": format!("b{i:03}"), "namespace": k.namespace},
                    "spec": {"deployment": format!("d{i:03}"), "repo": "acme/api", "image": "r.example.com/acme/api"}
                }))
                .unwrap();
                bapi.create(&PostParams::default(), &b).await.unwrap();
                for j in 0..10 {
                    let commit = format!("{:040x}", i * 10 + j);
                    build(
                        k,
                        &format!("b{i:03}-{j}"),
                        &format!("b{i:03}"),
                        &commit,
                        json!({"phase": "Succeeded", "logTail": "step 1/9 ...\n".repeat(40),
                            "phaseTimes": {"pending": "2026-12-01T10:00:00Z", "building": "2026-12-01T10:00:02Z",
                            "pushing": "2026-12-01T10:01:00Z", "rollingOut": "2026-12-01T10:01:10Z",
                            "finished": "2026-12-01T10:01:40Z"}}),
                    )
                    .await;
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    eprintln!(
        "created 500 Bindings and 5,000 Builds in {:?}",
        t0.elapsed()
    );
    let ui = Ui::start(&k.kubeconfig, &k.namespace, &[]);
    let br = Browser::start().await;
    // Log in once and let the watches fill their stores (the first load waits for them).
    br.goto(&ui.url).await;
    let rows = br
        .js(
            "return document.querySelectorAll('#overview tr[data-key]').length;",
            json!([]),
        )
        .await;
    assert_eq!(rows, json!(500));
    let mut paints = vec![];
    for _ in 0..8 {
        br.goto(&format!("{}/", ui.origin())).await;
        // The paint entry is recorded after the load event returns control: ask until it is there.
        let mut v = json!(null);
        for _ in 0..40 {
            v = br
                .js(
                    "const p = performance.getEntriesByName('first-contentful-paint')[0];\
                     const n = performance.getEntriesByType('navigation')[0];\
                     return [p ? Math.round(p.startTime) : -1, Math.round(n.responseStart), \
                     Math.round(n.responseEnd), n.transferSize];",
                    json!([]),
                )
                .await;
            if v[0] != json!(-1) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        paints.push(v);
    }
    eprintln!(
        "first paint (ms since navigation start: [FCP, first byte, last byte, bytes]): {paints:?}"
    );
    // Watch latency: from just before the status write to the row showing it, polled over
    // WebDriver (an upper bound: it includes the poll's own round trips).
    // The row reports the Build the Binding names as its last (as the webhook records it).
    bapi.patch_status(
        "b250",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"lastBuild": "b250-9"}})),
    )
    .await
    .unwrap();
    let mut lat = vec![];
    let sel = format!("tr[data-key=\"{}/b250\"] .phase", k.namespace);
    for (n, phase) in ["Failed", "Succeeded", "Failed", "Succeeded", "Failed"]
        .iter()
        .enumerate()
    {
        let t = std::time::Instant::now();
        set_status(
            &k,
            "b250-9",
            json!({"phase": phase, "message": format!("run {n}")}),
        )
        .await;
        br.wait_text(&sel, phase, 10).await;
        lat.push(t.elapsed().as_millis());
    }
    eprintln!("watch event to page (ms): {lat:?}");
}
