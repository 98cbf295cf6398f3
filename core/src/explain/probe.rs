//! The cURL probe of a Service, the pure half: which checks to run from inside the
//! cluster (DNS of the Service name, then TCP+HTTP to the ClusterIP on each port,
//! then to each ready endpoint directly, and to the ports its pods declare when
//! they differ from the target port), the short-lived pod that runs them (no token,
//! non-root, read-only root, limits, a deadline, Mosaic's probe label), and reading
//! its output back into results, a verdict naming the layer that fails, and evidence.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::tree::Value;

use super::finding::Evidence;
use super::index::{Index, Obj};
use super::value::str_at;

/// The label every probe pod carries (value `"true"`): how the next run finds
/// pods a killed plugin left behind.
pub const LABEL: &str = "mosaic.nectar.dev/probe";
/// The annotation on a probe pod that says (RFC 3339, the creating client's clock)
/// when the run that created it will have deleted it at the latest. A probe pod
/// still there after that was left behind by a killed run.
pub const EXPIRES: &str = "mosaic.nectar.dev/probe-expires";
/// The default probe image: curl on a small base, pinned by digest. Clusters that
/// cannot pull it name their mirror with `--probe-image`.
pub const DEFAULT_IMAGE: &str = "docker.io/curlimages/curl:8.11.1@sha256:c1fe1679c34d9784c1b0d1e5f62ac0a79fca01fb6377cdd33e90473c6f9f9a69";

/// Which layer a check tests.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub enum Layer {
    /// The Service name through cluster DNS.
    Dns,
    /// The Service's ClusterIP and port (kube-proxy's rules).
    ClusterIp,
    /// A ready endpoint, directly, on the target port.
    Endpoint,
    /// A ready endpoint on a port its pod declares that is not the target port.
    DeclaredPort,
}

/// One check: a URL fetched with curl.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub layer: Layer,
    pub url: String,
}

/// What one check found.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub check: Check,
    /// curl's exit code (0 = an HTTP answer).
    pub exit: i32,
    /// The HTTP status, when one came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<u16>,
    /// Milliseconds for the whole check.
    pub millis: u64,
}

impl Outcome {
    /// The name resolved (anything but curl's "could not resolve host").
    pub fn resolved(&self) -> bool {
        self.exit != 6
    }
    /// A TCP connection was made.
    pub fn connected(&self) -> bool {
        !matches!(self.exit, 6 | 7 | 28)
    }
    /// An HTTP answer came back (any status).
    pub fn answered(&self) -> bool {
        self.exit == 0 && self.http.is_some_and(|c| c > 0)
    }

    /// `DNS web.shop.svc: resolved, HTTP 200 in 12 ms` and the like.
    pub fn describe(&self) -> String {
        let what = match self.exit {
            0 => match self.http {
                Some(c) if c >= 500 => format!("answers HTTP {c} (a server error)"),
                Some(c) if c > 0 => format!("answers HTTP {c}"),
                _ => "connects, no HTTP status".to_string(),
            },
            6 => "the name does not resolve".to_string(),
            7 => "TCP connection refused or unreachable (nothing listens there, or it is blocked)".to_string(),
            28 => "no answer before the timeout (dropped: a NetworkPolicy, no Service routing, or a stuck process)".to_string(),
            1 | 8 | 35 | 52 | 56 => "TCP connects, but it does not answer HTTP".to_string(),
            n => format!("curl failed with exit code {n}"),
        };
        format!(
            "{} {}: {what}, in {} ms",
            layer_name(self.check.layer),
            self.check.url,
            self.millis
        )
    }
}

fn layer_name(l: Layer) -> &'static str {
    match l {
        Layer::Dns => "DNS",
        Layer::ClusterIp => "ClusterIP",
        Layer::Endpoint => "endpoint",
        Layer::DeclaredPort => "declared port",
    }
}

/// The checks for Service `svc`, in the order they run.
pub fn plan(svc: &Obj, ix: &Index) -> Vec<Check> {
    let ns = svc.namespace.as_deref().unwrap_or("default");
    let ports = svc.arr("spec.ports");
    let port_of = |p: &Value| p.get("port").and_then(Value::as_i64);
    let mut out = Vec::new();
    if let Some(first) = ports.first().and_then(port_of) {
        out.push(Check {
            layer: Layer::Dns,
            url: format!("http://{}.{ns}.svc:{first}/", svc.name),
        });
    }
    let cluster_ip = svc
        .str("spec.clusterIP")
        .filter(|ip| !ip.is_empty() && *ip != "None");
    if let Some(ip) = cluster_ip {
        for p in ports.iter().filter_map(port_of) {
            out.push(Check {
                layer: Layer::ClusterIp,
                url: format!("http://{}:{p}/", host(ip)),
            });
        }
    }
    let (ready, target_ports) = endpoints(svc, ix);
    for ip in &ready {
        for p in &target_ports {
            out.push(Check {
                layer: Layer::Endpoint,
                url: format!("http://{}:{p}/", host(ip)),
            });
        }
    }
    // Ports the selected pods declare that no Service port targets: where a
    // mistargeted app may be listening.
    if let Some(sel) = svc.get("spec.selector") {
        let mut declared: Vec<(String, i64)> = ix
            .pods_selected(svc.namespace.as_deref(), sel)
            .filter_map(|p| Some((p.str("status.podIP")?.to_string(), p)))
            .filter(|(ip, _)| ready.contains(ip))
            .flat_map(|(ip, p)| {
                p.arr("spec.containers")
                    .iter()
                    .flat_map(|c| c.get("ports").and_then(Value::as_array).unwrap_or_default())
                    .filter_map(|cp| cp.get("containerPort").and_then(Value::as_i64))
                    .filter(|cp| !target_ports.contains(cp))
                    .map(|cp| (ip.clone(), cp))
                    .collect::<Vec<_>>()
            })
            .collect();
        declared.sort();
        declared.dedup();
        for (ip, p) in declared.into_iter().take(8) {
            out.push(Check {
                layer: Layer::DeclaredPort,
                url: format!("http://{}:{p}/", host(&ip)),
            });
        }
    }
    out
}

fn host(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

/// Ready endpoint addresses (at most 8) and the resolved target ports, from the
/// Endpoints object of the Service, else its EndpointSlices.
fn endpoints(svc: &Obj, ix: &Index) -> (Vec<String>, Vec<i64>) {
    let ns = svc.namespace.as_deref();
    let mut ips = Vec::new();
    let mut ports = Vec::new();
    if let Some(ep) = ix.get("Endpoints", ns, &svc.name) {
        for s in ep.arr("subsets") {
            for a in s
                .get("addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                ips.extend(str_at(a, "ip").map(str::to_string));
            }
            for p in s
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                ports.extend(p.get("port").and_then(Value::as_i64));
            }
        }
    } else {
        for sl in ix.of_kind_in("EndpointSlice", ns).filter(|s| {
            s.labels()
                .get("kubernetes.io/service-name")
                .and_then(Value::as_str)
                == Some(&svc.name)
        }) {
            for e in sl.arr("endpoints") {
                if e.pointer("/conditions/ready").and_then(Value::as_bool) == Some(false) {
                    continue;
                }
                ips.extend(
                    e.pointer("/addresses/0")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                );
            }
            for p in sl.arr("ports") {
                ports.extend(p.get("port").and_then(Value::as_i64));
            }
        }
    }
    ips.sort();
    ips.dedup();
    ips.truncate(8);
    ports.sort();
    ports.dedup();
    (ips, ports)
}

/// The shell script the probe pod runs: one curl per check, each framed by a
/// `STEP` line and followed by its exit code.
pub fn script(checks: &[Check], per_check_seconds: u32) -> String {
    let mut s = String::from("set +e\n");
    for (i, c) in checks.iter().enumerate() {
        // URLs are built from IPs, ports and DNS names only; quoting is belt and braces.
        let url = c.url.replace('\'', "");
        s.push_str(&format!(
            "echo 'STEP {i}'\ncurl -sS -o /dev/null --connect-timeout {per_check_seconds} --max-time {} -w 'HTTP %{{http_code}} TOTAL %{{time_total}}\\n' '{url}' 2>/dev/null\necho \"EXIT $?\"\n",
            per_check_seconds + 1
        ));
    }
    s.push_str("echo 'DONE'\n");
    s
}

/// Reads the probe's log back into one outcome per check that ran.
pub fn parse(checks: &[Check], log: &str) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = Vec::new();
    let mut cur: Option<Outcome> = None;
    for line in log.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("STEP"), Some(i)) => {
                out.extend(cur.take());
                cur = i
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| checks.get(i))
                    .map(|c| Outcome {
                        check: c.clone(),
                        exit: -1,
                        http: None,
                        millis: 0,
                    });
            }
            (Some("HTTP"), Some(code)) => {
                if let Some(o) = cur.as_mut() {
                    o.http = code.parse().ok().filter(|c| *c > 0);
                    if let (Some("TOTAL"), Some(t)) = (words.next(), words.next()) {
                        o.millis = t
                            .parse::<f64>()
                            .map(|s| (s * 1000.0).round() as u64)
                            .unwrap_or(0);
                    }
                }
            }
            (Some("EXIT"), Some(code)) => {
                if let Some(o) = cur.as_mut() {
                    o.exit = code.parse().unwrap_or(-1);
                }
            }
            _ => {}
        }
    }
    out.extend(cur);
    out
}

/// The layer that fails first and what it means, in one sentence; `None` when
/// every check answered.
pub fn verdict(outcomes: &[Outcome]) -> Option<String> {
    let of = |l: Layer| outcomes.iter().filter(move |o| o.check.layer == l);
    let all_ok = |l: Layer| of(l).all(Outcome::answered);
    let any = |l: Layer| of(l).next().is_some();
    let endpoints_ok = any(Layer::Endpoint) && all_ok(Layer::Endpoint);
    if any(Layer::Endpoint) && !endpoints_ok {
        let elsewhere = of(Layer::DeclaredPort).find(|o| o.answered());
        return Some(match elsewhere {
            Some(o) => format!(
                "the pods do not answer on the Service's target port, but one answers at {}: the targetPort is wrong",
                o.check.url
            ),
            None => "the pods themselves do not answer on the target port: the app is not listening there (or is failing)".to_string(),
        });
    }
    if any(Layer::ClusterIp) && !all_ok(Layer::ClusterIp) {
        return Some(if endpoints_ok {
            "the pods answer directly but not through the ClusterIP: Service routing (kube-proxy) or a NetworkPolicy".to_string()
        } else {
            "the ClusterIP does not answer, and there is no ready endpoint behind it".to_string()
        });
    }
    if of(Layer::Dns).any(|o| !o.resolved()) {
        return Some("the Service name does not resolve: cluster DNS is missing or failing (the ClusterIP itself is reachable)".to_string());
    }
    None
}

/// The outcomes as evidence on the Service, the verdict first.
pub fn evidence(svc: &str, outcomes: &[Outcome]) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some(v) = verdict(outcomes) {
        out.push(Evidence {
            object: Some(format!("Service/{svc}")),
            note: Some(format!("probe: {v}")),
            ..Evidence::default()
        });
    }
    out.extend(outcomes.iter().map(|o| Evidence {
        object: Some(format!("Service/{svc}")),
        note: Some(format!("probe: {}", o.describe())),
        ..Evidence::default()
    }));
    out
}

/// The probe pod: no ServiceAccount token, non-root, read-only root, no
/// privilege escalation, every capability dropped, small limits, and a deadline
/// after which the kubelet stops it even if the plugin is gone.
pub fn pod(
    name: &str,
    namespace: &str,
    image: &str,
    script: &str,
    deadline_seconds: i64,
) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace,
            "labels": {LABEL: "true", "app.kubernetes.io/managed-by": "kubectl-mosaic"}},
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": deadline_seconds,
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "terminationGracePeriodSeconds": 0,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "probe", "image": image, "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", script],
                "resources": {"limits": {"cpu": "100m", "memory": "32Mi"},
                              "requests": {"cpu": "10m", "memory": "16Mi"}},
                "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
        },
    })
}

#[cfg(test)]
mod tests;
