use super::*;

#[test]
fn no_wildcards_and_no_duplicate_rows() {
    for part in Part::ALL {
        let mut seen = BTreeSet::new();
        for r in part.rules() {
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
}

#[test]
fn the_intake_only_lists_bindings_records_builds_and_reads_webhook_keys_by_name() {
    let g = table_grants(INTAKE_RULES);
    let want: BTreeSet<Grant> = [
        (names::API_GROUP, "bindings", "list"),
        (names::API_GROUP, "bindings", "watch"),
        (names::API_GROUP, "builds", "create"),
        (names::API_GROUP, "builds", "get"),
        ("", "secrets", "get"),
    ]
    .into_iter()
    .map(|(g, r, v)| (g.to_string(), r.to_string(), v.to_string()))
    .collect();
    assert_eq!(g, want);
    let secrets = INTAKE_RULES
        .iter()
        .find(|r| r.resource == "secrets")
        .unwrap();
    assert_eq!(secrets.resource_names, [names::WEBHOOK_SECRET_NAME]);
    let rendered = policy_rules(INTAKE_RULES);
    assert_eq!(
        rendered[2].resource_names.as_deref(),
        Some(&[names::WEBHOOK_SECRET_NAME.to_string()][..])
    );
}

#[test]
fn secrets_are_get_only_and_deployments_are_never_created_or_deleted() {
    let g = table_grants(BUILDER_RULES);
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
    for part in Part::ALL {
        assert_eq!(
            policy_grants(&policy_rules(part.rules())),
            table_grants(part.rules())
        );
    }
    let wild = PolicyRule {
        api_groups: Some(vec!["*".into()]),
        resources: Some(vec!["*".into()]),
        verbs: vec!["*".into()],
        ..Default::default()
    };
    assert!(policy_grants(&[wild]).contains(&("*".into(), "*".into(), "*".into())));
}

#[test]
fn namespaced_secrets_leave_the_cluster_roles_without_secrets() {
    let scope = SecretScope::Namespaces(vec!["a".into(), "b".into()]);
    for part in Part::ALL {
        let role = cluster_role(part, &scope);
        let g = policy_grants(role.rules.as_deref().unwrap());
        assert!(g.iter().all(|(_, r, _)| r != "secrets"), "{g:?}");
        let wide = cluster_role(part, &SecretScope::ClusterWide);
        assert!(
            policy_grants(wide.rules.as_deref().unwrap())
                .iter()
                .any(|(_, r, _)| r == "secrets")
        );
    }
    let roles = secret_roles("mosaic-system", &["a".into(), "b".into()]);
    let placed: Vec<(String, String)> = roles
        .iter()
        .map(|(r, _)| {
            (
                r.metadata.namespace.clone().unwrap(),
                r.metadata.name.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            ("a".into(), "mosaic-intake-secrets".into()),
            ("a".into(), "mosaic-builder-secrets".into()),
            ("b".into(), "mosaic-intake-secrets".into()),
            ("b".into(), "mosaic-builder-secrets".into()),
            ("mosaic-system".into(), "mosaic-builder-secrets".into()),
        ]
    );
    // The intake reads only webhook keys, the builder in the install namespace only the defaults.
    let names_of = |i: usize| roles[i].0.rules.as_ref().unwrap()[0].resource_names.clone();
    assert_eq!(
        names_of(0),
        Some(vec![names::WEBHOOK_SECRET_NAME.to_string()])
    );
    assert_eq!(names_of(1), None);
    assert_eq!(
        names_of(4),
        Some(vec![
            names::GITHUB_SECRET_NAME.to_string(),
            names::REGISTRY_SECRET_NAME.to_string()
        ])
    );
    for (role, binding) in &roles {
        assert_eq!(binding.role_ref.name, role.metadata.name.clone().unwrap());
        let s = &binding.subjects.as_ref().unwrap()[0];
        assert_eq!(s.namespace.as_deref(), Some("mosaic-system"));
        assert!(role.metadata.name.as_ref().unwrap().starts_with(&s.name));
    }
}

#[test]
fn finds_the_granting_row() {
    let (part, r) = granting_rule("", "pods", "list").unwrap();
    assert_eq!(part, Part::Builder);
    assert_eq!(describe(r), "core pods [list]");
    assert!(granting_rule("", "pods/log", "get").is_none());
    assert!(granting_rule("apps", "deployments", "delete").is_none());
    let (part, b) = granting_rule(names::API_GROUP, "builds/status", "update").unwrap();
    assert_eq!(part, Part::Builder);
    assert_eq!(describe(b), "mosaic.nectar.dev builds/status [update]");
    let (part, _) = granting_rule(names::API_GROUP, "bindings", "watch").unwrap();
    assert_eq!(part, Part::Builder, "the builder's row is named first");
}
