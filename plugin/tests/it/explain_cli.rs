//! `kubectl-mosaic explain` offline, through the built binary: formats, exit codes,
//! input errors and what goes to stdout versus stderr.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubectl-mosaic"));
    // Offline runs must not need a cluster.
    c.env("KUBECONFIG", "/nonexistent").env_remove("NO_COLOR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run kubectl-mosaic")
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A Deployment whose newest ReplicaSet's pod crash-loops (exit 1), plus an older healthy ReplicaSet.
fn crashing_app() -> Value {
    let owner = |kind: &str, name: &str, uid: &str| json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true}]);
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "api", "namespace": "shop", "uid": "d1", "creationTimestamp": "2024-05-01T09:00:00Z"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}}},
         "status": {"replicas": 1, "unavailableReplicas": 1, "conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."}]}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": {"name": "api-7d9c", "namespace": "shop", "uid": "r2", "creationTimestamp": "2024-05-01T09:50:00Z",
                      "annotations": {"deployment.kubernetes.io/revision": "2"}, "ownerReferences": owner("Deployment", "api", "d1")},
         "spec": {"replicas": 1}, "status": {"replicas": 1}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "api-7d9c-x2", "namespace": "shop", "uid": "p1", "labels": {"app": "api"},
                      "creationTimestamp": "2024-05-01T09:50:00Z", "ownerReferences": owner("ReplicaSet", "api-7d9c", "r2")},
         "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "shop/api:2"}]},
         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "app", "ready": false, "restartCount": 6, "image": "shop/api:2",
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=app"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-05-01T10:00:00Z"}}}]}},
        {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "api-7d9c-x2.1", "namespace": "shop"},
         "involvedObject": {"kind": "Pod", "name": "api-7d9c-x2", "namespace": "shop", "uid": "p1", "fieldPath": "spec.containers{app}"},
         "reason": "BackOff", "type": "Warning", "count": 14, "message": "Back-off restarting failed container app in pod api-7d9c-x2",
         "firstTimestamp": "2024-05-01T09:51:00Z", "lastTimestamp": "2024-05-01T10:01:00Z"},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "n1"}, "spec": {"unschedulable": true},
         "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    ]})
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

#[test]
fn json_reports_the_root_cause_through_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.json", &crashing_app().to_string());
    let out = run(&["explain", "-f", &f, "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error finding exits 1; stderr: {}",
        text(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let findings = v["findings"].as_array().unwrap();
    let slugs: Vec<&str> = findings
        .iter()
        .map(|f| f["slug"].as_str().unwrap())
        .collect();
    assert!(
        slugs.iter().any(|s| s.starts_with("pod.crash-loop")),
        "{slugs:?}"
    );
    assert!(
        !slugs.contains(&"deployment.unavailable"),
        "the symptom is folded into the cause: {slugs:?}"
    );
    assert!(slugs.contains(&"node.cordoned"), "{slugs:?}");
    let crash = findings
        .iter()
        .find(|f| f["slug"].as_str().unwrap().starts_with("pod.crash-loop"))
        .unwrap();
    assert_eq!(
        crash["object"],
        json!({"kind": "Pod", "namespace": "shop", "name": "api-7d9c-x2"})
    );
    let chain: Vec<&str> = crash["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(chain, ["Deployment", "ReplicaSet", "Pod"]);
    assert!(
        crash["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "BackOff" && e["count"] == 14),
        "{crash}"
    );
    assert_eq!(findings[0]["severity"], "error", "most severe first");
    assert!(v["notes"].is_array());
}

#[test]
fn target_filters_and_yaml_matches_json() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "app.yaml",
        &serde_yaml::to_string(&crashing_app()).unwrap(),
    );
    let json_out = run(&[
        "explain",
        "deploy/api",
        "-n",
        "shop",
        "-f",
        &f,
        "-o",
        "json",
    ]);
    let yaml_out = run(&[
        "explain",
        "deploy/api",
        "-n",
        "shop",
        "-f",
        &f,
        "-o",
        "yaml",
    ]);
    let a: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    let b: Value = serde_yaml::from_slice(&yaml_out.stdout).unwrap();
    assert_eq!(a, b);
    let slugs: Vec<&str> = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["slug"].as_str().unwrap())
        .collect();
    // The pod sits on n1, so the cordoned node is part of the Deployment's picture.
    assert!(
        slugs.iter().any(|s| s.starts_with("pod.crash-loop")) && slugs.contains(&"node.cordoned"),
        "{slugs:?}"
    );

    let missing = run(&["explain", "deploy/nope", "-n", "shop", "-f", &f]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("deployments.apps \"nope\" not found in namespace \"shop\""),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn text_is_plain_when_piped_and_fail_on_controls_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.json", &crashing_app().to_string());
    let out = run(&["explain", "-f", &f, "--learn"]);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains('\x1b'), "no colour on a pipe");
    assert!(stdout.contains("ERROR pod.crash-loop"), "{stdout}");
    assert!(
        stdout.contains("chain: Deployment/api → ReplicaSet/api-7d9c → Pod/api-7d9c-x2"),
        "{stdout}"
    );
    assert!(stdout.contains("  learn:\n"), "{stdout}");
    assert!(
        text(&out.stderr).contains("1 warning"),
        "tally on stderr: {}",
        text(&out.stderr)
    );

    assert_eq!(
        run(&["explain", "-f", &f, "--fail-on", "never"])
            .status
            .code(),
        Some(0)
    );
    // Only the cordoned node (a warning) in scope.
    let node_only = run(&["explain", "node/n1", "-f", &f]);
    assert_eq!(
        node_only.status.code(),
        Some(0),
        "warnings do not fail by default"
    );
    assert_eq!(
        run(&["explain", "node/n1", "-f", &f, "--fail-on", "warning"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn healthy_input_says_so_on_stderr() {
    let healthy = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok", "namespace": "a"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0, "state": {"running": {}}}]}});
    let out = run_stdin(&["explain", "-f", "-"], &healthy.to_string());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains("No problems found."),
        "{}",
        text(&out.stderr)
    );
    let out = run_stdin(&["explain", "-f", "-", "-o", "json"], &healthy.to_string());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"], json!([]));
}

#[test]
fn bad_input_is_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   oops: 1\n",
    );
    let out = run(&["explain", "-f", &bad]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: ")
            && err.contains("bad.yaml line 5")
            && err.contains("invalid YAML"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"));

    let out = run(&[
        "explain",
        "-f",
        &dir.path().join("absent.json").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("absent.json: no such file or directory"),
        "{}",
        text(&out.stderr)
    );

    let empty = write(dir.path(), "empty.yaml", "# nothing here\n");
    let out = run(&["explain", "-f", &empty]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no Kubernetes objects found"),
        "{}",
        text(&out.stderr)
    );

    let out = run_stdin(
        &["explain", "-f", "-"],
        "{\"kind\": \"Pod\",\n\"metadata\": }",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("<stdin> line 2"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&["explain", "widget/x", "-f", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown resource type \"widget\""),
        "{}",
        text(&out.stderr)
    );

    let out = run(&["explain", "-f", &empty, "--now", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unknown_kinds_are_noted_not_fatal() {
    let input = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: a}\n";
    let out = run_stdin(&["explain", "-f", "-"], input);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("Widget"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn cluster_info_dump_directory() {
    let dir = tempfile::tempdir().unwrap();
    let app = crashing_app();
    let items = app["items"].as_array().unwrap();
    let list = |kind: &str| {
        let of: Vec<&Value> = items.iter().filter(|i| i["kind"] == kind).collect();
        json!({"kind": format!("{kind}List"), "apiVersion": "v1", "items": of}).to_string()
    };
    write(dir.path(), "nodes.json", &list("Node"));
    let ns = dir.path().join("shop");
    std::fs::create_dir_all(ns.join("api-7d9c-x2")).unwrap();
    for (file, kind) in [
        ("deployments.json", "Deployment"),
        ("replicasets.json", "ReplicaSet"),
        ("pods.json", "Pod"),
        ("events.json", "Event"),
    ] {
        write(&ns, file, &list(kind));
    }
    write(&ns.join("api-7d9c-x2"), "logs.txt", "panic: boom\n");
    let out = run(&[
        "explain",
        "-f",
        &dir.path().display().to_string(),
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let slugs: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["slug"].as_str().unwrap())
        .collect();
    assert!(
        slugs.iter().any(|s| s.starts_with("pod.crash-loop")),
        "{slugs:?}"
    );
}

#[test]
fn list_prints_every_slug() {
    let out = run(&["explain", "--list"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    for slug in [
        "pod.crash-loop",
        "deployment.replica-failure.quota",
        "service.target-port-mismatch",
        "node.cordoned",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(slug)),
            "{slug} missing:\n{stdout}"
        );
    }
    let out = run(&["explain", "--list", "-o", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let modes = v["modes"].as_array().unwrap();
    assert!(modes.len() >= 50);
    let implemented = modes.iter().filter(|m| m["implemented"] == true).count();
    assert!(implemented >= 40, "{implemented} implemented");
}
