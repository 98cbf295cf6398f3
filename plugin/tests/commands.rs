//! Real-stack tests of `bind`, `list`, `unbind`, `status` and `logs`, and of every
//! command's answer to bad input (message and exit code).

#[path = "support/stack.rs"]
mod stack;

use kube::Api;
use kube::api::{Patch, PatchParams};
use mosaic_core::Binding;
use stack::{deployment, mosaic, secret, setup};

const IMAGE: &str = "registry.example.com/acme/web";

#[tokio::test]
async fn bind_list_unbind_round_trip() {
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
    let api: Api<Binding> = Api::namespaced(k.client.clone(), &k.namespace);

    // --dry-run prints the Binding and writes nothing.
    let r = mosaic(
        &k,
        &[
            "bind",
            "deployment/web",
            "--repo",
            "acme/web",
            "--image",
            IMAGE,
            "--dry-run",
            "-o",
            "yaml",
        ],
        &[],
    )
    .await;
    r.assert_ok();
    let printed: Binding = serde_yaml::from_str(&r.stdout).unwrap();
    assert_eq!(printed.spec.repo, "acme/web");
    assert!(
        api.get_opt("web").await.unwrap().is_none(),
        "dry run created the binding"
    );

    let r = mosaic(
        &k,
        &[
            "bind",
            "deploy/web",
            "--repo",
            "https://github.com/acme/web.git",
            "--image",
            IMAGE,
        ],
        &[],
    )
    .await;
    r.assert_ok();
    assert_eq!(r.stdout, "binding.mosaic.nectar.dev/web created\n");
    let b = api.get("web").await.unwrap();
    assert_eq!(
        (
            b.spec.deployment.as_str(),
            b.spec.repo.as_str(),
            b.spec.image.as_str()
        ),
        ("web", "acme/web", IMAGE)
    );
    assert_eq!(
        (b.spec.branch.as_str(), b.spec.container.as_deref()),
        ("main", None)
    );
    assert!(b.spec.rollback_on_failure);
    let managers: Vec<String> = b
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(
        managers,
        vec![mosaic_core::names::FIELD_MANAGER_PLUGIN.to_string()]
    );

    // Re-binding updates in place.
    let r = mosaic(
        &k,
        &[
            "bind",
            "deployment/web",
            "--repo",
            "acme/web",
            "--image",
            IMAGE,
            "--branch",
            "release",
            "--no-rollback",
        ],
        &[],
    )
    .await;
    r.assert_ok();
    assert_eq!(r.stdout, "binding.mosaic.nectar.dev/web configured\n");
    let b = api.get("web").await.unwrap();
    assert_eq!(b.spec.branch, "release");
    assert!(!b.spec.rollback_on_failure);

    // A pod with several containers: the binding is named after the container.
    let r = mosaic(
        &k,
        &[
            "bind",
            "deployment/two",
            "-c",
            "sidecar",
            "--repo",
            "acme/b",
            "--image",
            "r.example.com/b",
        ],
        &[],
    )
    .await;
    r.assert_ok();
    assert_eq!(
        api.get("two-sidecar")
            .await
            .unwrap()
            .spec
            .container
            .as_deref(),
        Some("sidecar")
    );

    // Secrets of the right type are accepted and recorded.
    secret(
        &k,
        "push",
        "kubernetes.io/dockerconfigjson",
        &[(".dockerconfigjson", br#"{"auths":{}}"#)],
    )
    .await;
    secret(&k, "gh", "Opaque", &[("token", b"t")]).await;
    let r = mosaic(
        &k,
        &[
            "bind",
            "deployment/web",
            "--repo",
            "acme/web",
            "--image",
            IMAGE,
            "--registry-secret",
            "push",
            "--github-secret",
            "gh",
        ],
        &[],
    )
    .await;
    r.assert_ok();
    let b = api.get("web").await.unwrap();
    assert_eq!(
        (
            b.spec.registry_secret.as_deref(),
            b.spec.github_secret.as_deref()
        ),
        (Some("push"), Some("gh"))
    );

    let r = mosaic(&k, &["list"], &[]).await;
    r.assert_ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME")
            && lines[0].contains("DEPLOYMENT")
            && lines[0].ends_with("AGE"),
        "{}",
        r.stdout
    );
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(
        lines[1].starts_with("two-sidecar") && lines[2].starts_with("web "),
        "{}",
        r.stdout
    );
    assert!(
        lines[2].contains("acme/web") && lines[2].contains("<none>"),
        "{}",
        r.stdout
    );

    let r = mosaic(&k, &["list", "--no-headers", "-o", "wide"], &[]).await;
    r.assert_ok();
    assert!(
        r.stdout.lines().next().unwrap().starts_with("two-sidecar"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("sidecar"), "{}", r.stdout);

    let r = mosaic(&k, &["list", "-o", "json"], &[]).await;
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);

    let r = mosaic(&k, &["list", "-A"], &[]).await;
    r.assert_ok();
    assert!(r.stdout.starts_with("NAMESPACE"), "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&format!("{}   web", k.namespace))),
        "{}",
        r.stdout
    );

    let r = mosaic(&k, &["unbind", "deployment/web"], &[]).await;
    r.assert_ok();
    assert_eq!(r.stdout, "binding.mosaic.nectar.dev/web deleted\n");
    let r = mosaic(
        &k,
        &["unbind", "deployment/two", "--container", "sidecar"],
        &[],
    )
    .await;
    r.assert_ok();
    assert!(api.get_opt("web").await.unwrap().is_none());

    let r = mosaic(&k, &["list"], &[]).await;
    r.assert_ok();
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        format!("No resources found in {} namespace.\n", k.namespace)
    );
}

#[tokio::test]
async fn status_and_logs_report_builds() {
    let k = setup().await;
    deployment(&k, "api", &[("api", "r.example.com/acme/api:1")], None).await;
    stack::binding(&k, "api", "api", "acme/api", "r.example.com/acme/api").await;
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let build: mosaic_core::Build = serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": "api-0123456789ab", "namespace": k.namespace,
            "labels": {mosaic_core::names::LABEL_BINDING: "api"}},
        "spec": {"binding": "api", "commit": commit, "ref": "refs/heads/main", "trigger": {"type": "push", "pusher": "octocat"}}
    }))
    .unwrap();
    let builds: Api<mosaic_core::Build> = Api::namespaced(k.client.clone(), &k.namespace);
    let pp = PatchParams::apply("test-setup");
    builds
        .patch("api-0123456789ab", &pp, &Patch::Apply(&build))
        .await
        .unwrap();

    let r = mosaic(&k, &["logs", "build/api-0123456789ab"], &[]).await;
    r.assert_ok();
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("has no log yet"), "{}", r.stderr);

    let status = serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "status": {"phase": "Failed", "reason": "RolloutFailed", "message": "new pods crash",
            "phaseTimes": {"pending": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:01:30Z"},
            "logTail": "step 1/2\nerror: boom",
            "findings": [{"slug": "crash-loop", "severity": "error", "object": {"kind": "Pod", "name": "api-x"},
                "summary": "The container exits with code 1.", "fix": ["Read the logs."]}]}
    });
    builds
        .patch_status(
            "api-0123456789ab",
            &pp.clone().force(),
            &Patch::Apply(&status),
        )
        .await
        .unwrap();
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(k.client.clone(), &k.namespace);
    let dstatus = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}});
    deployments
        .patch_status("api", &pp.clone().force(), &Patch::Apply(&dstatus))
        .await
        .unwrap();

    let r = mosaic(&k, &["logs", "build/api-0123456789ab"], &[]).await;
    r.assert_ok();
    assert_eq!(r.stdout, "step 1/2\nerror: boom\n");

    let r = mosaic(&k, &["status", "deployment/api"], &[]).await;
    r.assert_ok();
    assert!(
        r.stdout.contains("Repository:  acme/api branch main"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Rollout:     rolling out: 0 of 1 updated replicas available"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("api-0123456789ab   0123456   push by octocat   Failed   90s"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Last build failed: RolloutFailed: new pods crash"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("crash-loop Pod/api-x: The container exits with code 1."),
        "{}",
        r.stdout
    );

    let r = mosaic(&k, &["status", "deployment/api", "-o", "json"], &[]).await;
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["items"][0]["binding"]["spec"]["repo"], "acme/api");
    assert_eq!(
        v["items"][0]["rollout"],
        "rolling out: 0 of 1 updated replicas available"
    );
    assert_eq!(v["items"][0]["builds"][0]["status"]["phase"], "Failed");

    let r = mosaic(&k, &["list"], &[]).await;
    r.assert_ok();
    assert!(
        r.stdout.lines().nth(1).unwrap().contains("0123456") && r.stdout.contains("Failed"),
        "{}",
        r.stdout
    );
}

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
