//! The 403 a Kubernetes RBAC authorizer answers: a request's attributes (verb, group,
//! resource, namespace) as the authorizer reads them, and the Status body it sends.

#![allow(dead_code)]

/// (verb, API group, resource, namespace) of a request, the way the authorizer sees it.
pub fn attributes(method: &str, target: &str) -> (String, String, String, Option<String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match segs.as_slice() {
        ["api", _v, rest @ ..] => (String::new(), rest.to_vec()),
        ["apis", g, _v, rest @ ..] => (g.to_string(), rest.to_vec()),
        _ => (String::new(), vec!["unknown"]),
    };
    let (ns, rest) = match rest.as_slice() {
        ["namespaces", ns, more @ ..] if !more.is_empty() => (Some(ns.to_string()), more.to_vec()),
        _ => (None, rest),
    };
    let resource = match rest.as_slice() {
        [res, _name, sub] => format!("{res}/{sub}"),
        [res, ..] => res.to_string(),
        [] => "unknown".into(),
    };
    let named = rest.len() >= 2;
    let verb = match (method, named) {
        ("GET", _) if query.contains("watch=true") => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PATCH", _) => "patch",
        ("PUT", _) => "update",
        ("DELETE", _) => "delete",
        _ => "unknown",
    };
    (verb.into(), group, resource, ns)
}

pub fn status_body(user: &str, method: &str, target: &str) -> String {
    let (verb, group, resource, ns) = attributes(method, target);
    let scope = match &ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".into(),
    };
    let qualified = if group.is_empty() {
        resource.clone()
    } else {
        format!("{resource}.{group}")
    };
    let message = format!(
        "{qualified} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
    );
    serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": "Forbidden",
        "details": {"group": group, "kind": resource}, "code": 403
    })
    .to_string()
}
