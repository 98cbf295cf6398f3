//! "What changed" for StatefulSets and DaemonSets, from ControllerRevisions as the
//! controllers write them (`revision`, `data.spec.template` with `$patch: replace`,
//! the hash labels), with pods labelled `controller-revision-hash`.

use serde_json::{Value, json};

use crate::explain::{Options, explain};

fn owner(kind: &str, name: &str, uid: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}])
}

fn template(app: &str, image: &str, memory: &str) -> Value {
    json!({"$patch": "replace", "metadata": {"labels": {"app": app}, "creationTimestamp": null},
        "spec": {"containers": [{"name": app, "image": image, "imagePullPolicy": "IfNotPresent",
            "resources": {"limits": {"memory": memory}}, "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File"}],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler"}})
}

fn revision(
    owner_kind: &str,
    owner_name: &str,
    owner_uid: &str,
    hash: &str,
    rev: i64,
    tpl: Value,
) -> Value {
    let label = if owner_kind == "StatefulSet" {
        "controller.kubernetes.io/hash"
    } else {
        "controller-revision-hash"
    };
    json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": format!("{owner_name}-{hash}"), "namespace": "ns", "uid": format!("cr-{hash}"),
            "creationTimestamp": format!("2026-12-06T1{rev}:00:00Z"),
            "labels": {"app": owner_name, label: hash}, "ownerReferences": owner(owner_kind, owner_name, owner_uid)},
        "data": {"spec": {"template": tpl}}, "revision": rev})
}

fn ready_pod(name: &str, app: &str, hash: &str, owner_ref: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "creationTimestamp": "2026-12-06T13:00:00Z",
            "labels": {"app": app, "controller-revision-hash": hash}, "ownerReferences": owner_ref},
        "spec": {"nodeName": "n1", "restartPolicy": "Always", "containers": [{"name": app, "image": "x"}]},
        "status": {"phase": "Running", "startTime": "2026-12-06T13:00:00Z",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-06T13:00:10Z"}],
            "containerStatuses": [{"name": app, "ready": true, "started": true, "restartCount": 0, "image": "x",
                "state": {"running": {"startedAt": "2026-12-06T13:00:05Z"}}}]}})
}

fn changed(findings: &[crate::explain::Finding], slug: &str) -> String {
    findings
        .iter()
        .find(|f| f.slug == slug)
        .unwrap_or_else(|| panic!("no {slug}: {findings:#?}"))
        .evidence
        .iter()
        .find_map(|e| e.note.clone().filter(|n| n.starts_with("changed since")))
        .unwrap_or_else(|| panic!("no what-changed line on {slug}"))
}

/// StatefulSet db mid-rollout: db-0 on the current revision (ready), db-1 on the
/// update revision, OOM-killed after its memory limit was lowered.
fn statefulset() -> Vec<Value> {
    let sts = owner("StatefulSet", "db", "s1");
    vec![
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "ns", "uid": "s1", "generation": 2, "creationTimestamp": "2026-12-06T11:00:00Z"},
            "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                "template": template("db", "pg:16.2", "128Mi"), "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}},
            "status": {"observedGeneration": 2, "replicas": 2, "readyReplicas": 1, "currentReplicas": 1, "updatedReplicas": 1,
                "availableReplicas": 1, "currentRevision": "db-7f9c6d5b8", "updateRevision": "db-5d4c8b7f6", "collisionCount": 0}}),
        revision(
            "StatefulSet",
            "db",
            "s1",
            "7f9c6d5b8",
            1,
            template("db", "pg:16.1", "512Mi"),
        ),
        revision(
            "StatefulSet",
            "db",
            "s1",
            "5d4c8b7f6",
            2,
            template("db", "pg:16.2", "128Mi"),
        ),
        ready_pod("db-0", "db", "db-7f9c6d5b8", sts.clone()),
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "db-1", "namespace": "ns", "uid": "uid-db-1", "creationTimestamp": "2026-12-06T12:00:00Z",
                "labels": {"app": "db", "controller-revision-hash": "db-5d4c8b7f6", "statefulset.kubernetes.io/pod-name": "db-1",
                           "apps.kubernetes.io/pod-index": "1"}, "ownerReferences": sts},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "containers": [{"name": "db", "image": "pg:16.2",
                "resources": {"limits": {"memory": "128Mi"}}}]},
            "status": {"phase": "Running", "startTime": "2026-12-06T12:00:00Z",
                "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2026-12-06T12:00:00Z",
                    "reason": "ContainersNotReady", "message": "containers with unready status: [db]"}],
                "containerStatuses": [{"name": "db", "ready": false, "started": false, "restartCount": 5, "image": "pg:16.2",
                    "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-12-06T12:09:00Z", "finishedAt": "2026-12-06T12:09:03Z"}},
                    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-12-06T12:06:00Z", "finishedAt": "2026-12-06T12:06:03Z"}}}]}}),
    ]
}

#[test]
fn statefulset_update_revision_against_the_current_one() {
    let r = explain(statefulset(), &Options::default());
    assert_eq!(
        changed(&r.findings, "pod.oom-killed"),
        "changed since revision 1: memory limit of db 512Mi → 128Mi; image of db pg:16.1 → pg:16.2"
    );
}

#[test]
fn no_what_changed_for_a_pod_of_the_old_revision_or_without_one() {
    let mut objs = statefulset();
    // The OOM-killed pod belongs to the current (old) revision: nothing to compare.
    objs[4]["metadata"]["labels"]["controller-revision-hash"] = json!("db-7f9c6d5b8");
    let r = explain(objs, &Options::default());
    assert!(r.findings.iter().any(|f| f.slug == "pod.oom-killed"));
    assert!(r.findings.iter().all(|f| {
        f.evidence
            .iter()
            .all(|e| !e.note.as_deref().unwrap_or("").starts_with("changed since"))
    }));
    // Only one revision.
    let objs: Vec<Value> = statefulset()
        .into_iter()
        .filter(|o| o["metadata"]["name"] != "db-7f9c6d5b8")
        .collect();
    let r = explain(objs, &Options::default());
    assert!(r.findings.iter().all(|f| {
        f.evidence
            .iter()
            .all(|e| !e.note.as_deref().unwrap_or("").starts_with("changed since"))
    }));
}

#[test]
fn daemonset_newest_revision_against_the_one_with_ready_pods() {
    let ds = owner("DaemonSet", "agent", "ds1");
    let objs = vec![
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "ns", "uid": "ds1", "generation": 4, "creationTimestamp": "2026-12-06T10:00:00Z"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent", "agent:2", "64Mi"),
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}},
            "status": {"currentNumberScheduled": 2, "numberMisscheduled": 0, "desiredNumberScheduled": 2, "numberReady": 1,
                "observedGeneration": 4, "updatedNumberScheduled": 1, "numberAvailable": 1, "numberUnavailable": 1}}),
        revision(
            "DaemonSet",
            "agent",
            "ds1",
            "5c7d8e9f4",
            2,
            template("agent", "agent:0", "64Mi"),
        ),
        revision(
            "DaemonSet",
            "agent",
            "ds1",
            "6b8f9c7d5",
            3,
            template("agent", "agent:1", "64Mi"),
        ),
        revision(
            "DaemonSet",
            "agent",
            "ds1",
            "7d9e0f1a6",
            4,
            template("agent", "agent:2", "64Mi"),
        ),
        ready_pod("agent-abcde", "agent", "6b8f9c7d5", ds.clone()),
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "agent-fghij", "namespace": "ns", "uid": "uid-agent-fghij", "creationTimestamp": "2026-12-06T14:00:00Z",
                "labels": {"app": "agent", "controller-revision-hash": "7d9e0f1a6", "pod-template-generation": "4"}, "ownerReferences": ds},
            "spec": {"nodeName": "n2", "restartPolicy": "Always", "containers": [{"name": "agent", "image": "agent:2"}]},
            "status": {"phase": "Pending", "startTime": "2026-12-06T14:00:00Z",
                "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2026-12-06T14:00:00Z", "reason": "ContainersNotReady"}],
                "containerStatuses": [{"name": "agent", "ready": false, "started": false, "restartCount": 0, "image": "agent:2", "imageID": "",
                    "state": {"waiting": {"reason": "ErrImagePull",
                        "message": "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/agent:2\": failed to resolve image: docker.io/library/agent:2: not found"}}}]}}),
    ];
    let r = explain(objs, &Options::default());
    assert_eq!(
        changed(&r.findings, "pod.image-pull.not-found"),
        "changed since revision 3: image of agent agent:1 → agent:2"
    );
}

/// A Deployment on revision 2 whose readiness probe path changed: its new pod runs
/// but never becomes ready (the kubelet's Unhealthy Events); revision 1 is available.
fn probe_rollout() -> Vec<Value> {
    let template = |image: &str, path: &str| {
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": image,
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "readinessProbe": {"httpGet": {"path": path, "port": 8080, "scheme": "HTTP"}, "periodSeconds": 1,
                "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 1}}], "restartPolicy": "Always"}})
    };
    vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "uid": "d1", "generation": 2, "creationTimestamp": "2026-12-06T17:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": template("reg/web@sha256:bb", "/ready")},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                "unavailableReplicas": 1,
                "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2026-12-06T17:01:00Z",
                    "lastTransitionTime": "2026-12-06T17:01:00Z", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "True", "lastUpdateTime": "2026-12-06T18:00:00Z",
                    "lastTransitionTime": "2026-12-06T17:00:00Z", "reason": "ReplicaSetUpdated", "message": "ReplicaSet \"web-new\" is progressing."}]}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-old", "namespace": "ns", "uid": "r1", "creationTimestamp": "2026-12-06T17:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "1"}, "ownerReferences": owner("Deployment", "web", "d1")},
            "spec": {"replicas": 1, "template": template("reg/web@sha256:aa", "/healthz")},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "fullyLabeledReplicas": 1, "observedGeneration": 1}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-new", "namespace": "ns", "uid": "r2", "creationTimestamp": "2026-12-06T18:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "2"}, "ownerReferences": owner("Deployment", "web", "d1")},
            "spec": {"replicas": 1, "template": template("reg/web@sha256:bb", "/ready")},
            "status": {"replicas": 1, "fullyLabeledReplicas": 1, "observedGeneration": 1}}),
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-new-x", "namespace": "ns", "uid": "p1", "creationTimestamp": "2026-12-06T18:00:00Z",
                "labels": {"app": "web"}, "ownerReferences": owner("ReplicaSet", "web-new", "r2")},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "containers": [{"name": "app", "image": "reg/web@sha256:bb",
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 1,
                    "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 1}}]},
            "status": {"phase": "Running", "startTime": "2026-12-06T18:00:00Z",
                "conditions": [{"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": "2026-12-06T18:00:00Z",
                    "reason": "ContainersNotReady", "message": "containers with unready status: [app]"}],
                "containerStatuses": [{"name": "app", "ready": false, "started": true, "restartCount": 0, "image": "reg/web@sha256:bb",
                    "state": {"running": {"startedAt": "2026-12-06T18:00:02Z"}}}]}}),
        json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web-new-x.1", "namespace": "ns", "creationTimestamp": "2026-12-06T18:00:03Z"},
            "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "web-new-x", "uid": "p1", "apiVersion": "v1",
                "fieldPath": "spec.containers{app}"},
            "reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed with statuscode: 404",
            "source": {"component": "kubelet", "host": "n1"}, "firstTimestamp": "2026-12-06T18:00:03Z",
            "lastTimestamp": "2026-12-06T18:05:00Z", "count": 290, "type": "Warning"}),
    ]
}

fn rollout_clause(objects: Vec<Value>) -> Option<String> {
    let index = crate::explain::Index::build(objects);
    let opts = Options::default();
    let report = crate::explain::explain_index(&index, &crate::explain::Ctx::new(&index, &opts));
    crate::explain::since_for(&index, &report.findings).and_then(|s| s.rollout_clause())
}

#[test]
fn a_rollout_failure_names_the_change_that_relates_to_it() {
    assert_eq!(
        rollout_clause(probe_rollout()).as_deref(),
        Some(
            "failed since this rollout changed the readiness probe of app GET /healthz:8080 → GET /ready:8080 (against revision 1)"
        )
    );
}

#[test]
fn a_rollout_failure_with_no_related_change_claims_no_cause() {
    // Only the image changed; a readiness failure is not an image's doing.
    let mut objs = probe_rollout();
    objs[1]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] =
        json!("/ready");
    assert_eq!(
        rollout_clause(objs).as_deref(),
        Some(
            "this rollout changed the image of app reg/web@sha256:aa → reg/web@sha256:bb (against revision 1)"
        )
    );
    // Without the older revision there is nothing to compare.
    let objs: Vec<Value> = probe_rollout()
        .into_iter()
        .filter(|o| o["metadata"]["name"] != "web-old")
        .collect();
    assert_eq!(rollout_clause(objs), None);
}
