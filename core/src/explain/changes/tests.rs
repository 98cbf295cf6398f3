//! Unit tests of `changes.rs` on `spec.template` values shaped as the API server
//! returns them in ReplicaSets.
use super::*;
use serde_json::json;

/// [`super::changes`] of templates written as `serde_json` values.
fn changes(before: &serde_json::Value, after: &serde_json::Value) -> Vec<Change> {
    super::changes(&before.into(), &after.into())
}

/// A ReplicaSet's `spec.template`, as defaulted by the API server.
fn template(image: &str, memory: &str, path: &str) -> serde_json::Value {
    json!({
        "metadata": {"creationTimestamp": null, "labels": {"app": "api", "pod-template-hash": "6d9f7c8b5"}},
        "spec": {
            "containers": [{
                "name": "app", "image": image, "imagePullPolicy": "IfNotPresent",
                "env": [
                    {"name": "MODE", "value": "prod"},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
                ],
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {"limits": {"memory": memory}, "requests": {"cpu": "100m", "memory": memory}},
                "readinessProbe": {"httpGet": {"path": path, "port": 8080, "scheme": "HTTP"},
                    "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
            }],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "securityContext": {}, "schedulerName": "default-scheduler"
        }
    })
}

fn texts(c: &[Change]) -> Vec<&str> {
    c.iter().map(|c| c.text.as_str()).collect()
}

#[test]
fn same_template_has_no_changes() {
    let t = template("shop/api:a1b2", "512Mi", "/healthz");
    assert!(changes(&t, &t).is_empty());
}

#[test]
fn image_memory_and_probe_changes_read_as_phrases() {
    let old = template("shop/api:a1b2", "512Mi", "/healthz");
    let new = template("shop/api:c3d4", "128Mi", "/ready");
    let c = changes(&old, &new);
    assert_eq!(
        texts(&c),
        [
            "image of app shop/api:a1b2 → shop/api:c3d4",
            "memory limit of app 512Mi → 128Mi",
            "memory request of app 512Mi → 128Mi",
            "readiness probe of app GET /healthz:8080 → GET /ready:8080",
        ]
    );
}

#[test]
fn ranking_puts_the_related_change_first() {
    let old = template("shop/api:a1b2", "512Mi", "/healthz");
    let new = template("shop/api:c3d4", "128Mi", "/ready");
    let oom = rank(changes(&old, &new), &["pod.oom-killed"]);
    assert_eq!(oom[0].text, "memory limit of app 512Mi → 128Mi");
    assert!(oom[0].related && !oom[1].related);
    let probe = rank(changes(&old, &new), &["pod.probe.readiness-failing"]);
    assert_eq!(
        probe[0].text,
        "readiness probe of app GET /healthz:8080 → GET /ready:8080"
    );
    assert_eq!(
        render(&oom, Some("7"), 2),
        "changed since revision 7: memory limit of app 512Mi → 128Mi; image of app shop/api:a1b2 → shop/api:c3d4; and 2 more"
    );
}

#[test]
fn env_changes_name_sources_never_values() {
    let old = template("a", "1Gi", "/");
    let mut new = old.clone();
    new["spec"]["containers"][0]["env"] = json!([
        {"name": "MODE", "value": "debug-with-s3cr3t"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db2", "key": "password"}}},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}
    ]);
    let c = changes(&old, &new);
    assert_eq!(
        texts(&c),
        [
            "env MODE of app: a literal value changed",
            "env DB_PASSWORD of app from Secret db/password → Secret db2/password",
            "env TOKEN of app added (from Secret api/token)",
        ]
    );
    assert!(
        c.iter()
            .all(|c| !c.text.contains("s3cr3t") && !c.text.contains("prod"))
    );
}

#[test]
fn pod_level_fields() {
    let old = template("a", "1Gi", "/");
    let mut new = old.clone();
    new["spec"]["serviceAccountName"] = json!("api");
    new["spec"]["nodeSelector"] = json!({"disktype": "ssd"});
    new["spec"]["tolerations"] =
        json!([{"key": "dedicated", "operator": "Equal", "value": "api", "effect": "NoSchedule"}]);
    new["spec"]["volumes"] =
        json!([{"name": "config", "configMap": {"name": "api-config", "defaultMode": 420}}]);
    new["spec"]["containers"][0]["command"] = json!(["/app", "--serve"]);
    let c = changes(&old, &new);
    assert_eq!(
        texts(&c),
        [
            "command of app (image default) → [/app --serve]",
            "volume config added (configMap api-config)",
            "service account default → api",
            "node selector (none) → {disktype=ssd}",
            "tolerations +dedicated=api:NoSchedule",
        ]
    );
    let sched = rank(c, &["pod.unschedulable.node-selector"]);
    assert!(sched[0].text.starts_with("node selector"));
}
