//! Secrets drill: the real `mosaic-webhook`, logging at `trace` (every dependency's most verbose
//! output), runs a successful build, a push with a wrong registry password and a build whose
//! GitHub tarball request is refused. Then every place a value could leak is searched for the
//! webhook secret, the GitHub token and the registry password, plain and in the encodings they
//! travel in (base64 of `user:password` for registry auth, `token`/`Bearer` headers): the server
//! log, all Events, every Build and the Binding, the Deployment, `/metrics`, `/readyz`, the
//! intake's answers and every commit status the fake GitHub received. None may be found.

use std::process::{Command, Stdio};

use base64::Engine as _;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};
use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;
use serde_json::json;

/// Start the binary with `RUST_LOG=trace` (`start` fixes the log level).
async fn start_trace(w: &World) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let log = w.dir.path().join("trace.log");
    let child = Command::new(env!("CARGO_BIN_EXE_mosaic-webhook"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--namespace",
            w.ns(),
        ])
        .args(["--webhook-secret-file", w.secret_file().to_str().unwrap()])
        .args(["--github-api-url", &w.gh.url, "--identity", "secrets"])
        .args([
            "--claim-ttl",
            "3",
            "--heartbeat",
            "1",
            "--rollout-timeout",
            "60",
        ])
        .env("RUST_LOG", "trace")
        .envs(mosaic_tests::stack_vars())
        .env("MOSAIC_DOCKER_HOST", &mosaic_tests::stack().docker_host)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start mosaic-webhook");
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
    };
    let url = format!("{}/readyz", server.url);
    mosaic_tests::eventually("mosaic-webhook /readyz", 30, || {
        let url = url.clone();
        async move {
            let r = reqwest::get(&url).await.ok()?;
            (r.status() == 200).then_some(())
        }
    })
    .await;
    server
}

/// Play the Deployment controller for `web`: every new generation rolls out at once.
/// (Local, so this drill does not depend on the shared helper's signature.)
fn healthy_rollouts(w: &World) -> tokio::task::JoinHandle<()> {
    let api = w.deployments();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        loop {
            tick.tick().await;
            let Ok(d) = api.get("web").await else {
                continue;
            };
            let generation = d.metadata.generation.unwrap_or(0);
            let observed = d.status.as_ref().and_then(|s| s.observed_generation);
            if observed.unwrap_or(0) < generation {
                let status = json!({"status": {"observedGeneration": generation, "replicas": 1,
                    "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}});
                let _ = api
                    .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
                    .await;
            }
        }
    })
}

/// Every form a secret could appear in.
fn forms(secret: &str, user: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        secret.to_string(),
        b64.encode(secret),
        b64.encode(format!("{user}:{secret}")),
    ]
}

#[tokio::test]
async fn no_secret_value_appears_in_logs_events_status_metrics_or_statuses() {
    let w = world(None, true).await;
    let server = start_trace(&w).await;
    let controller = healthy_rollouts(&w);
    let mut answers = Vec::new();

    // 1. A full successful flow.
    let ok = w.commit("secrets: success\n");
    let (s, j) = push(&server, &w, "d-ok", &ok).await;
    assert_eq!(s, 201, "{j}");
    answers.push(j.to_string());
    let b = terminal(&w, &build_name("web", &ok), 120).await;
    assert_eq!(phase(&b), BuildPhase::Succeeded, "{:?}", b.status);

    // 2. The registry password is wrong: the push fails.
    let b64 = base64::engine::general_purpose::STANDARD;
    let wrong = "wrong-registry-pw-K8d2";
    let auth = b64.encode(format!("{}:{wrong}", w.reg.user));
    let cfg = json!({"auths": {w.reg.host.clone(): {"auth": auth}}}).to_string();
    Api::<Secret>::namespaced(w.kube.client.clone(), w.ns())
        .patch(
            "registry",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {".dockerconfigjson": b64.encode(cfg)}})),
        )
        .await
        .unwrap();
    let denied = w.commit("secrets: registry denied\n");
    let (s, j) = push(&server, &w, "d-deny", &denied).await;
    assert_eq!(s, 201, "{j}");
    answers.push(j.to_string());
    let b = terminal(&w, &build_name("web", &denied), 120).await;
    assert_eq!(phase(&b), BuildPhase::Failed, "{:?}", b.status);

    // 3. GitHub refuses the tarball.
    w.gh.inject_fault("/repos", 403);
    let refused = w.commit("secrets: github refused\n");
    let (s, j) = push(&server, &w, "d-403", &refused).await;
    assert_eq!(s, 201, "{j}");
    answers.push(j.to_string());
    let b = terminal(&w, &build_name("web", &refused), 60).await;
    assert_eq!(phase(&b), BuildPhase::Failed, "{:?}", b.status);
    // 4. A forged delivery carrying a secret in its body and delivery id.
    let (s, j) = deliver(
        &server,
        "push",
        WEBHOOK_SECRET,
        GITHUB_TOKEN.as_bytes(),
        "forged",
    )
    .await;
    assert_eq!(s, 401, "{j}");
    answers.push(j.to_string());

    // Gather everything observable.
    let client = w.kube.client.clone();
    let lp = ListParams::default();
    let mut places: Vec<(String, String)> = Vec::new();
    let events = Api::<Event>::namespaced(client.clone(), w.ns())
        .list(&lp)
        .await
        .unwrap();
    places.push((
        "Events".into(),
        serde_json::to_string(&events.items).unwrap(),
    ));
    for b in w.builds().list(&lp).await.unwrap().items {
        let name = b.metadata.name.clone().unwrap_or_default();
        places.push((format!("Build {name}"), serde_json::to_string(&b).unwrap()));
    }
    let binding = w.bindings().get("web").await.unwrap();
    places.push(("Binding".into(), serde_json::to_string(&binding).unwrap()));
    let dep = w.deployments().get("web").await.unwrap();
    places.push(("Deployment".into(), serde_json::to_string(&dep).unwrap()));
    for path in ["/metrics", "/readyz", "/healthz"] {
        let text = reqwest::get(format!("{}{path}", server.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        places.push((path.into(), text));
    }
    let statuses: Vec<String> = [&ok, &denied, &refused]
        .iter()
        .flat_map(|sha| w.gh.statuses(sha))
        .map(|s| format!("{} {} {}", s.state, s.description, s.context))
        .collect();
    assert!(statuses.len() >= 3, "statuses were reported: {statuses:?}");
    places.push(("GitHub statuses".into(), statuses.join("\n")));
    places.push(("intake answers".into(), answers.join("\n")));
    // Give the server a moment to flush its last log lines, then read the log whole.
    mosaic_tests::eventually("the trace log to mention the forged delivery", 10, || {
        let log = std::fs::read_to_string(&server.log).unwrap_or_default();
        async move { log.contains("webhook refused").then_some(()) }
    })
    .await;
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.len() > 10_000,
        "trace logging was on ({} bytes)",
        log.len()
    );
    places.push(("server log (trace)".into(), log));

    let user = w.reg.user.clone();
    let secrets = [
        ("webhook secret", WEBHOOK_SECRET),
        ("GitHub token", GITHUB_TOKEN),
        ("registry password", w.reg.password.as_str()),
        ("wrong registry password", wrong),
    ];
    let mut leaks = Vec::new();
    for (what, value) in secrets {
        for form in forms(value, &user) {
            for (place, text) in &places {
                if text.contains(&form) {
                    leaks.push(format!("{what} (as {form:?}) in {place}"));
                }
            }
        }
    }
    controller.abort();
    assert!(
        leaks.is_empty(),
        "secret values found:\n{}",
        leaks.join("\n")
    );
}
