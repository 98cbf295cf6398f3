//! Service rules: a selector that matches nothing, no endpoints, endpoints that are
//! not ready, and a targetPort the pods do not expose. Missing or unready endpoints
//! are symptoms: the engine drops them when a selected pod's own cause is found.

use crate::explain::tree::Value;

use super::workloads::{describe, pod_ready};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj, selector_matches};
use crate::explain::value::{arr_at, str_at};

pub const RULES: &[Rule] = &[
    Rule {
        slug: "service.selector-matches-nothing",
        kinds: &["Service"],
        symptom: false,
        check: matches_nothing,
    },
    Rule {
        slug: "service.no-endpoints",
        kinds: &["Service"],
        symptom: true,
        check: no_endpoints,
    },
    Rule {
        slug: "service.endpoints-not-ready",
        kinds: &["Service"],
        symptom: true,
        check: endpoints_not_ready,
    },
    Rule {
        slug: "service.target-port-mismatch",
        kinds: &["Service"],
        symptom: false,
        check: target_port_mismatch,
    },
];

/// The selector of a Service that routes to pods, or `None` (no selector, ExternalName).
fn selector(svc: &Obj) -> Option<&Value> {
    if str_at(&svc.value, "spec.type") == Some("ExternalName") {
        return None;
    }
    svc.get("spec.selector")
        .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()))
}

fn selected<'a>(ix: &'a Index, svc: &'a Obj, sel: &'a Value) -> Vec<&'a Obj> {
    ix.pods_selected(svc.namespace.as_deref(), sel).collect()
}

/// Ready and not-ready endpoint counts from Endpoints or EndpointSlices, when present.
fn endpoint_counts(ix: &Index, svc: &Obj) -> Option<(usize, usize)> {
    let ns = svc.namespace.as_deref();
    if let Some(ep) = ix.get("Endpoints", ns, &svc.name) {
        let subsets = ep.arr("subsets");
        let count = |key: &str| subsets.iter().map(|s| arr_at(s, key).len()).sum::<usize>();
        return Some((count("addresses"), count("notReadyAddresses")));
    }
    let slices: Vec<&Obj> = ix
        .of_kind_in("EndpointSlice", ns)
        .filter(|s| {
            s.labels()
                .get("kubernetes.io/service-name")
                .and_then(Value::as_str)
                == Some(svc.name.as_str())
        })
        .collect();
    if slices.is_empty() {
        return None;
    }
    let (mut ready, mut not_ready) = (0, 0);
    for e in slices.iter().flat_map(|s| s.arr("endpoints")) {
        if e.pointer("/conditions/ready").and_then(Value::as_bool) == Some(false) {
            not_ready += 1;
        } else {
            ready += 1;
        }
    }
    Some((ready, not_ready))
}

fn sel_text(sel: &Value) -> String {
    sel.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn matches_nothing(svc: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(sel) = selector(svc) else {
        return vec![];
    };
    let ns = svc.namespace.as_deref();
    let pods: Vec<&Obj> = ix.of_kind_in("Pod", ns).collect();
    // Without pods of the namespace in the input we cannot tell (a partial dump).
    if pods.is_empty() || pods.iter().any(|p| selector_matches(sel, p.labels())) {
        return vec![];
    }
    let text = sel_text(sel);
    let mut f = Finding::new(
        "service.selector-matches-nothing",
        Severity::Error,
        svc.object_ref(),
        format!(
            "Service {} selects pods with {text}, but no pod in the namespace has these labels.",
            svc.name
        ),
    )
    .evidence(svc.field("spec.selector", &text));
    // The closest pod: the one sharing the most selector labels.
    let sel_map = sel.as_object().cloned().unwrap_or_default();
    let score = |p: &Obj| {
        sel_map
            .iter()
            .filter(|(k, v)| p.labels().get(k) == Some(v))
            .count()
    };
    if let Some(best) = pods
        .iter()
        .copied()
        .max_by_key(|p| score(p))
        .filter(|p| score(p) > 0)
    {
        let labels = best.labels().as_object().map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        });
        f = f.evidence(best.field("metadata.labels", labels.unwrap_or_default()));
    }
    vec![
        f.fix(format!("Compare the selector with the pods' labels: kubectl get pods --show-labels{}", svc.ns_flag()))
            .fix("Fix the typo in spec.selector of the Service or in the pod template's labels.")
            .learn("A Service finds its pods by labels, not by name: every key=value of spec.selector must be on the pod. If no pod matches, the Service has no endpoints and connections to it fail or hang."),
    ]
}

fn no_endpoints(svc: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(sel) = selector(svc) else {
        return vec![];
    };
    let Some((0, 0)) = endpoint_counts(ix, svc) else {
        return vec![];
    };
    let pods = selected(ix, svc, sel);
    let mut f = Finding::new(
        "service.no-endpoints",
        Severity::Error,
        svc.object_ref(),
        format!(
            "Service {} has no endpoints: no pod is behind it.",
            svc.name
        ),
    )
    .evidence(Evidence::field(
        format!("Endpoints/{}", svc.name),
        "subsets",
        "[]",
    ));
    if !pods.is_empty() {
        let names: Vec<&str> = pods.iter().take(3).map(|p| p.name.as_str()).collect();
        f = f.evidence(Evidence::note(format!(
            "{} pod(s) match the selector but none has an address yet: {}",
            pods.len(),
            names.join(", ")
        )));
        f = f.fix(format!(
            "Find out why the pods are not running: kubectl mosaic explain pod/{}{}",
            pods[0].name,
            svc.ns_flag()
        ));
    }
    vec![
        f.fix(describe(svc))
            .learn("Endpoints list the IP addresses of the pods a Service sends traffic to. Only running pods with an IP that pass their readiness check are listed, so an empty list means nothing can answer."),
    ]
}

fn endpoints_not_ready(svc: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(sel) = selector(svc) else {
        return vec![];
    };
    let (ready, not_ready) = match endpoint_counts(ix, svc) {
        Some(c) => c,
        None => {
            // No Endpoints in the input: judge from the selected pods that have an IP.
            let pods: Vec<&Obj> = selected(ix, svc, sel)
                .into_iter()
                .filter(|p| p.str("status.podIP").is_some())
                .collect();
            let r = pods.iter().filter(|p| pod_ready(p)).count();
            (r, pods.len() - r)
        }
    };
    if not_ready == 0 {
        return vec![];
    }
    let severity = if ready == 0 {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut f = Finding::new(
        "service.endpoints-not-ready",
        severity,
        svc.object_ref(),
        format!("Service {} has {not_ready} pod(s) not ready and {ready} ready; traffic only goes to ready pods.", svc.name),
    )
    .evidence(Evidence::note(format!("ready endpoints: {ready}, not ready: {not_ready}")));
    if let Some(p) = selected(ix, svc, sel).into_iter().find(|p| !pod_ready(p)) {
        f = f.fix(format!(
            "Find out why the pod is not ready: kubectl mosaic explain pod/{}{}",
            p.name,
            svc.ns_flag()
        ));
    }
    vec![
        f.fix(describe(svc))
            .learn("A pod is added to a Service's endpoints only while its readiness probe passes. Not-ready pods are kept aside (notReadyAddresses), so a failing readiness check silently removes capacity."),
    ]
}

/// Ports the selected pods declare: (name, number) per container port.
fn declared_ports(pods: &[&Obj]) -> Vec<(Option<String>, i64)> {
    pods.iter()
        .flat_map(|p| p.arr("spec.containers"))
        .flat_map(|c| arr_at(c, "ports"))
        .filter_map(|p| {
            Some((
                str_at(p, "name").map(str::to_string),
                p.get("containerPort")?.as_i64()?,
            ))
        })
        .collect()
}

fn target_port_mismatch(svc: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(sel) = selector(svc) else {
        return vec![];
    };
    let pods = selected(ix, svc, sel);
    let with_spec: Vec<&Obj> = pods
        .into_iter()
        .filter(|p| p.get("spec.containers").is_some())
        .collect();
    if with_spec.is_empty() {
        return vec![];
    }
    let declared = declared_ports(&with_spec);
    let mut out = Vec::new();
    for (i, port) in svc.arr("spec.ports").iter().enumerate() {
        let target = port.get("targetPort").or_else(|| port.get("port"));
        let field = format!("spec.ports[{i}].targetPort");
        match target {
            Some(Value::String(name)) if name.parse::<i64>().is_err() => {
                if declared.iter().any(|(n, _)| n.as_deref() == Some(&**name)) {
                    continue;
                }
                out.push(
                    Finding::new(
                        "service.target-port-mismatch",
                        Severity::Error,
                        svc.object_ref(),
                        format!("Service {} sends traffic to the port named {name:?}, but no selected pod declares a port with that name.", svc.name),
                    )
                    .evidence(svc.field(field, name)),
                );
            }
            Some(v) => {
                let Some(num) = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                else {
                    continue;
                };
                // Numeric ports need not be declared; only flag when the pods declare others.
                if declared.is_empty() || declared.iter().any(|(_, n)| *n == num) {
                    continue;
                }
                out.push(
                    Finding::new(
                        "service.target-port-mismatch",
                        Severity::Warning,
                        svc.object_ref(),
                        format!("Service {} sends traffic to port {num}, but the selected pods only declare other ports.", svc.name),
                    )
                    .possible(true)
                    .evidence(svc.field(field, num)),
                );
            }
            None => {}
        }
    }
    out.into_iter()
        .map(|f| {
            let ports: Vec<String> = declared
                .iter()
                .map(|(n, p)| n.as_ref().map_or_else(|| p.to_string(), |n| format!("{n}:{p}")))
                .collect();
            f.evidence(Evidence::note(format!("ports declared by the selected pods: {}", ports.join(", "))))
                .fix("Set targetPort to the containerPort (number or name) the application listens on.")
                .fix(describe(svc))
                .learn("port is what clients connect to on the Service; targetPort is where the traffic goes on the pod. A name in targetPort must match a containerPort name in the pod spec; a number must be a port the program really listens on.")
        })
        .collect()
}

#[cfg(test)]
mod tests;
