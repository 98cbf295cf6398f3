use super::*;
use mosaic_core::resources::BindingSpec;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn binding(name: &str, deployment: &str, branch: &str, paused: bool, created: &str) -> Binding {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
        "metadata": {"name": name, "namespace": "team", "uid": format!("uid-{name}"),
            "creationTimestamp": created},
        "spec": serde_json::from_value::<BindingSpec>(serde_json::json!({
            "deployment": deployment, "repo": "Codertocat/Hello-World", "branch": branch,
            "image": "r.io/a/b", "paused": paused}))
        .unwrap()
    }))
    .unwrap()
}

fn reasons(ns: &[Notice]) -> Vec<(&str, &str)> {
    ns.iter().map(|n| (n.binding.as_str(), n.reason)).collect()
}

const C: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

#[test]
fn each_binding_that_records_nothing_says_why() {
    let t0 = "2026-01-01T00:00:00Z";
    let bs = [
        binding("web", "web", "master", false, t0),
        binding("staging", "staging", "main", false, t0),
        binding("frozen", "frozen", "master", true, t0),
        binding("second", "web", "master", false, "2026-01-02T00:00:00Z"),
        binding("elsewhere", "x", "master", false, t0),
    ];
    let mut bs = bs.to_vec();
    bs[4].spec.repo = "acme/other".into();
    // octokit's branch push to master: web records a Build, the rest say why not.
    let n = notices("push", &data("push-branch.json"), &bs);
    assert_eq!(
        reasons(&n),
        [
            ("staging", "NotBoundBranch"),
            ("frozen", "Paused"),
            ("second", "OwnerConflict")
        ]
    );
    assert!(n.iter().all(|n| n.commit == C && n.namespace == "team"));
    assert!(
        n[0].message.contains("branch \"master\""),
        "{}",
        n[0].message
    );
    assert!(n[0].message.contains("deploys branch \"main\""));
    assert!(
        n[2].message.contains("Binding web already owns"),
        "{}",
        n[2].message
    );
    // A tag push: every Binding of the repository.
    let n = notices("push", &data("push-tag.json"), &bs);
    assert_eq!(n.len(), 4);
    assert!(n.iter().all(|n| n.reason == "TagPush"));
    assert!(n[0].message.contains("tag \"simple-tag\""));
    // A deleted branch: the Bindings of that branch; the commit is the one it pointed at.
    let mut v: serde_json::Value = serde_json::from_slice(&data("push-tag-deleted.json")).unwrap();
    v["ref"] = "refs/heads/master".into();
    let n = notices("push", &serde_json::to_vec(&v).unwrap(), &bs);
    assert_eq!(
        reasons(&n),
        [
            ("web", "BranchDeleted"),
            ("staging", "NotBoundBranch"),
            ("frozen", "BranchDeleted"),
            ("second", "BranchDeleted")
        ]
    );
    assert_eq!(n[0].commit, C);
    // Nothing for other events, other repositories or a garbled body.
    assert!(notices("ping", &data("ping.json"), &bs).is_empty());
    assert!(notices("push", &data("push-branch.json"), &bs[4..]).is_empty());
    assert!(notices("push", b"{not json", &bs).is_empty());
}

#[test]
fn the_event_names_the_binding_reason_and_commit() {
    let bs = [binding("web", "web", "main", false, "2026-01-01T00:00:00Z")];
    let n = &notices("push", &data("push-branch.json"), &bs)[0];
    let t = Time("2026-12-07T00:00:00Z".parse().unwrap());
    let e = event(n, t);
    assert_eq!(
        e.metadata.name.as_deref(),
        Some("web.notboundbranch.6113728f27ae")
    );
    let labels = e.metadata.labels.unwrap();
    assert_eq!(labels[names::LABEL_BINDING], "web");
    assert_eq!(labels[names::LABEL_COMMIT], C);
    assert_eq!(e.involved_object.kind.as_deref(), Some("Binding"));
    assert_eq!(e.involved_object.uid.as_deref(), Some("uid-web"));
    assert_eq!(e.reason.as_deref(), Some("NotBoundBranch"));
    assert_eq!(e.type_.as_deref(), Some("Normal"));
}
