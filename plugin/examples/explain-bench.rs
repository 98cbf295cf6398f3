//! Benchmark helper for `kubectl mosaic explain` (driven by `scripts/bench-explain`).
//!
//! `explain-bench gen DIR [NAMESPACES]` writes a synthetic `kubectl cluster-info dump
//! --output-directory` tree: per namespace (20 by default) 50 Deployments, 50
//! ReplicaSets, 250 Pods (about one in eight broken: crash loops, image pulls,
//! unschedulable, OOM kills), 25 Services with their Endpoints and 1,000 Events, and
//! 20 Nodes at the top: 28,020 objects for 20 namespaces, 102,220 for 73.
//! `explain-bench parse DIR` reads and parses it exactly as `explain -f DIR` does and
//! prints the parse time in milliseconds (the floor explain is compared with).
//! `explain-bench phases DIR` prints where explain's time goes (parse, engine, render).

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

const NAMESPACES: usize = 20;
const DEPLOYMENTS_PER_NS: usize = 50; // 1,000 Deployments and ReplicaSets
const PODS_PER_RS: usize = 5; // 5,000 pods
const SERVICES_PER_NS: usize = 25; // 500 Services
const EVENTS_PER_POD: usize = 4; // 20,000 events
const NODES: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("gen"), Some(dir)) => {
            let namespaces = match args.get(3).map(|n| n.parse::<usize>()) {
                None => NAMESPACES,
                Some(Ok(n)) if n > 0 => n,
                Some(_) => {
                    eprintln!("error: NAMESPACES must be a positive number");
                    std::process::exit(2)
                }
            };
            generate(Path::new(dir), namespaces)
        }
        (Some("parse"), Some(dir)) => {
            let start = Instant::now();
            let objects = kubectl_mosaic::explain::ingest::read_path(Path::new(dir))
                .unwrap_or_else(|e| {
                    eprintln!("error: {e}");
                    std::process::exit(2)
                });
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            eprintln!("parsed {} objects", objects.len());
            println!("{ms:.1}");
        }
        (Some("phases"), Some(dir)) => phases(Path::new(dir)),
        _ => {
            eprintln!(
                "usage: explain-bench gen DIR [NAMESPACES] | explain-bench parse DIR | explain-bench phases DIR"
            );
            std::process::exit(2);
        }
    }
}

/// Where the time goes: parse, engine, render (milliseconds, one line).
fn phases(dir: &Path) {
    let t = Instant::now();
    let objects = kubectl_mosaic::explain::ingest::read_path(dir).expect("readable dump");
    let parse = t.elapsed();
    if std::env::var_os("EXPLAIN_BENCH_RULES").is_some() {
        rule_profile(objects.clone());
    }
    let t = Instant::now();
    let report = mosaic_core::explain::explain(objects, &mosaic_core::explain::Options::default());
    let engine = t.elapsed();
    let t = Instant::now();
    let out = kubectl_mosaic::explain::render::render(
        &report.findings,
        &report.notes,
        kubectl_mosaic::explain::render::Format::Json,
        false,
        false,
    );
    let render = t.elapsed();
    println!(
        "parse {:.0} ms, engine {:.0} ms, render {:.0} ms ({} findings, {} bytes)",
        parse.as_secs_f64() * 1e3,
        engine.as_secs_f64() * 1e3,
        render.as_secs_f64() * 1e3,
        report.findings.len(),
        out.len()
    );
}

/// Index build time and the slowest rules (to point at engine hot spots).
fn rule_profile(objects: Vec<Value>) {
    use mosaic_core::explain::{Ctx, Index, rules};
    let t = Instant::now();
    let ix = Index::build(objects);
    eprintln!("index build {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let ctx = Ctx::new(&ix, &mosaic_core::explain::Options::default());
    let mut times: Vec<(f64, &str)> = rules::all()
        .iter()
        .map(|r| {
            let t = Instant::now();
            for o in ix
                .objects()
                .iter()
                .filter(|o| r.kinds.contains(&o.kind.as_str()))
            {
                std::hint::black_box((r.check)(o, &ix, &ctx));
            }
            (t.elapsed().as_secs_f64() * 1e3, r.slug)
        })
        .collect();
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = times.iter().map(|t| t.0).sum();
    eprintln!("rules total {total:.0} ms; slowest: {:?}", &times[..6]);
}

fn ts(minute: usize) -> String {
    format!(
        "2026-11-20T{:02}:{:02}:{:02}Z",
        8 + minute / 60 % 12,
        minute % 60,
        minute * 7 % 60
    )
}

fn list(kind: &str, items: Vec<Value>) -> String {
    serde_json::to_string_pretty(&json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}))
        .expect("serialisable")
}

fn node(i: usize) -> Value {
    json!({"kind": "Node", "apiVersion": "v1",
        "metadata": {"name": format!("node-{i:02}"), "uid": format!("node-uid-{i}"), "creationTimestamp": ts(0),
            "labels": {"kubernetes.io/hostname": format!("node-{i:02}"), "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
        "spec": {"podCIDR": format!("10.244.{i}.0/24")},
        "status": {"capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"}, "allocatable": {"cpu": "7800m", "memory": "31Gi", "pods": "110"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "lastHeartbeatTime": ts(600)},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "lastHeartbeatTime": ts(600)},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "lastHeartbeatTime": ts(600)},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": ts(600)}],
            "nodeInfo": {"kubeletVersion": "v1.31.2", "containerRuntimeVersion": "containerd://1.7.22", "osImage": "Debian GNU/Linux 12"}}})
}

/// The state of pod `k`: healthy most of the time, otherwise one of four failures.
fn pod_status(k: usize, image: &str) -> (Value, Vec<(&'static str, &'static str, String)>) {
    let ready = |r: bool| {
        json!([{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": if r { "True" } else { "False" }},
        {"type": "ContainersReady", "status": if r { "True" } else { "False" }}, {"type": "PodScheduled", "status": "True"}])
    };
    let running = json!({"running": {"startedAt": ts(100)}});
    match k % 8 {
        1 => (
            json!({"phase": "Running", "conditions": ready(false), "podIP": "10.244.0.9", "containerStatuses": [{"name": "app", "image": image, "ready": false, "restartCount": 9,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ts(590)}}}]}),
            vec![
                (
                    "BackOff",
                    "Warning",
                    "Back-off restarting failed container app".into(),
                ),
                ("Started", "Normal", "Started container app".into()),
            ],
        ),
        2 => (
            json!({"phase": "Pending", "conditions": ready(false), "containerStatuses": [{"name": "app", "image": image, "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}}}]}),
            vec![
                (
                    "Failed",
                    "Warning",
                    format!(
                        "Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
                    ),
                ),
                (
                    "BackOff",
                    "Normal",
                    format!("Back-off pulling image \"{image}\""),
                ),
            ],
        ),
        3 if k % 16 == 3 => (
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/20 nodes are available: 20 Insufficient memory. preemption: 0/20 nodes are available: 20 No preemption victims found for incoming pod."}]}),
            vec![(
                "FailedScheduling",
                "Warning",
                "0/20 nodes are available: 20 Insufficient memory.".into(),
            )],
        ),
        4 if k % 16 == 4 => (
            json!({"phase": "Running", "conditions": ready(false), "podIP": "10.244.0.7", "containerStatuses": [{"name": "app", "image": image, "ready": false, "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": ts(595)}}}]}),
            vec![(
                "BackOff",
                "Warning",
                "Back-off restarting failed container app".into(),
            )],
        ),
        _ => (
            json!({"phase": "Running", "conditions": ready(true), "podIP": format!("10.244.{}.{}", k % 20, k % 250), "hostIP": "192.168.0.10",
                "startTime": ts(90), "qosClass": "Burstable",
                "containerStatuses": [{"name": "app", "image": image, "imageID": format!("{image}@sha256:{:064x}", k), "ready": true, "started": true,
                    "restartCount": 0, "state": running}]}),
            vec![
                ("Scheduled", "Normal", "Successfully assigned pod".into()),
                (
                    "Pulled",
                    "Normal",
                    format!("Container image \"{image}\" already present on machine"),
                ),
            ],
        ),
    }
}

fn generate(dir: &Path, namespaces: usize) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    std::fs::write(
        dir.join("nodes.json"),
        list("Node", (0..NODES).map(node).collect()),
    )
    .expect("write nodes");
    let mut k = 0usize;
    for n in 0..namespaces {
        let ns = format!("team-{n:02}");
        let nsdir = dir.join(&ns);
        std::fs::create_dir_all(&nsdir).expect("mkdir");
        let (mut deps, mut rss, mut pods, mut events, mut svcs, mut eps) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for d in 0..DEPLOYMENTS_PER_NS {
            let app = format!("app-{d:02}");
            let (duid, rsuid) = (format!("{ns}-d-{d}"), format!("{ns}-rs-{d}"));
            let rs_name = format!("{app}-7d9c{d:02}f5b");
            let image = format!("registry.example.com/{ns}/{app}:1.{d}.0");
            let labels = json!({"app": app, "team": ns});
            let template = json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image,
                "ports": [{"name": "http", "containerPort": 8080}], "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8080"}],
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}}]}});
            deps.push(json!({"kind": "Deployment", "apiVersion": "apps/v1",
                "metadata": {"name": app, "namespace": ns, "uid": duid, "creationTimestamp": ts(10), "generation": 2,
                    "annotations": {"deployment.kubernetes.io/revision": "2"}, "labels": labels},
                "spec": {"replicas": PODS_PER_RS, "selector": {"matchLabels": labels}, "template": template, "progressDeadlineSeconds": 600},
                "status": {"observedGeneration": 2, "replicas": PODS_PER_RS, "readyReplicas": PODS_PER_RS - 1, "availableReplicas": PODS_PER_RS - 1,
                    "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "lastUpdateTime": ts(20)},
                        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "lastUpdateTime": ts(20)}]}}));
            rss.push(json!({"kind": "ReplicaSet", "apiVersion": "apps/v1",
                "metadata": {"name": rs_name, "namespace": ns, "uid": rsuid, "creationTimestamp": ts(10), "labels": labels,
                    "annotations": {"deployment.kubernetes.io/revision": "2"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": duid, "controller": true}]},
                "spec": {"replicas": PODS_PER_RS, "selector": {"matchLabels": labels}, "template": template},
                "status": {"replicas": PODS_PER_RS, "readyReplicas": PODS_PER_RS - 1, "availableReplicas": PODS_PER_RS - 1, "observedGeneration": 2}}));
            let mut addresses = vec![];
            for p in 0..PODS_PER_RS {
                k += 1;
                let name = format!("{rs_name}-{p:05x}");
                let puid = format!("{ns}-p-{d}-{p}");
                let (mut status, evs) = pod_status(k, &image);
                status["hostIP"] = json!("192.168.0.10");
                if let Some(ip) = status.get("podIP").and_then(Value::as_str) {
                    addresses.push(json!({"ip": ip, "targetRef": {"kind": "Pod", "name": name, "namespace": ns, "uid": puid}}));
                }
                let mut spec = template["spec"].clone();
                if status["phase"] != "Pending" || status.get("containerStatuses").is_some() {
                    spec["nodeName"] = json!(format!("node-{:02}", k % NODES));
                }
                spec["volumes"] = json!([{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]);
                pods.push(json!({"kind": "Pod", "apiVersion": "v1",
                    "metadata": {"name": name, "namespace": ns, "uid": puid, "creationTimestamp": ts(30), "labels": labels,
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rsuid, "controller": true}]},
                    "spec": spec, "status": status}));
                for e in 0..EVENTS_PER_POD {
                    let (reason, type_, message) = &evs[e % evs.len()];
                    events.push(json!({"kind": "Event", "apiVersion": "v1",
                        "metadata": {"name": format!("{name}.{e:x}"), "namespace": ns, "creationTimestamp": ts(40 + e)},
                        "involvedObject": {"kind": "Pod", "name": name, "namespace": ns, "uid": puid, "apiVersion": "v1", "fieldPath": "spec.containers{app}"},
                        "reason": reason, "type": type_, "message": message, "count": 1 + e * 3,
                        "source": {"component": "kubelet", "host": format!("node-{:02}", k % NODES)},
                        "firstTimestamp": ts(40), "lastTimestamp": ts(500 + e)}));
                }
            }
            if d < SERVICES_PER_NS {
                svcs.push(json!({"kind": "Service", "apiVersion": "v1",
                    "metadata": {"name": app, "namespace": ns, "uid": format!("{ns}-s-{d}"), "creationTimestamp": ts(10)},
                    "spec": {"type": "ClusterIP", "clusterIP": format!("10.96.{n}.{d}"), "selector": labels,
                        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]}}));
                eps.push(json!({"kind": "Endpoints", "apiVersion": "v1", "metadata": {"name": app, "namespace": ns},
                    "subsets": [{"addresses": addresses, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}));
            }
        }
        for (file, kind, items) in [
            ("deployments.json", "Deployment", deps),
            ("replicasets.json", "ReplicaSet", rss),
            ("pods.json", "Pod", pods),
            ("events.json", "Event", events),
            ("services.json", "Service", svcs),
            ("endpoints.json", "Endpoints", eps),
        ] {
            std::fs::write(nsdir.join(file), list(kind, items)).expect("write list");
        }
    }
    eprintln!("wrote {} pods under {}", k, dir.display());
}
