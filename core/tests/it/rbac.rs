//! The committed manifests grant each part (intake, builder) exactly what its RBAC table in
//! core/src/rbac.rs lists: no more, no less, no wildcards, and only to that part's
//! ServiceAccount, which its Deployment runs as.

use std::collections::BTreeSet;
use std::path::PathBuf;

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use mosaic_core::rbac::Part;
use mosaic_core::{names, rbac};
use serde::Deserialize;

fn manifests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../manifests")
}

/// Every YAML document of every `manifests/*.yaml`, with the file it came from.
fn all_documents() -> Vec<(String, serde_yaml::Value)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(manifests_dir())
        .expect("manifests/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable manifest");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = serde_yaml::Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if !v.is_null() {
                out.push((path.display().to_string(), v));
            }
        }
    }
    out
}

fn kind(v: &serde_yaml::Value) -> &str {
    v.get("kind").and_then(|k| k.as_str()).unwrap_or_default()
}

#[test]
fn manifests_grant_exactly_the_rbac_tables() {
    let docs = all_documents();
    let mut roles = Vec::new();
    for (file, v) in &docs {
        if matches!(kind(v), "ClusterRole" | "Role") {
            let role: ClusterRole = serde_yaml::from_value(v.clone())
                .unwrap_or_else(|e| panic!("{file}: bad role: {e}"));
            assert!(
                role.aggregation_rule.is_none(),
                "{file}: aggregated roles grant unknown rules"
            );
            roles.push(role);
        }
    }
    let names: Vec<String> = roles
        .iter()
        .map(|r| r.metadata.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [names::INTAKE_NAME, names::BUILDER_NAME],
        "one role per part"
    );
    for (role, part) in roles.iter().zip(Part::ALL) {
        let rules = role.rules.clone().unwrap_or_default();
        let granted = rbac::policy_grants(&rules);
        let table = rbac::table_grants(part.rules());
        let extra: BTreeSet<_> = granted.difference(&table).collect();
        let missing: BTreeSet<_> = table.difference(&granted).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{}: manifests grant more than the table: {extra:?}; less than the table: {missing:?}; \
             run `cargo xtask gen`",
            part.name()
        );
        // A row limited to some names stays limited in the manifest.
        for r in part.rules().iter().filter(|r| !r.resource_names.is_empty()) {
            let rendered = rules
                .iter()
                .find(|p| p.resources.as_deref() == Some(&[r.resource.to_string()][..]))
                .unwrap();
            let want: Vec<String> = r.resource_names.iter().map(|n| n.to_string()).collect();
            assert_eq!(rendered.resource_names.as_ref(), Some(&want));
        }
    }
}

#[test]
fn each_role_is_bound_only_to_its_own_service_account() {
    let docs = all_documents();
    let bindings: Vec<ClusterRoleBinding> = docs
        .iter()
        .filter(|(_, v)| matches!(kind(v), "ClusterRoleBinding" | "RoleBinding"))
        .map(|(f, v)| {
            serde_yaml::from_value(v.clone()).unwrap_or_else(|e| panic!("{f}: bad binding: {e}"))
        })
        .collect();
    assert_eq!(bindings.len(), 2);
    for (b, part) in bindings.iter().zip(Part::ALL) {
        assert_eq!(b.role_ref.kind, "ClusterRole");
        assert_eq!(b.role_ref.name, part.name());
        let subjects = b.subjects.clone().unwrap_or_default();
        assert_eq!(subjects.len(), 1);
        assert_eq!(subjects[0].kind, "ServiceAccount");
        assert_eq!(subjects[0].name, part.name());
        assert_eq!(
            subjects[0].namespace.as_deref(),
            Some(names::SYSTEM_NAMESPACE)
        );
        // The part's Deployment runs as that ServiceAccount.
        let dep = docs
            .iter()
            .find(|(_, v)| {
                kind(v) == "Deployment" && v["metadata"]["name"].as_str() == Some(part.name())
            })
            .unwrap_or_else(|| panic!("a Deployment {}", part.name()));
        let sa = &dep.1["spec"]["template"]["spec"]["serviceAccountName"];
        assert_eq!(sa.as_str(), Some(part.name()));
    }
}

#[test]
fn kustomization_lists_existing_files_and_not_the_example_ingress() {
    let text = std::fs::read_to_string(manifests_dir().join("kustomization.yaml")).unwrap();
    let k: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let resources: Vec<&str> = k["resources"]
        .as_sequence()
        .expect("resources list")
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(resources, mosaic_core::manifests::KUSTOMIZE_RESOURCES);
    for r in &resources {
        assert!(
            manifests_dir().join(r).is_file(),
            "{r} is listed but missing"
        );
    }
    assert!(!resources.iter().any(|r| r.contains("ingress")));
    assert!(manifests_dir().join("ingress.example.yaml").is_file());
}
