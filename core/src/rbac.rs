//! The webhook's permissions as code: one table of every (API group, resource,
//! verbs) the in-cluster webhook calls, each with the reason. The ClusterRole in
//! `manifests/rbac.yaml` is generated from it, a test fails when the manifests
//! grant more or less, and permission errors name the row that grants the call.

use std::collections::BTreeSet;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use kube::api::ObjectMeta;

use crate::names;

/// One row of the table: the webhook may `verbs` on `resource` of `api_group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// API group (`""` is the core group).
    pub api_group: &'static str,
    /// Resource, or `resource/subresource`.
    pub resource: &'static str,
    /// Verbs granted, in Kubernetes' spelling.
    pub verbs: &'static [&'static str],
    /// Why the webhook needs it (rendered into the manifest as a comment).
    pub why: &'static str,
}

const READ: &[&str] = &["get", "list", "watch"];
const FULL: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const STATUS: &[&str] = &["get", "update", "patch"];

/// Everything the webhook calls. No wildcards; nothing else.
pub const WEBHOOK_RULES: &[Rule] = &[
    Rule {
        api_group: "apps",
        resource: "deployments",
        verbs: &["get", "list", "watch", "patch"],
        why: "read bound Deployments; roll them to the built digest (server-side apply of the image only) and back on failure",
    },
    Rule {
        api_group: "apps",
        resource: "replicasets",
        verbs: READ,
        why: "follow a rollout and explain why it failed",
    },
    Rule {
        api_group: "",
        resource: "pods",
        verbs: READ,
        why: "explain failed rollouts from the new pods' states",
    },
    Rule {
        api_group: "",
        resource: "pods/log",
        verbs: &["get"],
        why: "quote a crashing container's last lines in findings",
    },
    Rule {
        api_group: "",
        resource: "events",
        verbs: &["get", "list", "watch", "create"],
        why: "explain failed rollouts (scheduling, image pulls, probes); tell a Binding why a push did not deploy",
    },
    Rule {
        api_group: "",
        resource: "services",
        verbs: READ,
        why: "explain rollouts whose Service selects no ready pod",
    },
    Rule {
        api_group: "",
        resource: "endpoints",
        verbs: READ,
        why: "explain rollouts whose Service selects no ready pod",
    },
    Rule {
        api_group: "",
        resource: "secrets",
        verbs: &["get"],
        why: "read the GitHub token and registry credentials a Binding names (githubSecret, registrySecret), the install's defaults (mosaic-github, mosaic-registry) and a namespace's webhook secret (mosaic-webhook-secret); get by name only, never list or watch",
    },
    Rule {
        api_group: names::API_GROUP,
        resource: "bindings",
        verbs: FULL,
        why: "match pushes to Bindings",
    },
    Rule {
        api_group: names::API_GROUP,
        resource: "bindings/status",
        verbs: STATUS,
        why: "record the last deployed commit, image and conditions",
    },
    Rule {
        api_group: names::API_GROUP,
        resource: "builds",
        verbs: FULL,
        why: "create one Build per push and Binding; clean up old ones",
    },
    Rule {
        api_group: names::API_GROUP,
        resource: "builds/status",
        verbs: STATUS,
        why: "claim builds and record their phase, digest, log tail and findings",
    },
];

/// One granted permission: (API group, resource, verb).
pub type Grant = (String, String, String);

/// Every (group, resource, verb) the table grants.
pub fn table_grants(rules: &[Rule]) -> BTreeSet<Grant> {
    rules
        .iter()
        .flat_map(|r| {
            r.verbs.iter().map(|v| {
                (
                    r.api_group.to_string(),
                    r.resource.to_string(),
                    v.to_string(),
                )
            })
        })
        .collect()
}

/// Every (group, resource, verb) a list of policy rules grants. A wildcard is
/// kept as the literal `*` so a comparison with the table fails loudly.
pub fn policy_grants(rules: &[PolicyRule]) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for r in rules {
        let groups = r.api_groups.clone().unwrap_or_default();
        let resources = r.resources.clone().unwrap_or_default();
        for g in &groups {
            for res in &resources {
                for v in &r.verbs {
                    out.insert((g.clone(), res.clone(), v.clone()));
                }
            }
        }
        for url in r.non_resource_urls.iter().flatten() {
            for v in &r.verbs {
                out.insert(("<non-resource>".into(), url.clone(), v.clone()));
            }
        }
    }
    out
}

/// The policy rules rendered from the table, one per row, in table order.
pub fn policy_rules(rules: &[Rule]) -> Vec<PolicyRule> {
    rules
        .iter()
        .map(|r| PolicyRule {
            api_groups: Some(vec![r.api_group.to_string()]),
            resources: Some(vec![r.resource.to_string()]),
            verbs: r.verbs.iter().map(|v| v.to_string()).collect(),
            ..Default::default()
        })
        .collect()
}

/// The webhook's ClusterRole, generated from [`WEBHOOK_RULES`].
pub fn webhook_cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: ObjectMeta {
            name: Some(names::WEBHOOK_NAME.to_string()),
            labels: Some(crate::install::labels()),
            ..Default::default()
        },
        rules: Some(policy_rules(WEBHOOK_RULES)),
        ..Default::default()
    }
}

/// The row of `rules` that grants `verb` on `resource` (`res` or `res/sub`) in `api_group`.
pub fn rule_for<'a>(
    rules: &'a [Rule],
    api_group: &str,
    resource: &str,
    verb: &str,
) -> Option<&'a Rule> {
    rules
        .iter()
        .find(|r| r.api_group == api_group && r.resource == resource && r.verbs.contains(&verb))
}

/// `group resource [verbs]`, the way a row is shown in messages and comments.
pub fn describe(rule: &Rule) -> String {
    let group = if rule.api_group.is_empty() {
        "core"
    } else {
        rule.api_group
    };
    format!("{group} {} [{}]", rule.resource, rule.verbs.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_wildcards_and_no_duplicate_rows() {
        let mut seen = BTreeSet::new();
        for r in WEBHOOK_RULES {
            assert!(
                !r.api_group.contains('*') && !r.resource.contains('*'),
                "{r:?}"
            );
            assert!(r.verbs.iter().all(|v| *v != "*"), "{r:?}");
            assert!(
                seen.insert((r.api_group, r.resource)),
                "duplicate row {r:?}"
            );
            assert!(!r.why.is_empty(), "{r:?} has no reason");
        }
    }

    #[test]
    fn secrets_are_get_only_and_deployments_are_never_created_or_deleted() {
        let g = table_grants(WEBHOOK_RULES);
        let secrets: Vec<_> = g.iter().filter(|(_, r, _)| r == "secrets").collect();
        assert_eq!(secrets, [&("".into(), "secrets".into(), "get".into())]);
        for v in ["create", "delete", "update"] {
            assert!(
                !g.contains(&("apps".into(), "deployments".into(), v.into())),
                "{v}"
            );
        }
    }

    #[test]
    fn rendered_rules_grant_exactly_the_table() {
        assert_eq!(
            policy_grants(&policy_rules(WEBHOOK_RULES)),
            table_grants(WEBHOOK_RULES)
        );
        let wild = PolicyRule {
            api_groups: Some(vec!["*".into()]),
            resources: Some(vec!["*".into()]),
            verbs: vec!["*".into()],
            ..Default::default()
        };
        assert!(policy_grants(&[wild]).contains(&("*".into(), "*".into(), "*".into())));
    }

    #[test]
    fn finds_the_granting_row() {
        let r = rule_for(WEBHOOK_RULES, "", "pods/log", "get").unwrap();
        assert_eq!(describe(r), "core pods/log [get]");
        assert!(rule_for(WEBHOOK_RULES, "", "pods/log", "list").is_none());
        assert!(rule_for(WEBHOOK_RULES, "apps", "deployments", "delete").is_none());
        let b = rule_for(WEBHOOK_RULES, names::API_GROUP, "builds/status", "patch").unwrap();
        assert_eq!(
            describe(b),
            "mosaic.nectar.dev builds/status [get update patch]"
        );
    }
}
