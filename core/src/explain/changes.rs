//! "What changed since the last healthy revision": the differences between two pod
//! templates that matter for a failure (images, command and args, env names and
//! sources, resources, probes, volumes, service account, node selection and
//! tolerations), each as one short phrase, ranked by how they relate to the failure.
//! Pure; never reads or renders an env value (it may hold a secret).

use std::collections::BTreeSet;

use crate::explain::tree::Value;
use serde::{Deserialize, Serialize};

mod container;

use container::container;

/// What part of the template a change is about.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Aspect {
    Image,
    Command,
    Env,
    Resources,
    Probe,
    Volumes,
    ServiceAccount,
    NodeSelection,
}

/// One difference between the older and the newer template.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub aspect: Aspect,
    /// The container it concerns, when it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// One phrase, e.g. `memory limit of app 512Mi → 128Mi`.
    pub text: String,
    /// Set by [`rank`]: the change relates to the failure found.
    #[serde(default)]
    pub related: bool,
}

/// The pod spec of a template (`spec.template`), or the value itself when it is
/// already a pod spec.
fn pod_spec(t: &Value) -> &Value {
    t.get("spec").unwrap_or(t)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).unwrap_or(&[])
}

fn name_of(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or("")
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".to_string(),
        Some(Value::String(s)) => s.to_string(),
        Some(v) => v.to_string(),
    }
}

/// Every difference between `before` and `after`, two pod templates (`spec.template`
/// of ReplicaSets, Deployments, StatefulSets or DaemonSets), in template order.
pub fn changes(before: &Value, after: &Value) -> Vec<Change> {
    let (a, b) = (pod_spec(before), pod_spec(after));
    let mut out = Vec::new();
    for key in ["initContainers", "containers"] {
        let olds = list(a, key);
        let news = list(b, key);
        for n in news {
            let name = name_of(n);
            match olds.iter().find(|o| name_of(o) == name) {
                Some(o) => container(o, n, name, &mut out),
                None => out.push(change(
                    Aspect::Image,
                    Some(name),
                    format!("container {name} added ({})", text(n.get("image"))),
                )),
            }
        }
        for o in olds {
            let name = name_of(o);
            if !news.iter().any(|n| name_of(n) == name) {
                out.push(change(
                    Aspect::Image,
                    Some(name),
                    format!("container {name} removed"),
                ));
            }
        }
    }
    volumes(a, b, &mut out);
    let sa = |s: &Value| {
        s.get("serviceAccountName")
            .or_else(|| s.get("serviceAccount"))
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string()
    };
    if sa(a) != sa(b) {
        out.push(change(
            Aspect::ServiceAccount,
            None,
            format!("service account {} → {}", sa(a), sa(b)),
        ));
    }
    if a.get("nodeSelector") != b.get("nodeSelector") {
        out.push(change(
            Aspect::NodeSelection,
            None,
            format!(
                "node selector {} → {}",
                pairs(a.get("nodeSelector")),
                pairs(b.get("nodeSelector"))
            ),
        ));
    }
    if a.get("affinity") != b.get("affinity") {
        out.push(change(
            Aspect::NodeSelection,
            None,
            "affinity changed".into(),
        ));
    }
    let tol =
        |s: &Value| -> BTreeSet<String> { list(s, "tolerations").iter().map(toleration).collect() };
    let (ta, tb) = (tol(a), tol(b));
    if ta != tb {
        let mut parts: Vec<String> = tb.difference(&ta).map(|t| format!("+{t}")).collect();
        parts.extend(ta.difference(&tb).map(|t| format!("-{t}")));
        out.push(change(
            Aspect::NodeSelection,
            None,
            format!("tolerations {}", parts.join(" ")),
        ));
    }
    out
}

fn change(aspect: Aspect, container: Option<&str>, text: String) -> Change {
    Change {
        aspect,
        container: container.map(str::to_string),
        text,
        related: false,
    }
}

fn pairs(v: Option<&Value>) -> String {
    match v.and_then(Value::as_object) {
        Some(m) if !m.is_empty() => {
            let p: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", text(Some(v))))
                .collect();
            format!("{{{}}}", p.join(","))
        }
        _ => "(none)".to_string(),
    }
}

fn toleration(t: &Value) -> String {
    let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
    let mut out = s("key").to_string();
    if !s("value").is_empty() {
        out.push_str(&format!("={}", s("value")));
    } else if s("operator") == "Exists" {
        out.push_str(" exists");
    }
    if !s("effect").is_empty() {
        out.push_str(&format!(":{}", s("effect")));
    }
    out
}

/// What a volume is, without any content: `ConfigMap app-config`, `Secret tls`.
fn volume_source(v: &Value) -> String {
    let Some(m) = v.as_object() else {
        return String::new();
    };
    let kind = m.keys().find(|k| *k != "name").unwrap_or_default();
    let target = match kind {
        "configMap" => text(v.pointer("/configMap/name")),
        "secret" => text(v.pointer("/secret/secretName")),
        "persistentVolumeClaim" => text(v.pointer("/persistentVolumeClaim/claimName")),
        _ => String::new(),
    };
    format!("{kind} {target}").trim().to_string()
}

fn volumes(a: &Value, b: &Value, out: &mut Vec<Change>) {
    let (va, vb) = (list(a, "volumes"), list(b, "volumes"));
    for v in vb {
        let name = name_of(v);
        match va.iter().find(|x| name_of(x) == name) {
            None => out.push(change(
                Aspect::Volumes,
                None,
                format!("volume {name} added ({})", volume_source(v)),
            )),
            Some(x) if volume_source(x) != volume_source(v) => out.push(change(
                Aspect::Volumes,
                None,
                format!("volume {name} {} → {}", volume_source(x), volume_source(v)),
            )),
            Some(_) => {}
        }
    }
    for x in va {
        let name = name_of(x);
        if !vb.iter().any(|v| name_of(v) == name) {
            out.push(change(
                Aspect::Volumes,
                None,
                format!("volume {name} removed"),
            ));
        }
    }
}

/// Marks the changes related to a failure (given by its finding slugs) and puts them
/// first, keeping template order otherwise: a memory limit with `pod.oom-killed`, a
/// probe with probe failures, an image with pull failures, command/env/image with a
/// crash or a run error, configuration with missing ConfigMaps/Secrets, node selection
/// and requests with scheduling failures.
pub fn rank(mut changes: Vec<Change>, slugs: &[&str]) -> Vec<Change> {
    for c in &mut changes {
        c.related = slugs.iter().any(|s| relates(c, s));
    }
    changes.sort_by_key(|c| !c.related);
    changes
}

fn relates(c: &Change, slug: &str) -> bool {
    let t = c.text.as_str();
    match c.aspect {
        Aspect::Resources => {
            (slug == "pod.oom-killed" && t.starts_with("memory limit"))
                || (slug.starts_with("pod.unschedulable") && t.contains(" request "))
        }
        Aspect::Probe => {
            (slug == "pod.probe.readiness-failing" && t.starts_with("readiness"))
                || (slug == "pod.probe.liveness-killing"
                    && (t.starts_with("liveness") || t.starts_with("startup")))
        }
        Aspect::Image => {
            slug.starts_with("pod.image-pull")
                || slug.starts_with("pod.crash-loop")
                || slug == "pod.run-error"
        }
        Aspect::Command => slug.starts_with("pod.crash-loop") || slug == "pod.run-error",
        Aspect::Env => {
            slug.starts_with("pod.crash-loop")
                || slug.starts_with("pod.config")
                || slug.contains("configmap")
                || slug.contains("secret")
        }
        Aspect::Volumes => {
            slug == "pod.mount-failed" || slug.contains("configmap") || slug.contains("secret")
        }
        Aspect::ServiceAccount => slug.contains("admission") || slug.contains("service-account"),
        Aspect::NodeSelection => slug.starts_with("pod.unschedulable"),
    }
}

/// `changed since revision 7: memory limit of app 512Mi → 128Mi; image of app …`
/// (at most `max` changes, then `and N more`).
pub fn render(changes: &[Change], revision: Option<&str>, max: usize) -> String {
    let mut parts: Vec<&str> = changes.iter().take(max).map(|c| c.text.as_str()).collect();
    let more = changes.len().saturating_sub(max);
    let tail = (more > 0).then(|| format!("and {more} more"));
    if let Some(t) = &tail {
        parts.push(t);
    }
    let since = revision
        .map(|r| format!("changed since revision {r}"))
        .unwrap_or_else(|| "changed since the previous revision".to_string());
    if parts.is_empty() {
        format!("{since}: nothing in the pod template")
    } else {
        format!("{since}: {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests;
