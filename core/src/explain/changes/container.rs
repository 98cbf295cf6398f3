//! The differences inside one container of a pod template: image, command and args,
//! env variable names and sources (never values), resources and probes.

use std::collections::BTreeSet;

use crate::explain::tree::Value;

use super::{Aspect, Change, change, list, name_of, text};
use crate::explain::rules::pod_probes::probe_target;

pub(super) fn container(o: &Value, n: &Value, name: &str, out: &mut Vec<Change>) {
    let c = Some(name);
    if o.get("image") != n.get("image") {
        out.push(change(
            Aspect::Image,
            c,
            format!(
                "image of {name} {} → {}",
                text(o.get("image")),
                text(n.get("image"))
            ),
        ));
    }
    for key in ["command", "args"] {
        if o.get(key) != n.get(key) {
            out.push(change(
                Aspect::Command,
                c,
                format!(
                    "{key} of {name} {} → {}",
                    words(o.get(key)),
                    words(n.get(key))
                ),
            ));
        }
    }
    env(o, n, name, out);
    resources(o, n, name, out);
    probes(o, n, name, out);
    mounts(o, n, name, out);
}

/// Resource limits and requests, one change per resource that differs.
fn resources(o: &Value, n: &Value, name: &str, out: &mut Vec<Change>) {
    let c = Some(name);
    for (group, label) in [("limits", "limit"), ("requests", "request")] {
        let get = |v: &Value| v.pointer(&format!("/resources/{group}")).cloned();
        let (ro, rn) = (get(o), get(n));
        let keys: BTreeSet<String> = [&ro, &rn]
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|m| m.keys().map(str::to_string))
            .collect();
        for k in keys {
            let vo = ro.as_ref().and_then(|m| m.get(&k));
            let vn = rn.as_ref().and_then(|m| m.get(&k));
            if vo != vn {
                out.push(change(
                    Aspect::Resources,
                    c,
                    format!("{k} {label} of {name} {} → {}", text(vo), text(vn)),
                ));
            }
        }
    }
}

/// Readiness, liveness and startup probes: their target, else their timings.
fn probes(o: &Value, n: &Value, name: &str, out: &mut Vec<Change>) {
    let c = Some(name);
    for (key, label) in [
        ("readinessProbe", "readiness"),
        ("livenessProbe", "liveness"),
        ("startupProbe", "startup"),
    ] {
        let (po, pn) = (o.get(key), n.get(key));
        if po == pn {
            continue;
        }
        let desc = |p: Option<&Value>| match p {
            None | Some(Value::Null) => "(none)".to_string(),
            Some(p) => {
                let port = ["httpGet", "tcpSocket", "grpc"]
                    .iter()
                    .find_map(|k| p.pointer(&format!("/{k}/port")))
                    .map(|v| format!(":{}", text(Some(v))))
                    .unwrap_or_default();
                format!("{}{port}", probe_target(p))
            }
        };
        let (d_o, d_n) = (desc(po), desc(pn));
        let t = if d_o != d_n {
            format!("{label} probe of {name} {d_o} → {d_n}")
        } else {
            let keys = [
                "initialDelaySeconds",
                "periodSeconds",
                "timeoutSeconds",
                "failureThreshold",
                "successThreshold",
            ];
            let diffs: Vec<String> = keys
                .iter()
                .filter(|k| po.and_then(|p| p.get(k)) != pn.and_then(|p| p.get(k)))
                .map(|k| {
                    format!(
                        "{k} {} → {}",
                        text(po.and_then(|p| p.get(k))),
                        text(pn.and_then(|p| p.get(k)))
                    )
                })
                .collect();
            if diffs.is_empty() {
                format!("{label} probe of {name} changed")
            } else {
                format!("{label} probe of {name} {}", diffs.join(", "))
            }
        };
        out.push(change(Aspect::Probe, c, t));
    }
}

/// Volume mounts added and dropped.
fn mounts(o: &Value, n: &Value, name: &str, out: &mut Vec<Change>) {
    let c = Some(name);
    let mounts_of = |v: &Value| -> BTreeSet<String> {
        list(v, "volumeMounts")
            .iter()
            .map(|m| format!("{} at {}", name_of(m), text(m.get("mountPath"))))
            .collect()
    };
    let (mo, mn) = (mounts_of(o), mounts_of(n));
    for m in mn.difference(&mo) {
        out.push(change(Aspect::Volumes, c, format!("{name} mounts {m}")));
    }
    for m in mo.difference(&mn) {
        out.push(change(
            Aspect::Volumes,
            c,
            format!("{name} no longer mounts {m}"),
        ));
    }
}

fn words(v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        Some(a) => {
            let w: Vec<String> = a.iter().map(|x| text(Some(x))).collect();
            format!("[{}]", w.join(" "))
        }
        None => "(image default)".to_string(),
    }
}

/// Where an env variable's value comes from, without the value itself.
fn env_source(e: &Value) -> String {
    let from = |p: &str| e.pointer(p);
    if let Some(r) = from("/valueFrom/secretKeyRef") {
        format!("Secret {}/{}", text(r.get("name")), text(r.get("key")))
    } else if let Some(r) = from("/valueFrom/configMapKeyRef") {
        format!("ConfigMap {}/{}", text(r.get("name")), text(r.get("key")))
    } else if let Some(r) = from("/valueFrom/fieldRef") {
        format!("field {}", text(r.get("fieldPath")))
    } else if let Some(r) = from("/valueFrom/resourceFieldRef") {
        format!("resource {}", text(r.get("resource")))
    } else {
        "a literal value".to_string()
    }
}

fn env(o: &Value, n: &Value, name: &str, out: &mut Vec<Change>) {
    let c = Some(name);
    let (eo, en) = (list(o, "env"), list(n, "env"));
    for e in en {
        let var = name_of(e);
        match eo.iter().find(|x| name_of(x) == var) {
            None => out.push(change(
                Aspect::Env,
                c,
                format!("env {var} of {name} added (from {})", env_source(e)),
            )),
            Some(x) if x != e => {
                let (so, sn) = (env_source(x), env_source(e));
                let t = if so == sn {
                    format!("env {var} of {name}: {sn} changed")
                } else {
                    format!("env {var} of {name} from {so} → {sn}")
                };
                out.push(change(Aspect::Env, c, t));
            }
            Some(_) => {}
        }
    }
    for x in eo {
        let var = name_of(x);
        if !en.iter().any(|e| name_of(e) == var) {
            out.push(change(
                Aspect::Env,
                c,
                format!("env {var} of {name} removed"),
            ));
        }
    }
    let refs = |v: &Value| -> BTreeSet<String> {
        list(v, "envFrom")
            .iter()
            .map(|r| {
                if let Some(s) = r.get("secretRef") {
                    format!("Secret {}", text(s.get("name")))
                } else {
                    format!("ConfigMap {}", text(r.pointer("/configMapRef/name")))
                }
            })
            .collect()
    };
    let (ro, rn) = (refs(o), refs(n));
    for r in rn.difference(&ro) {
        out.push(change(Aspect::Env, c, format!("{name} takes env from {r}")));
    }
    for r in ro.difference(&rn) {
        out.push(change(
            Aspect::Env,
            c,
            format!("{name} no longer takes env from {r}"),
        ));
    }
}
