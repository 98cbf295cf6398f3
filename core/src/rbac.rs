//! Mosaic's permissions as code: one table per part (the intake, the builders) of every
//! (API group, resource, verbs) it calls, each with the reason. The ClusterRoles in
//! `manifests/rbac.yaml` are generated from them, a test fails when the manifests grant more
//! or less, the audit test (`webhook/tests/audit.rs`) fails when a part never uses a grant or
//! makes a call the table does not grant, and permission errors name the row that grants a
//! call. Secrets are granted cluster-wide, or, with `install --namespaces`, by a Role in each
//! opted-in namespace ([`secret_roles`]).

use std::collections::BTreeSet;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::ObjectMeta;

use crate::names;

/// One row of a table: the part may `verbs` on `resource` of `api_group` (only the objects
/// named `resource_names`, when any are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// API group (`""` is the core group).
    pub api_group: &'static str,
    /// Resource, or `resource/subresource`.
    pub resource: &'static str,
    /// Verbs granted, in Kubernetes' spelling.
    pub verbs: &'static [&'static str],
    /// Object names the grant is limited to; empty: any name.
    pub resource_names: &'static [&'static str],
    /// Why the part needs it (rendered into the manifest as a comment).
    pub why: &'static str,
}

/// The two parts Mosaic runs as, each with its own ServiceAccount and ClusterRole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Verifies GitHub deliveries and records Builds (`mosaic-intake`).
    Intake,
    /// Claims and runs Builds with its Docker engine (`mosaic-builder`).
    Builder,
}

impl Part {
    /// Both parts.
    pub const ALL: [Part; 2] = [Part::Intake, Part::Builder];

    /// The name of its Deployment, ServiceAccount, ClusterRole and bindings.
    pub fn name(self) -> &'static str {
        match self {
            Part::Intake => names::INTAKE_NAME,
            Part::Builder => names::BUILDER_NAME,
        }
    }

    /// `intake` or `builder` (the `app.kubernetes.io/component` label).
    pub fn component(self) -> &'static str {
        match self {
            Part::Intake => "intake",
            Part::Builder => "builder",
        }
    }

    /// Its table.
    pub fn rules(self) -> &'static [Rule] {
        match self {
            Part::Intake => INTAKE_RULES,
            Part::Builder => BUILDER_RULES,
        }
    }
}

/// Everything the intake (`--concurrency 0`) calls. No engine, no credentials.
pub const INTAKE_RULES: &[Rule] = &[
    Rule {
        api_group: names::API_GROUP,
        resource: "bindings",
        verbs: &["list", "watch"],
        resource_names: &[],
        why: "match deliveries to Bindings (a watch cache)",
    },
    Rule {
        api_group: names::API_GROUP,
        resource: "builds",
        verbs: &["create", "get"],
        resource_names: &[],
        why: "record one Build per push and Binding; read a Build whose name is taken, to tell a redelivery from another commit",
    },
    Rule {
        api_group: "",
        resource: "secrets",
        verbs: &["get"],
        resource_names: &[names::WEBHOOK_SECRET_NAME],
        why: "verify deliveries to /webhooks/github/<namespace> with that namespace's key; only Secrets of this name",
    },
];

/// Everything a builder calls. No wildcards; nothing else.
pub const BUILDER_RULES: &[Rule] = &[
    Rule {
        api_group: "apps",
        resource: "deployments",
        verbs: &["get", "list", "watch", "patch"],
        resource_names: &[],
        why: "read bound Deployments; roll them to the built digest (server-side apply of the image only) and back on failure; watch the rollout",
    },
    Rule {
        api_group: "apps",
        resource: "replicasets",
        verbs: &["list"],
        resource_names: &[],
        why: "explain a failed rollout",
    },
    Rule {
        api_group: "",
        resource: "pods",
        verbs: &["list"],
        resource_names: &[],
        why: "judge a rollout and explain its failure from the new pods' states",
    },
    Rule {
        api_group: "",
        resource: "events",
        verbs: &["list", "create"],
        resource_names: &[],
        why: "explain failed rollouts (scheduling, image pulls, probes); tell a Binding why a push did not deploy",
    },
    Rule {
        api_group: "",
        resource: "secrets",
        verbs: &["get"],
        resource_names: &[],
        why: "read the GitHub token and registry credentials a Binding names (githubSecret, registrySecret) and the install's defaults (mosaic-github, mosaic-registry); get by name only, never list or watch",
    },
    Rule {
        api_group: names::API_GROUP,
        resource: "bindings",
        verbs: &["get", "list", "watch"],
        resource_names: &[],
        why: "read the Binding of a Build, again just before applying",
    },
    Rule {
        api_group: names::API_GROUP,
        resource: "bindings/status",
        verbs: &["patch"],
        resource_names: &[],
        why: "record the last deployed commit, image and conditions; the branch heads the resync read",
    },
    Rule {
        api_group: names::API_GROUP,
        resource: "builds",
        verbs: &["get", "list", "watch", "create", "delete"],
        resource_names: &[],
        why: "claim Builds from a watch cache; list a Binding's Builds (latest wins); record Builds for heads the resync finds; delete finished ones beyond the Binding's history limits",
    },
    Rule {
        api_group: names::API_GROUP,
        resource: "builds/status",
        verbs: &["update"],
        resource_names: &[],
        why: "claim Builds (a resourceVersion-guarded update) and record their phase, digest, log tail and findings",
    },
];

/// Where Secrets may be read: everywhere (the default), or only in the namespaces that opted
/// in (`install --namespaces a,b`) plus the install namespace's default credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SecretScope {
    /// One cluster-wide grant in each ClusterRole.
    #[default]
    ClusterWide,
    /// Roles in these namespaces instead.
    Namespaces(Vec<String>),
}

fn is_secret_row(r: &Rule) -> bool {
    r.api_group.is_empty() && r.resource == "secrets"
}

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
            resource_names: (!r.resource_names.is_empty())
                .then(|| r.resource_names.iter().map(|n| n.to_string()).collect()),
            ..Default::default()
        })
        .collect()
}

/// The ClusterRole of `part`, generated from its table; without its Secret row when Secrets
/// are granted per namespace.
pub fn cluster_role(part: Part, scope: &SecretScope) -> ClusterRole {
    let rows: Vec<Rule> = part
        .rules()
        .iter()
        .filter(|r| *scope == SecretScope::ClusterWide || !is_secret_row(r))
        .copied()
        .collect();
    ClusterRole {
        metadata: ObjectMeta {
            name: Some(part.name().to_string()),
            labels: Some(crate::install::part_labels(part)),
            ..Default::default()
        },
        rules: Some(policy_rules(&rows)),
        ..Default::default()
    }
}

fn secret_role(
    part: Part,
    namespace: &str,
    install_namespace: &str,
    resource_names: &[&str],
) -> (Role, RoleBinding) {
    let name = format!("{}-secrets", part.name());
    let meta = || ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(namespace.to_string()),
        labels: Some(crate::install::part_labels(part)),
        ..Default::default()
    };
    let role = Role {
        metadata: meta(),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".into()]),
            verbs: vec!["get".into()],
            resource_names: (!resource_names.is_empty())
                .then(|| resource_names.iter().map(|n| n.to_string()).collect()),
            ..Default::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: meta(),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: name.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: part.name().into(),
            namespace: Some(install_namespace.into()),
            ..Default::default()
        }]),
    };
    (role, binding)
}

/// With `install --namespaces a,b`: the Roles (and their bindings) that replace the
/// cluster-wide Secret grants. In each opted-in namespace the builder may get any Secret (the
/// ones its Bindings name) and the intake the namespace's webhook key; in the install namespace
/// the builder may get the default credentials only.
pub fn secret_roles(install_namespace: &str, namespaces: &[String]) -> Vec<(Role, RoleBinding)> {
    let mut out = Vec::new();
    for ns in namespaces {
        for part in Part::ALL {
            let row = part
                .rules()
                .iter()
                .find(|r| is_secret_row(r))
                .expect("each part reads Secrets");
            out.push(secret_role(part, ns, install_namespace, row.resource_names));
        }
    }
    if !namespaces.iter().any(|n| n == install_namespace) {
        out.push(secret_role(
            Part::Builder,
            install_namespace,
            install_namespace,
            &[names::GITHUB_SECRET_NAME, names::REGISTRY_SECRET_NAME],
        ));
    }
    out
}

/// The row of either table that grants `verb` on `resource` in `api_group`, with its part.
pub fn granting_rule(api_group: &str, resource: &str, verb: &str) -> Option<(Part, &'static Rule)> {
    Part::ALL
        .iter()
        .rev()
        .find_map(|p| rule_for(p.rules(), api_group, resource, verb).map(|r| (*p, r)))
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
mod tests;
