use super::*;
use serde_json::{Value, json};

fn meta(kind: &str, name: &str, uid: &str, owner: Option<(&str, &str, &str)>) -> Value {
    let mut m = json!({"name": name, "namespace": "ns", "uid": uid});
    if let Some((k, n, u)) = owner {
        m["ownerReferences"] = json!([{"kind": k, "name": n, "uid": u, "controller": true}]);
    }
    json!({"kind": kind, "metadata": m})
}

fn world() -> Vec<Value> {
    let mut dep = meta("Deployment", "api", "d1", None);
    dep["metadata"]["namespace"] = json!("ns");
    let mut rs_old = meta(
        "ReplicaSet",
        "api-1",
        "r1",
        Some(("Deployment", "api", "d1")),
    );
    rs_old["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "9"});
    let mut rs_new = meta(
        "ReplicaSet",
        "api-2",
        "r2",
        Some(("Deployment", "api", "d1")),
    );
    rs_new["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "10"});
    let mut old_pod = meta("Pod", "api-1-a", "p1", Some(("ReplicaSet", "api-1", "r1")));
    old_pod["metadata"]["labels"] = json!({"app": "api"});
    let mut new_pod = meta("Pod", "api-2-a", "p2", Some(("ReplicaSet", "api-2", "r2")));
    new_pod["metadata"]["labels"] = json!({"app": "api"});
    new_pod["spec"] = json!({"nodeName": "n1", "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]});
    let mut svc = meta("Service", "api", "s1", None);
    svc["spec"] = json!({"selector": {"app": "api"}});
    let mut other_svc = meta("Service", "web", "s2", None);
    other_svc["spec"] = json!({"selector": {"app": "web"}});
    let mut web_pod = meta("Pod", "web-a", "p3", None);
    web_pod["metadata"]["labels"] = json!({"app": "web"});
    vec![
        dep,
        rs_old,
        rs_new,
        old_pod,
        new_pod,
        svc,
        other_svc,
        web_pod,
        meta("Endpoints", "api", "e1", None),
        meta("PersistentVolumeClaim", "data", "c1", None),
        json!({"kind": "Node", "metadata": {"name": "n1", "uid": "n1"}}),
        json!({"kind": "Node", "metadata": {"name": "n2", "uid": "n2"}}),
        json!({"kind": "Event", "involvedObject": {"kind": "Pod", "name": "api-2-a", "namespace": "ns", "uid": "p2"}, "reason": "BackOff"}),
        json!({"kind": "Event", "involvedObject": {"kind": "Pod", "name": "api-1-a", "namespace": "ns"}, "reason": "Old"}),
        json!({"kind": "Event", "involvedObject": {"kind": "Node", "name": "n1"}, "metadata": {"namespace": "default"}, "reason": "NodeNotReady"}),
    ]
}

fn names(input: &mosaic_core::explain::Input) -> Vec<String> {
    let mut v: Vec<String> = input
        .objects()
        .iter()
        .map(|o| {
            let k = o["kind"].as_str().unwrap();
            format!("{k}/{}", o["metadata"]["name"].as_str().unwrap())
        })
        .chain(input.events().map(|e| format!("Event:{}", e.reason)))
        .collect();
    v.sort();
    v
}

#[test]
fn deployment_follows_newest_replicaset_and_everything_its_pods_touch() {
    let t = parse_target("deploy/api").unwrap();
    let sel = select(world(), &t, Some("ns")).unwrap();
    let mut involved: Vec<String> = sel
        .involved
        .iter()
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect();
    involved.sort();
    assert_eq!(
        involved,
        [
            "Deployment/api",
            "Endpoints/api",
            "Node/n1",
            "PersistentVolumeClaim/data",
            "Pod/api-2-a",
            "ReplicaSet/api-2",
            "Service/api"
        ]
    );
    // The old ReplicaSet's pod is context for the Service rules, and its events are kept with
    // it; the old ReplicaSet itself is context too (not involved): "what changed" compares its
    // pod template with the newest one's.
    let got = names(&sel.objects);
    assert!(got.contains(&"Pod/api-1-a".to_string()), "{got:?}");
    assert!(got.contains(&"ReplicaSet/api-1".to_string()), "{got:?}");
    assert!(
        got.contains(&"Event:BackOff".to_string())
            && got.contains(&"Event:NodeNotReady".to_string()),
        "{got:?}"
    );
}

#[test]
fn service_reaches_its_pods_but_not_other_services() {
    let t = parse_target("svc/api").unwrap();
    let got = names(&select(world(), &t, Some("ns")).unwrap().objects);
    assert!(
        got.contains(&"Pod/api-1-a".to_string()) && got.contains(&"Pod/api-2-a".to_string()),
        "{got:?}"
    );
    assert!(!got.contains(&"Service/web".to_string()), "{got:?}");
    assert!(!got.contains(&"Deployment/api".to_string()), "{got:?}");
}

#[test]
fn missing_target_and_wrong_namespace_are_errors() {
    assert!(select(world(), &parse_target("deploy/nope").unwrap(), Some("ns")).is_none());
    assert!(select(world(), &parse_target("deploy/api").unwrap(), Some("other")).is_none());
    // A bare TYPE with no match is not an error: nothing to explain.
    assert!(
        select(world(), &parse_target("job").unwrap(), Some("ns"))
            .unwrap()
            .objects
            .is_empty()
    );
}

#[test]
fn target_parsing() {
    let t = parse_target("deployments.apps/api").unwrap();
    assert_eq!(
        (t.kind.kind, t.name.as_deref()),
        ("Deployment", Some("api"))
    );
    assert_eq!(t.label(), "deployments.apps \"api\"");
    assert_eq!(parse_target("pods").unwrap().name, None);
    assert!(parse_target("deploy/").unwrap_err().contains("TYPE/NAME"));
    assert!(parse_target("a/b/c").is_err());
    assert!(
        parse_target("widget/x")
            .unwrap_err()
            .contains("unknown resource type \"widget\"")
    );
}

#[test]
fn an_unschedulable_pod_brings_every_node_as_context() {
    let mut objs = world();
    let pending = objs
        .iter_mut()
        .find(|o| o["metadata"]["name"] == "api-2-a")
        .unwrap();
    pending["spec"] = json!({});
    pending["status"] = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
        "reason": "Unschedulable", "message": "0/2 nodes are available: 2 node(s) were unschedulable."}]});
    let sel = select(
        objs.clone(),
        &parse_target("deploy/api").unwrap(),
        Some("ns"),
    )
    .unwrap();
    let got = names(&sel.objects);
    assert!(
        got.contains(&"Node/n1".to_string()) && got.contains(&"Node/n2".to_string()),
        "{got:?}"
    );
    assert!(
        !sel.involved.iter().any(|r| r.kind == "Node"),
        "nodes are context, their own findings are not the deployment's"
    );
    // Explaining a node brings the pods left Pending as context for its cordon.
    let sel = select(objs, &parse_target("node/n2").unwrap(), None).unwrap();
    assert!(names(&sel.objects).contains(&"Pod/api-2-a".to_string()));
}

#[test]
fn a_statefulset_brings_its_revisions_as_context() {
    let sts = meta("StatefulSet", "db", "s1", None);
    let cr = meta(
        "ControllerRevision",
        "db-7f9c6d5b8",
        "c1",
        Some(("StatefulSet", "db", "s1")),
    );
    let other = meta("ControllerRevision", "web-1", "c2", None);
    let sel = select(
        vec![sts, cr, other],
        &parse_target("sts/db").unwrap(),
        Some("ns"),
    )
    .unwrap();
    let got = names(&sel.objects);
    assert!(
        got.contains(&"ControllerRevision/db-7f9c6d5b8".to_string()),
        "{got:?}"
    );
    assert!(
        !got.contains(&"ControllerRevision/web-1".to_string()),
        "{got:?}"
    );
}
