//! Ingress rule: backends, IngressClass and TLS Secrets that do not exist. A
//! reference is only judged when the input holds objects of that kind in the
//! namespace, so a partial dump does not produce false alarms.

use crate::explain::tree::Value;

use super::workloads::describe;
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::{arr_at, str_at};

pub const RULES: &[Rule] = &[Rule {
    slug: "ingress.broken-reference",
    kinds: &["Ingress"],
    symptom: false,
    check: broken_reference,
}];

/// A backend: service name, port (number or name), and the field path it came from.
struct Backend {
    service: String,
    port: Option<Value>,
    path: String,
}

fn backend(b: &Value, path: String) -> Option<Backend> {
    // networking.k8s.io/v1 uses service.{name,port.{number|name}}; v1beta1 serviceName/servicePort.
    if let Some(s) = b.get("service") {
        let port = s
            .get("port")
            .and_then(|p| p.get("number").or_else(|| p.get("name")))
            .cloned();
        return Some(Backend {
            service: str_at(s, "name")?.to_string(),
            port,
            path: format!("{path}.service"),
        });
    }
    Some(Backend {
        service: str_at(b, "serviceName")?.to_string(),
        port: b.get("servicePort").cloned(),
        path,
    })
}

fn backends(ing: &Obj) -> Vec<Backend> {
    let mut out = Vec::new();
    for key in ["defaultBackend", "backend"] {
        if let Some(b) = ing
            .get(&format!("spec.{key}"))
            .and_then(|b| backend(b, format!("spec.{key}")))
        {
            out.push(b);
        }
    }
    for (i, rule) in ing.arr("spec.rules").iter().enumerate() {
        for (j, p) in arr_at(rule, "http.paths").iter().enumerate() {
            if let Some(b) = p
                .get("backend")
                .and_then(|b| backend(b, format!("spec.rules[{i}].http.paths[{j}].backend")))
            {
                out.push(b);
            }
        }
    }
    out
}

fn port_exists(svc: &Obj, port: &Value) -> bool {
    svc.arr("spec.ports").iter().any(|p| match port {
        Value::Number(n) => p.get("port").and_then(Value::as_i64) == n.as_i64(),
        Value::String(s) => {
            str_at(p, "name") == Some(&**s)
                || p.get("port")
                    .and_then(Value::as_i64)
                    .map(|n| n.to_string())
                    .as_deref()
                    == Some(s)
        }
        _ => true,
    })
}

fn broken_reference(ing: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let ns = ing.namespace.as_deref();
    let mut problems: Vec<(String, Evidence)> = Vec::new();
    let have_services = ix.of_kind_in("Service", ns).next().is_some();
    for b in backends(ing) {
        match ix.get("Service", ns, &b.service) {
            None if have_services => problems.push((
                format!("Service {:?} does not exist", b.service),
                ing.field(format!("{}.name", b.path), &b.service),
            )),
            Some(svc) => {
                if let Some(port) = b.port.as_ref().filter(|p| !port_exists(svc, p)) {
                    let shown = port
                        .as_str()
                        .map_or_else(|| port.to_string(), str::to_string);
                    problems.push((
                        format!("Service {:?} has no port {shown}", b.service),
                        ing.field(format!("{}.port", b.path), shown),
                    ));
                }
            }
            None => {}
        }
    }
    if let Some(class) = str_at(&ing.value, "spec.ingressClassName")
        && ix.of_kind("IngressClass").next().is_some()
        && ix.get("IngressClass", None, class).is_none()
    {
        problems.push((
            format!("IngressClass {class:?} does not exist"),
            ing.field("spec.ingressClassName", class),
        ));
    }
    let have_secrets = ix.of_kind_in("Secret", ns).next().is_some();
    for (i, tls) in ing.arr("spec.tls").iter().enumerate() {
        if let Some(secret) = str_at(tls, "secretName")
            && have_secrets
            && ix.get("Secret", ns, secret).is_none()
        {
            problems.push((
                format!("TLS Secret {secret:?} does not exist"),
                ing.field(format!("spec.tls[{i}].secretName"), secret),
            ));
        }
    }
    if problems.is_empty() {
        return vec![];
    }
    let what: Vec<&str> = problems.iter().map(|(w, _)| w.as_str()).collect();
    let mut f = Finding::new(
        "ingress.broken-reference",
        Severity::Error,
        ing.object_ref(),
        format!(
            "Ingress {} refers to something that is not there: {}.",
            ing.name,
            what.join("; ")
        ),
    );
    for (_, e) in problems {
        f = f.evidence(e);
    }
    vec![
        f.fix(format!("List what exists: kubectl get services,secrets{} && kubectl get ingressclass", ing.ns_flag()))
            .fix("Correct the names (or create the missing objects) in the Ingress.")
            .fix(describe(ing))
            .learn("An Ingress is a routing table for HTTP: host and path go to a Service and port in the same namespace. The IngressClass picks which controller serves it, and TLS needs a Secret holding the certificate. A name that points at nothing gives errors (often 503 or 404) for those routes."),
    ]
}

#[cfg(test)]
mod tests {
    use crate::testing::run;
    use serde_json::{Value, json};

    fn ingress(service: &str, port: Value, class: &str, secret: &str) -> Value {
        json!({"kind": "Ingress", "apiVersion": "networking.k8s.io/v1", "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"ingressClassName": class, "tls": [{"hosts": ["a.example"], "secretName": secret}],
                "rules": [{"host": "a.example", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": service, "port": port}}}]}}]}})
    }

    fn context() -> Vec<Value> {
        vec![
            json!({"kind": "Service", "metadata": {"name": "api", "namespace": "ns"}, "spec": {"ports": [{"name": "http", "port": 80}]}}),
            json!({"kind": "IngressClass", "metadata": {"name": "nginx"}}),
            json!({"kind": "Secret", "metadata": {"name": "tls", "namespace": "ns"}}),
        ]
    }

    #[test]
    fn each_broken_reference_is_named() {
        let mut objs = context();
        objs.push(ingress("apii", json!({"number": 80}), "ngnix", "tsl"));
        let f = run("ingress.broken-reference", objs);
        assert_eq!(f.len(), 1);
        for part in [
            "Service \"apii\"",
            "IngressClass \"ngnix\"",
            "TLS Secret \"tsl\"",
        ] {
            assert!(f[0].summary.contains(part), "{part}: {}", f[0].summary);
        }
        assert_eq!(f[0].evidence.len(), 3);
    }

    #[test]
    fn wrong_port() {
        let mut objs = context();
        objs.push(ingress("api", json!({"number": 8080}), "nginx", "tls"));
        let f = run("ingress.broken-reference", objs);
        assert!(
            f[0].summary.contains("has no port 8080"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn near_misses() {
        let mut objs = context();
        objs.push(ingress("api", json!({"name": "http"}), "nginx", "tls"));
        assert!(run("ingress.broken-reference", objs).is_empty());
        // Only the Ingress in the input: nothing can be judged.
        assert!(
            run(
                "ingress.broken-reference",
                vec![ingress("x", json!({"number": 1}), "y", "z")]
            )
            .is_empty()
        );
    }
}
