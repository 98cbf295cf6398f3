use crate::testing::{run, slugs};
use serde_json::{Value, json};

fn svc(selector: Value, target_port: Value) -> Value {
    json!({"kind": "Service", "apiVersion": "v1", "metadata": {"name": "api", "namespace": "ns", "uid": "s1"},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": target_port}]}})
}

fn pod(name: &str, labels: Value, ready: bool, ports: Value) -> Value {
    json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name, "namespace": "ns", "uid": format!("u-{name}"), "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "a:1", "ports": ports}]},
        "status": {"phase": "Running", "podIP": "10.0.0.1",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
}

fn endpoints(ready: usize, not_ready: usize) -> Value {
    let addr = |n: usize| {
        (0..n)
            .map(|i| json!({"ip": format!("10.0.0.{i}")}))
            .collect::<Vec<_>>()
    };
    let subsets = if ready + not_ready == 0 {
        json!([])
    } else {
        json!([{"addresses": addr(ready), "notReadyAddresses": addr(not_ready)}])
    };
    json!({"kind": "Endpoints", "apiVersion": "v1", "metadata": {"name": "api", "namespace": "ns"}, "subsets": subsets})
}

#[test]
fn selector_typo_shows_the_closest_pod() {
    let objs = vec![
        svc(json!({"app": "api", "tier": "web"}), json!(8080)),
        pod(
            "api-1",
            json!({"app": "api", "tier": "backend"}),
            true,
            json!([]),
        ),
        endpoints(0, 0),
    ];
    let f = run("service.selector-matches-nothing", objs.clone());
    assert_eq!(f.len(), 1);
    assert!(
        f[0].evidence.iter().any(|e| e
            .value
            .as_deref()
            .is_some_and(|v| v.contains("tier=backend"))),
        "{:?}",
        f[0].evidence
    );
    // The specific cause supersedes the generic one.
    let s = slugs(objs);
    assert!(
        s.contains(&"service.selector-matches-nothing".to_string())
            && !s.contains(&"service.no-endpoints".to_string()),
        "{s:?}"
    );
}

#[test]
fn selector_near_misses() {
    let matching = vec![
        svc(json!({"app": "api"}), json!(8080)),
        pod("api-1", json!({"app": "api"}), true, json!([])),
    ];
    assert!(run("service.selector-matches-nothing", matching).is_empty());
    // A partial dump with no pods of the namespace proves nothing.
    assert!(
        run(
            "service.selector-matches-nothing",
            vec![svc(json!({"app": "api"}), json!(8080))]
        )
        .is_empty()
    );
    // A Service without selector is managed by hand.
    let manual = json!({"kind": "Service", "metadata": {"name": "ext", "namespace": "ns"}, "spec": {"ports": [{"port": 80}]}});
    assert!(
        run(
            "service.selector-matches-nothing",
            vec![manual.clone(), pod("x", json!({}), true, json!([]))]
        )
        .is_empty()
    );
    assert!(run("service.no-endpoints", vec![manual, endpoints(0, 0)]).is_empty());
}

#[test]
fn no_endpoints_with_matching_pending_pods() {
    let mut pending = pod("api-1", json!({"app": "api"}), false, json!([]));
    pending["status"] = json!({"phase": "Pending"});
    let f = run(
        "service.no-endpoints",
        vec![
            svc(json!({"app": "api"}), json!(8080)),
            pending,
            endpoints(0, 0),
        ],
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].fix.iter().any(|s| s.contains("pod/api-1")));
    assert!(
        run(
            "service.no-endpoints",
            vec![svc(json!({"app": "api"}), json!(8080)), endpoints(1, 0)]
        )
        .is_empty()
    );
}

#[test]
fn endpoints_not_ready_from_endpoints_and_from_pods() {
    let f = run(
        "service.endpoints-not-ready",
        vec![svc(json!({"app": "api"}), json!(8080)), endpoints(1, 1)],
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, crate::explain::Severity::Warning);
    let f = run(
        "service.endpoints-not-ready",
        vec![
            svc(json!({"app": "api"}), json!(8080)),
            pod("api-1", json!({"app": "api"}), false, json!([])),
        ],
    );
    assert_eq!(f[0].severity, crate::explain::Severity::Error);
    assert!(
        run(
            "service.endpoints-not-ready",
            vec![svc(json!({"app": "api"}), json!(8080)), endpoints(2, 0)]
        )
        .is_empty()
    );
}

#[test]
fn endpoint_slices_count_too() {
    let slice = json!({"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
        "metadata": {"name": "api-x1", "namespace": "ns", "labels": {"kubernetes.io/service-name": "api"}},
        "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": false}}]});
    assert_eq!(
        run(
            "service.endpoints-not-ready",
            vec![svc(json!({"app": "api"}), json!(8080)), slice]
        )
        .len(),
        1
    );
}

#[test]
fn named_target_port_must_be_declared() {
    let objs = vec![
        svc(json!({"app": "api"}), json!("http")),
        pod(
            "api-1",
            json!({"app": "api"}),
            true,
            json!([{"name": "web", "containerPort": 8080}]),
        ),
    ];
    let f = run("service.target-port-mismatch", objs);
    assert_eq!(f.len(), 1);
    assert!(!f[0].possible);
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.note.as_deref().is_some_and(|n| n.contains("web:8080"))),
        "{:?}",
        f[0].evidence
    );
}

#[test]
fn numeric_target_port_is_only_possible() {
    let objs = vec![
        svc(json!({"app": "api"}), json!(9090)),
        pod(
            "api-1",
            json!({"app": "api"}),
            true,
            json!([{"containerPort": 8080}]),
        ),
    ];
    let f = run("service.target-port-mismatch", objs);
    assert_eq!(f.len(), 1);
    assert!(f[0].possible);
}

#[test]
fn target_port_near_misses() {
    let ok_named = vec![
        svc(json!({"app": "api"}), json!("http")),
        pod(
            "a",
            json!({"app": "api"}),
            true,
            json!([{"name": "http", "containerPort": 80}]),
        ),
    ];
    assert!(run("service.target-port-mismatch", ok_named).is_empty());
    let undeclared = vec![
        svc(json!({"app": "api"}), json!(9090)),
        pod("a", json!({"app": "api"}), true, json!([])),
    ];
    assert!(
        run("service.target-port-mismatch", undeclared).is_empty(),
        "numeric ports need not be declared"
    );
}
