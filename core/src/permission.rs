//! Permission errors people can act on: turns the API server's 403 message into
//! one line naming who was refused which verb on which resource in which
//! namespace, and the row of the RBAC tables ([`crate::rbac::BUILDER_RULES`], [`crate::rbac::INTAKE_RULES`])
//! that grants it in `manifests/rbac.yaml` (or that none does).

use std::sync::LazyLock;

use regex::Regex;

use crate::{names, rbac};

/// What a 403 refused, as parsed from the API server's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The user or ServiceAccount (`system:serviceaccount:NS:NAME`), when named.
    pub user: Option<String>,
    pub verb: String,
    /// API group (`""` for core).
    pub api_group: String,
    /// Resource, or `resource/subresource`.
    pub resource: String,
    /// Namespace, or `None` at cluster scope.
    pub namespace: Option<String>,
}

static RBAC_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:User "(?P<user>[^"]*)" )?cannot (?P<verb>[a-z]+) resource "(?P<resource>[^"]+)" in API group "(?P<group>[^"]*)"(?: in the namespace "(?P<ns>[^"]+)"| at the cluster scope)?"#,
    )
    .expect("valid regex")
});

/// Parse the Kubernetes authorizer's message, e.g.
/// `pods "x" is forbidden: User "u" cannot get resource "pods/log" in API group "" in the namespace "n"`.
pub fn parse(message: &str) -> Option<Refusal> {
    let c = RBAC_MESSAGE.captures(message)?;
    Some(Refusal {
        user: c.name("user").map(|m| m.as_str().to_string()),
        verb: c["verb"].to_string(),
        api_group: c["group"].to_string(),
        resource: c["resource"].to_string(),
        namespace: c.name("ns").map(|m| m.as_str().to_string()),
    })
}

/// `resource.group` the way kubectl spells it (`deployments.apps`, `pods/log`).
fn qualified(api_group: &str, resource: &str) -> String {
    let (base, sub) = resource
        .split_once('/')
        .map_or((resource, None), |(b, s)| (b, Some(s)));
    let mut out = base.to_string();
    if !api_group.is_empty() {
        out.push('.');
        out.push_str(api_group);
    }
    if let Some(s) = sub {
        out.push('/');
        out.push_str(s);
    }
    out
}

/// The `kubectl auth can-i` command that checks the refused permission.
fn can_i(r: &Refusal) -> String {
    let mut cmd = format!(
        "kubectl auth can-i {} {}",
        r.verb,
        qualified(&r.api_group, &r.resource)
    );
    if let Some(ns) = &r.namespace {
        cmd.push_str(&format!(" -n {ns}"));
    }
    if let Some(u) = &r.user {
        cmd.push_str(&format!(" --as {u}"));
    }
    cmd
}

/// Whether `user` is one of Mosaic's own ServiceAccounts (in any namespace).
fn is_webhook(user: Option<&str>) -> bool {
    user.and_then(|u| u.strip_prefix("system:serviceaccount:"))
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(_, name)| {
            [names::WEBHOOK_NAME, names::INTAKE_NAME, names::BUILDER_NAME].contains(&name)
        })
}

/// One line explaining a refusal: who, what, where, and the rule that grants it.
pub fn describe(r: &Refusal) -> String {
    let who = match &r.user {
        Some(u) if u.starts_with("system:serviceaccount:") => format!("ServiceAccount {u:?}"),
        Some(u) => format!("user {u:?}"),
        None => "the current user".to_string(),
    };
    let place = match &r.namespace {
        Some(ns) => format!("in namespace {ns:?}"),
        None => "at cluster scope".to_string(),
    };
    let what = qualified(&r.api_group, &r.resource);
    let head = format!("forbidden: {who} may not {} {what} {place}", r.verb);
    match rbac::granting_rule(&r.api_group, &r.resource, &r.verb) {
        Some((part, rule)) if is_webhook(r.user.as_deref()) => format!(
            "{head}; Mosaic's ClusterRole {} grants it in manifests/rbac.yaml (rule {:?}: {}), \
             so that role or its binding is missing or changed: re-apply it with \
             `kubectl mosaic install` or `kubectl apply -k manifests/`, then check with `{}`",
            part.name(),
            rbac::describe(rule),
            rule.why,
            can_i(r)
        ),
        Some((_, rule)) => format!(
            "{head}; Mosaic's webhook holds this permission through manifests/rbac.yaml (rule {:?}), \
             but {who} does not: ask a cluster admin to grant it, and check with `{}`",
            rbac::describe(rule),
            can_i(r)
        ),
        None => format!(
            "{head}; no rule in Mosaic's manifests/rbac.yaml grants this (the webhook never needs it): \
             ask a cluster admin to grant it to {who}, and check with `{}`",
            can_i(r)
        ),
    }
}

/// The one-line explanation of a 403 message, or `None` when the message is
/// not an authorizer refusal (then show it unchanged).
pub fn explain(message: &str) -> Option<String> {
    parse(message).map(|r| describe(&r))
}

/// A Kubernetes client error as one line: a 403 explained (see [`explain`]),
/// anything else as the client reports it.
pub fn kube_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 => {
            explain(&s.message).unwrap_or_else(|| e.to_string())
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SA: &str = "system:serviceaccount:mosaic-system:mosaic-builder";

    #[test]
    fn parses_namespaced_subresource_and_cluster_scope() {
        let m = format!(
            r#"pods "api-1" is forbidden: User "{SA}" cannot get resource "pods/log" in API group "" in the namespace "shop""#
        );
        assert_eq!(
            parse(&m).unwrap(),
            Refusal {
                user: Some(SA.into()),
                verb: "get".into(),
                api_group: "".into(),
                resource: "pods/log".into(),
                namespace: Some("shop".into()),
            }
        );
        let c = parse(r#"customresourcedefinitions.apiextensions.k8s.io is forbidden: User "alice" cannot create resource "customresourcedefinitions" in API group "apiextensions.k8s.io" at the cluster scope"#).unwrap();
        assert_eq!(c.namespace, None);
        assert_eq!(c.verb, "create");
        assert!(parse("the server has asked for the client to provide credentials").is_none());
    }

    #[test]
    fn the_webhook_is_pointed_at_the_rule_that_grants_it() {
        let m = format!(
            r#"deployments.apps "api" is forbidden: User "{SA}" cannot patch resource "deployments" in API group "apps" in the namespace "shop""#
        );
        let line = explain(&m).unwrap();
        assert!(
            line.contains(r#"ServiceAccount "system:serviceaccount:mosaic-system:mosaic-builder""#),
            "{line}"
        );
        assert!(
            line.contains("ClusterRole mosaic-builder grants it"),
            "{line}"
        );
        assert!(
            line.contains("may not patch deployments.apps in namespace \"shop\""),
            "{line}"
        );
        assert!(
            line.contains("rule \"apps deployments [get list watch patch]\""),
            "{line}"
        );
        assert!(
            line.contains(
                "kubectl auth can-i patch deployments.apps -n shop --as system:serviceaccount:"
            ),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_user_and_an_ungranted_permission_are_told_apart() {
        let user = explain(r#"bindings.mosaic.nectar.dev is forbidden: User "alice" cannot list resource "bindings" in API group "mosaic.nectar.dev" in the namespace "shop""#).unwrap();
        assert!(
            user.contains("user \"alice\" may not list bindings.mosaic.nectar.dev"),
            "{user}"
        );
        assert!(user.contains("but user \"alice\" does not"), "{user}");
        let none = explain(&format!(
            r#"secrets is forbidden: User "{SA}" cannot list resource "secrets" in API group "" in the namespace "shop""#
        ))
        .unwrap();
        assert!(
            none.contains("no rule in Mosaic's manifests/rbac.yaml grants this"),
            "{none}"
        );
    }

    #[test]
    fn kube_errors_are_explained_only_when_forbidden() {
        let status = |code: u16, message: &str| {
            let s: kube::core::Status = serde_json::from_value(serde_json::json!({
                "status": "Failure", "code": code, "message": message, "reason": "x"
            }))
            .unwrap();
            kube::Error::Api(s.boxed())
        };
        let m = format!(
            r#"secrets "gh" is forbidden: User "{SA}" cannot get resource "secrets" in API group "" in the namespace "shop""#
        );
        let line = kube_error(&status(403, &m));
        assert!(line.contains("rule \"core secrets [get]\""), "{line}");
        let other = kube_error(&status(409, "the object has been modified"));
        assert!(other.contains("the object has been modified"), "{other}");
        assert!(!other.contains("forbidden"), "{other}");
    }
}
