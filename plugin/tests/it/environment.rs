//! Real-stack tests of how the plugin meets the environment: bad input of every
//! kind (message and exit code), KUBECONFIG lists, a closed stdout, and completion
//! of object names from the cluster.

use crate::support::stack;

use kube::Api;
use mosaic_core::Binding;
use stack::{deployment, mosaic, secret, setup};

const IMAGE: &str = "registry.example.com/acme/web";

#[tokio::test]
async fn bad_input_gets_one_error_line_and_the_right_exit_code() {
    let k = setup().await;
    deployment(
        &k,
        "web",
        &[("app", "registry.example.com/acme/web:v1")],
        None,
    )
    .await;
    deployment(
        &k,
        "two",
        &[
            ("app", "r.example.com/a:1"),
            ("sidecar", "r.example.com/b:1"),
        ],
        None,
    )
    .await;
    secret(&k, "opaque", "Opaque", &[("x", b"y")]).await;
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec![
            "bind",
            "deployment/web",
            "--repo",
            "acme/web",
            "--image",
            IMAGE,
        ];
        v.extend_from_slice(extra);
        v
    };
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (
            vec![
                "bind",
                "deployment/nope",
                "--repo",
                "acme/web",
                "--image",
                IMAGE,
            ],
            2,
            format!(
                "deployment \"nope\" not found in namespace \"{}\"",
                k.namespace
            ),
        ),
        (
            vec![
                "bind",
                "deployment/web",
                "--repo",
                "acme/web",
                "--image",
                "registry.example.com/acme/web:v1",
            ],
            2,
            "must not carry a tag or digest".into(),
        ),
        (
            vec![
                "bind",
                "deployment/web",
                "--repo",
                "acme/web",
                "--image",
                "Registry.example.com/UPPER/x",
            ],
            2,
            "is invalid".into(),
        ),
        (
            vec![
                "bind",
                "deployment/web",
                "--repo",
                "not a repo",
                "--image",
                IMAGE,
            ],
            2,
            "is not a GitHub repository".into(),
        ),
        (
            vec![
                "bind",
                "deployment/two",
                "--repo",
                "acme/web",
                "--image",
                IMAGE,
            ],
            2,
            "has 2 containers (app, sidecar): choose one with --container".into(),
        ),
        (
            with(&["--container", "nope"]),
            2,
            "container \"nope\" not found in deployment/web: its containers are app".into(),
        ),
        (
            with(&["--registry-secret", "missing"]),
            2,
            "secret \"missing\" not found".into(),
        ),
        (
            with(&["--registry-secret", "opaque"]),
            2,
            "has type Opaque, but --registry-secret needs type kubernetes.io/dockerconfigjson"
                .into(),
        ),
        (
            with(&["--github-secret", "opaque"]),
            2,
            "has no key \"token\"".into(),
        ),
        (
            with(&["--branch", "a..b"]),
            2,
            "not a valid git branch name".into(),
        ),
        (
            with(&["--dockerfile", "../Dockerfile"]),
            2,
            "relative path inside the repository".into(),
        ),
        (
            vec![
                "bind",
                "statefulset/db",
                "--repo",
                "acme/web",
                "--image",
                IMAGE,
            ],
            2,
            "is not a Deployment".into(),
        ),
        (
            vec!["unbind", "deployment/web"],
            1,
            "deployment/web in namespace".into(),
        ),
        (vec!["deploy", "deployment/web"], 1, "is not bound".into()),
        (vec!["status", "deployment/web"], 1, "is not bound".into()),
        (
            vec!["logs", "build/nope"],
            1,
            "build \"nope\" not found".into(),
        ),
        (
            vec!["list", "--request-timeout", "soon"],
            2,
            "invalid duration \"soon\"".into(),
        ),
    ];
    for (args, code, want) in &cases {
        let r = mosaic(&k, args, &[]).await;
        eprintln!("case {args:?}");
        r.assert_error(*code, want);
    }
    let api: Api<Binding> = Api::namespaced(k.client.clone(), &k.namespace);
    assert!(
        api.list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "a failed bind wrote something"
    );

    // Usage errors come from clap, exit 2, and show the kubectl name.
    let r = mosaic(&k, &["list", "-o", "table"], &[]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: invalid value 'table'"),
        "{}",
        r.stderr
    );
    let r = mosaic(&k, &["bind", "deployment/web"], &[]).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("Usage: kubectl mosaic bind"),
        "{}",
        r.stderr
    );

    // A missing kubeconfig and an unreachable server.
    let mut c = stack::command(&[]);
    c.args(["list", "--kubeconfig", "/nonexistent/kubeconfig"]);
    let r: stack::Run = c.output().unwrap().into();
    r.assert_error(1, "cannot read kubeconfig /nonexistent/kubeconfig");

    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("kubeconfig");
    std::fs::write(&dead, "apiVersion: v1\nkind: Config\ncurrent-context: dead\nclusters:\n- name: dead\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: dead\n  context: {cluster: dead, user: u}\nusers:\n- name: u\n  user: {token: x}\n").unwrap();
    for args in [
        vec!["list"],
        vec![
            "bind",
            "deployment/web",
            "--repo",
            "acme/web",
            "--image",
            IMAGE,
        ],
        vec!["status"],
        vec!["logs", "build/x"],
    ] {
        let mut c = stack::command(&[("KUBECONFIG", dead.to_str().unwrap())]);
        c.args(&args);
        let r: stack::Run = c.output().unwrap().into();
        r.assert_error(1, "cannot reach the Kubernetes API");
    }
    let mut c = stack::command(&[("KUBECONFIG", dead.to_str().unwrap())]);
    c.args(["list", "--context", "other"]);
    let r: stack::Run = c.output().unwrap().into();
    r.assert_error(1, "invalid kubeconfig");

    // No kubeconfig at all: version still works, cluster commands say what to do.
    let r: stack::Run = stack::command(&[]).arg("version").output().unwrap().into();
    r.assert_ok();
    assert_eq!(
        r.stdout,
        format!("Plugin Version: v{}\n", env!("CARGO_PKG_VERSION"))
    );
    let r: stack::Run = stack::command(&[]).arg("list").output().unwrap().into();
    r.assert_error(1, "no kubeconfig found");
}

#[tokio::test]
async fn kubeconfig_lists_merge_and_the_context_namespace_is_the_default() {
    let k = setup().await;
    deployment(
        &k,
        "web",
        &[("app", "registry.example.com/acme/web:v1")],
        None,
    )
    .await;
    stack::binding(&k, "web", "web", "acme/web", IMAGE).await;
    // A second file sets the current context's namespace; the first names a missing file.
    let real = kube::config::Kubeconfig::read_from(&k.kubeconfig).unwrap();
    let ctx = real.current_context.clone().unwrap();
    let mut overlay = real.clone();
    overlay.current_context = Some("ns-ctx".into());
    let mut c = overlay
        .contexts
        .iter()
        .find(|c| c.name == ctx)
        .unwrap()
        .clone();
    c.name = "ns-ctx".into();
    c.context.as_mut().unwrap().namespace = Some(k.namespace.clone());
    overlay.contexts = vec![c];
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    std::fs::write(&first, serde_yaml::to_string(&overlay).unwrap()).unwrap();
    let list =
        std::env::join_paths([dir.path().join("missing"), first, k.kubeconfig.clone()]).unwrap();
    let mut cmd = stack::command(&[("KUBECONFIG", list.to_str().unwrap())]);
    cmd.arg("list");
    let r: stack::Run = cmd.output().unwrap().into();
    r.assert_ok();
    assert!(
        r.stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("web ")),
        "{}{}",
        r.stdout,
        r.stderr
    );
    // -n overrides the context's namespace.
    let mut cmd = stack::command(&[("KUBECONFIG", list.to_str().unwrap())]);
    cmd.args(["list", "-n", "default"]);
    let r: stack::Run = cmd.output().unwrap().into();
    r.assert_ok();
    assert_eq!(r.stderr, "No resources found in default namespace.\n");
}

#[tokio::test]
async fn a_closed_stdout_ends_quietly() {
    let k = setup().await;
    stack::binding(&k, "web", "web", "acme/web", IMAGE).await;
    let mut c = stack::command(&[]);
    c.args(["list", "--kubeconfig"])
        .arg(&k.kubeconfig)
        .args(["-n", &k.namespace]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    // Close the reading end before the command can print (it must first ask the API server).
    drop(child.stdout.take());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
}

#[tokio::test]
async fn completion_offers_object_names_from_the_cluster() {
    let k = setup().await;
    deployment(
        &k,
        "web",
        &[("app", "registry.example.com/acme/web:v1")],
        None,
    )
    .await;
    deployment(
        &k,
        "worker",
        &[("app", "registry.example.com/acme/worker:v1")],
        None,
    )
    .await;
    stack::binding(&k, "worker", "worker", "acme/worker", IMAGE).await;
    let kc = k.kubeconfig.display().to_string();
    let complete = |words: Vec<&str>| {
        let mut c = stack::command(&[("KUBECONFIG", kc.as_str())]);
        c.arg("__complete").args(["-n", &k.namespace]).args(words);
        let r: stack::Run = c.output().unwrap().into();
        r.assert_ok();
        r.stdout
    };
    assert_eq!(
        complete(vec!["bind", ""]),
        "deployment/web\ndeployment/worker\n:4\n"
    );
    assert_eq!(
        complete(vec!["bind", "deployment/we"]),
        "deployment/web\n:4\n"
    );
    assert_eq!(complete(vec!["unbind", "w"]), "deployment/worker\n:4\n");
    assert!(complete(vec!["bind", "--re"]).contains("--repo\t"));
    // No cluster: no names, and no error either.
    let mut c = stack::command(&[]);
    c.args(["__complete", "bind", ""]);
    let r: stack::Run = c.output().unwrap().into();
    r.assert_ok();
    assert_eq!(r.stdout, ":4\n");
}

#[tokio::test]
async fn version_reports_the_webhook_when_a_cluster_is_configured() {
    let k = setup().await;
    let r = mosaic(&k, &["version"], &[]).await;
    r.assert_ok();
    let plugin = format!("Plugin Version: v{}\n", env!("CARGO_PKG_VERSION"));
    assert!(r.stdout.starts_with(&plugin), "{}", r.stdout);
    let webhook = r.stdout.strip_prefix(&plugin).unwrap();
    assert!(
        webhook.starts_with("Webhook Version: ") && webhook.ends_with('\n'),
        "{}",
        r.stdout
    );
    let r = mosaic(&k, &["version", "-o", "json"], &[]).await;
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["pluginVersion"],
        format!("v{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(v["webhookVersion"].is_string(), "{}", r.stdout);
    // --client never contacts the cluster, even a dead one.
    let mut c = stack::command(&[]);
    c.args([
        "version",
        "--client",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ]);
    let r: stack::Run = c.output().unwrap().into();
    r.assert_ok();
    assert_eq!(
        r.stdout,
        format!("Plugin Version: v{}\n", env!("CARGO_PKG_VERSION"))
    );
}
