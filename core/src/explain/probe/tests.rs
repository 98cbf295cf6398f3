//! The probe's plan from a Service, Endpoints and pods as the API server serves
//! them, its pod, and its output (what curl and sh print) read back.

use super::*;
use crate::explain::Index;

fn world() -> Index {
    Index::build(vec![
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop", "uid": "s1"},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.12.7", "clusterIPs": ["10.96.12.7"], "selector": {"app": "web"},
                "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80}]}}),
        json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "web", "namespace": "shop"},
            "subsets": [{"addresses": [{"ip": "10.244.0.15", "nodeName": "n1",
                            "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "shop", "uid": "p1"}}],
                         "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]}),
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "p1", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "web:1", "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": "10.244.0.15", "podIPs": [{"ip": "10.244.0.15"}]}}),
    ])
}

fn checks() -> Vec<Check> {
    let ix = world();
    let svc = ix.get("Service", Some("shop"), "web").unwrap();
    plan(svc, &ix)
}

#[test]
fn plans_dns_then_cluster_ip_then_each_endpoint_then_declared_ports() {
    let c = checks();
    let urls: Vec<(Layer, &str)> = c.iter().map(|c| (c.layer, c.url.as_str())).collect();
    assert_eq!(
        urls,
        [
            (Layer::Dns, "http://web.shop.svc:80/"),
            (Layer::ClusterIp, "http://10.96.12.7:80/"),
            (Layer::Endpoint, "http://10.244.0.15:80/"),
            (Layer::DeclaredPort, "http://10.244.0.15:8080/"),
        ]
    );
}

/// What the pod prints for the plan above on a cluster whose app listens on 8080
/// while the Service targets 80 (curl 8.11: exit 7 on a refused connection).
const MISTARGETED: &str = "STEP 0\nHTTP 000 TOTAL 0.003114\nEXIT 7\nSTEP 1\nHTTP 000 TOTAL 0.001020\nEXIT 7\nSTEP 2\nHTTP 000 TOTAL 0.000870\nEXIT 7\nSTEP 3\nHTTP 200 TOTAL 0.004521\nEXIT 0\nDONE\n";

#[test]
fn reads_the_output_and_names_the_wrong_target_port() {
    let c = checks();
    let out = parse(&c, MISTARGETED);
    assert_eq!(out.len(), 4);
    assert_eq!(out[3].http, Some(200));
    assert_eq!(out[3].millis, 5);
    assert!(out[0].resolved() && !out[0].connected());
    let v = verdict(&out).unwrap();
    assert!(
        v.contains("one answers at http://10.244.0.15:8080/: the targetPort is wrong"),
        "{v}"
    );
    let ev = evidence("web", &out);
    assert_eq!(ev.len(), 5);
    assert!(
        ev[3]
            .note
            .as_deref()
            .unwrap()
            .contains("endpoint http://10.244.0.15:80/: TCP connection refused or unreachable"),
        "{:?}",
        ev[3]
    );
}

#[test]
fn each_layer_failing_alone_is_named() {
    let c = checks();
    // No cluster DNS (curl exit 6), the rest answers.
    let dns = "STEP 0\nHTTP 000 TOTAL 0.000\nEXIT 6\nSTEP 1\nHTTP 200 TOTAL 0.002\nEXIT 0\nSTEP 2\nHTTP 200 TOTAL 0.002\nEXIT 0\n";
    assert!(
        verdict(&parse(&c, dns))
            .unwrap()
            .contains("does not resolve")
    );
    // No Service routing (kube-proxy absent): the ClusterIP times out (exit 28).
    let proxy = "STEP 0\nHTTP 000 TOTAL 2.001\nEXIT 28\nSTEP 1\nHTTP 000 TOTAL 2.001\nEXIT 28\nSTEP 2\nHTTP 200 TOTAL 0.002\nEXIT 0\n";
    assert!(
        verdict(&parse(&c, proxy))
            .unwrap()
            .contains("not through the ClusterIP")
    );
    // Everything answers (a 404 is an answer).
    let ok = "STEP 0\nHTTP 404 TOTAL 0.01\nEXIT 0\nSTEP 1\nHTTP 404 TOTAL 0.01\nEXIT 0\nSTEP 2\nHTTP 404 TOTAL 0.01\nEXIT 0\n";
    assert_eq!(verdict(&parse(&c, ok)), None);
    // A truncated log (the pod was stopped): the checks that ran, no invention.
    let cut = parse(&c, "STEP 0\nHTTP 200 TOTAL 0.01\nEXIT 0\nSTEP 1\n");
    assert_eq!(cut.len(), 2);
    assert_eq!(cut[1].exit, -1);
}

#[test]
fn the_script_frames_every_check_and_the_pod_is_locked_down() {
    let c = checks();
    let s = script(&c, 2);
    assert_eq!(s.matches("curl -sS").count(), 4);
    assert!(s.contains("echo 'STEP 3'"));
    assert!(s.contains("--connect-timeout 2 --max-time 3"));
    let p = pod("mosaic-probe-abc", "shop", DEFAULT_IMAGE, &s, 60);
    assert_eq!(p["metadata"]["labels"][LABEL], "true");
    assert_eq!(p["spec"]["automountServiceAccountToken"], false);
    assert_eq!(p["spec"]["securityContext"]["runAsNonRoot"], true);
    assert_eq!(p["spec"]["activeDeadlineSeconds"], 60);
    let c0 = &p["spec"]["containers"][0];
    assert_eq!(c0["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c0["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(c0["resources"]["limits"]["memory"], "32Mi");
    assert!(DEFAULT_IMAGE.contains("@sha256:"));
    // It parses as a Pod.
    let _: k8s_openapi::api::core::v1::Pod = serde_json::from_value(p).unwrap();
}
