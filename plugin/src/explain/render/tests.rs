use super::*;

fn sample() -> Finding {
    let pod = ObjectRef {
        kind: "Pod".into(),
        namespace: Some("shop".into()),
        name: "api-1-x".into(),
    };
    let mut f = Finding::new("pod.crash-loop", Severity::Error, pod.clone(), "Container app keeps crashing (exit code 1).")
        .evidence(Evidence::field("Pod/api-1-x", "status.containerStatuses[name=app].lastState.terminated.exitCode", 1))
        .evidence(Evidence {
            object: Some("Pod/api-1-x".into()),
            reason: Some("BackOff".into()),
            message: Some("Back-off restarting failed container\x1b[31m".into()),
            count: Some(12),
            last_seen: Some("2026-01-01T00:00:00Z".into()),
            ..Evidence::default()
        })
        .evidence(Evidence::note("logs are not in the dump"))
        .fix("kubectl logs api-1-x -n shop -c app --previous")
        .learn("A crash loop means the container starts, exits, and Kubernetes waits longer before each restart.");
    f.chain = vec![
        ObjectRef {
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "api".into(),
        },
        ObjectRef {
            kind: "ReplicaSet".into(),
            namespace: Some("shop".into()),
            name: "api-1".into(),
        },
        pod,
    ];
    f
}

#[test]
fn text_block_is_plain_without_colour() {
    let out = render(&[sample()], &[], Format::Text, false, false);
    let want = "\
ERROR pod.crash-loop  Pod/api-1-x -n shop
  Container app keeps crashing (exit code 1).
  chain: Deployment/api → ReplicaSet/api-1 → Pod/api-1-x
  evidence:
    - Pod/api-1-x: status.containerStatuses[name=app].lastState.terminated.exitCode = 1
    - Pod/api-1-x: event BackOff (×12, last seen 2026-01-01T00:00:00Z): Back-off restarting failed container^[[31m
    - note: logs are not in the dump
  fix:
    - kubectl logs api-1-x -n shop -c app --previous
";
    assert_eq!(out, want);
    assert!(!out.contains('\x1b'));
}

#[test]
fn learn_and_colour_only_when_asked() {
    let plain = render(&[sample()], &[], Format::Text, true, false);
    assert!(
        plain.contains("  learn:\n    A crash loop means"),
        "{plain}"
    );
    let coloured = render(&[sample()], &[], Format::Text, false, true);
    assert!(coloured.starts_with("\x1b[1;31mERROR\x1b[0m"), "{coloured}");
}

#[test]
fn json_schema_is_stable() {
    let mut bare = Finding::new(
        "node.cordoned",
        Severity::Warning,
        ObjectRef {
            kind: "Node".into(),
            namespace: None,
            name: "n1".into(),
        },
        "Node n1 is cordoned.",
    );
    bare.learn = Some("hidden unless --learn".into());
    let out = render(
        &[sample(), bare],
        &["a note".to_string()],
        Format::Json,
        false,
        false,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["slug"], "pod.crash-loop");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["object"],
        serde_json::json!({"kind": "Pod", "namespace": "shop", "name": "api-1-x"})
    );
    assert_eq!(f["chain"].as_array().unwrap().len(), 3);
    assert_eq!(f["evidence"][1]["lastSeen"], "2026-01-01T00:00:00Z");
    assert_eq!(f["learn"], serde_json::Value::Null);
    let b = &v["findings"][1];
    for key in ["evidence", "fix", "chain"] {
        assert_eq!(
            b[key],
            serde_json::json!([]),
            "{key} must always be an array"
        );
    }
    assert_eq!(b["possible"], false);
    assert_eq!(
        b["object"],
        serde_json::json!({"kind": "Node", "name": "n1"})
    );
    assert_eq!(v["notes"], serde_json::json!(["a note"]));
    let with_learn: serde_json::Value =
        serde_json::from_str(&render(&[sample()], &[], Format::Json, true, false)).unwrap();
    assert!(
        with_learn["findings"][0]["learn"]
            .as_str()
            .unwrap()
            .starts_with("A crash loop")
    );
}

#[test]
fn yaml_has_the_same_content() {
    let y = render(&[sample()], &[], Format::Yaml, false, false);
    let from_yaml: serde_json::Value = serde_yaml::from_str(&y).unwrap();
    let from_json: serde_json::Value =
        serde_json::from_str(&render(&[sample()], &[], Format::Json, false, false)).unwrap();
    assert_eq!(from_yaml, from_json);
}

#[test]
fn tally_counts() {
    assert_eq!(tally(&[sample()]), "1 error, 0 warnings");
}
