//! Real-stack tests of `bind`, `list`, `unbind`, `status` and `logs` on the happy
//! path: what they write, and what they print.

use crate::support::stack;

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
                "summary": "The container exits with code 1.", "fix": ["Read the logs."]}],
            "commitStatuses": [
                {"context": "mosaic/ns/api", "state": "pending", "description": "building",
                 "sentAt": "2026-01-01T00:00:01Z", "delivery": "Sent"},
                {"context": "mosaic/ns/api", "state": "failure", "description": "rollout failed: new pods crash",
                 "sentAt": "2026-01-01T00:01:29Z", "delivery": "Failed",
                 "reason": "GitHub answered 502 for the commit status of acme/api@0123456789ab: Bad Gateway"}]}
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
    // A hostile build's output: colours, a screen clear, a title, a bell, a C1 CSI. (As JSON:
    // YAML, which server-side apply sends, refuses control characters.)
    let hostile = serde_json::json!({"status": {
        "logTail": "step 1/2\r\n\t\x1b[2J\x1b]0;owned\x07\u{9b}31merror: boom"}});
    builds
        .patch_status(
            "api-0123456789ab",
            &PatchParams::default(),
            &Patch::Merge(&hostile),
        )
        .await
        .unwrap();
    let r = mosaic(&k, &["logs", "build/api-0123456789ab"], &[]).await;
    r.assert_ok();
    assert_eq!(
        r.stdout,
        "step 1/2\n\t^[[2J^[]0;owned^G\\u{9b}31merror: boom\n"
    );

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
    let sent = r
        .stdout
        .split("Commit statuses sent by build/api-0123456789ab:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", r.stdout));
    let sent: Vec<&str> = sent.lines().take(2).collect();
    assert!(
        sent[0].ends_with("mosaic/ns/api  failure \"rollout failed: new pods crash\" (not sent: GitHub answered 502 for the commit status of acme/api@0123456789ab: Bad Gateway)")
            && sent[1].ends_with("mosaic/ns/api  pending \"building\" (sent)"),
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
    // The commit statuses sent, as the API server keeps them (the CRD's schema has the field).
    assert_eq!(
        v["items"][0]["builds"][0]["status"]["commitStatuses"][1]["reason"],
        "GitHub answered 502 for the commit status of acme/api@0123456789ab: Bad Gateway"
    );

    let r = mosaic(&k, &["list"], &[]).await;
    r.assert_ok();
    assert!(
        r.stdout.lines().nth(1).unwrap().contains("0123456") && r.stdout.contains("Failed"),
        "{}",
        r.stdout
    );
}
