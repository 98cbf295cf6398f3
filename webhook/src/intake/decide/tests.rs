//! Unit tests of decide.rs: what a delivery records or why it is ignored, and the Build names.

use super::*;
use mosaic_core::names;
use mosaic_core::resources::BindingSpec;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn binding(name: &str, repo: &str, branch: &str, paused: bool) -> Binding {
    let mut b = Binding::new(
        name,
        serde_json::from_value::<BindingSpec>(serde_json::json!({
            "deployment": name, "repo": repo, "branch": branch, "image": "r.io/a/b", "paused": paused
        }))
        .unwrap(),
    );
    b.metadata.namespace = Some("team".into());
    b.metadata.uid = Some(format!("uid-{name}"));
    b
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456789Z")
        .unwrap()
        .to_utc()
}

#[test]
fn matching_push_records_one_build_per_binding() {
    let bs = [
        binding("web", "codertocat/hello-world", "master", false),
        binding("worker", "Codertocat/Hello-World", "master", false),
        binding("other-branch", "Codertocat/Hello-World", "main", false),
        binding("paused", "Codertocat/Hello-World", "master", true),
    ];
    let d = decide("push", Some("d-1"), &data("push-branch.json"), &bs, now()).unwrap();
    let Decision::Record(builds) = d else {
        panic!("{d:?}")
    };
    let names: Vec<_> = builds
        .iter()
        .map(|b| b.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["web-6113728f27ae", "worker-6113728f27ae"]);
    let b = &builds[0];
    assert_eq!(b.metadata.namespace.as_deref(), Some("team"));
    assert_eq!(b.spec.commit, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert_eq!(b.spec.git_ref, "refs/heads/master");
    assert_eq!(b.spec.trigger.delivery.as_deref(), Some("d-1"));
    assert_eq!(b.spec.trigger.pusher.as_deref(), Some("Codertocat"));
    assert_eq!(
        b.metadata.labels.as_ref().unwrap()[names::LABEL_BINDING],
        "web"
    );
    assert_eq!(
        b.metadata.annotations.as_ref().unwrap()[names::ANNOTATION_PUSHED_AT],
        "2026-01-02T03:04:05.123456789Z"
    );
    assert_eq!(
        b.metadata.owner_references.as_ref().unwrap()[0].uid,
        "uid-web"
    );
    // A redelivery yields the same names, so creating them again is a no-op.
    let Decision::Record(again) =
        decide("push", Some("d-2"), &data("push-branch.json"), &bs, now()).unwrap()
    else {
        panic!()
    };
    assert_eq!(again[0].metadata.name, builds[0].metadata.name);
}

#[test]
fn everything_else_is_ignored_with_a_reason() {
    let bs = [binding("web", "Codertocat/Hello-World", "master", false)];
    let reason =
        |ev: &str, body: &[u8], bs: &[Binding]| match decide(ev, None, body, bs, now()).unwrap() {
            Decision::Ignored { reason, .. } => reason,
            other => panic!("{other:?}"),
        };
    assert!(matches!(
        decide("ping", None, &data("ping.json"), &bs, now()).unwrap(),
        Decision::Pong
    ));
    assert_eq!(reason("issues", b"{}", &bs), "UnsupportedEvent");
    assert_eq!(reason("push", &data("push-tag.json"), &bs), "TagPush");
    assert_eq!(
        reason("push", &data("push-branch.json"), &[]),
        "NoMatchingBinding"
    );
    assert_eq!(
        reason(
            "push",
            &data("push-branch.json"),
            &[binding("p", "Codertocat/Hello-World", "master", true)]
        ),
        "BindingsPaused"
    );
    let mut del: serde_json::Value = serde_json::from_slice(&data("push-branch.json")).unwrap();
    del["deleted"] = true.into();
    del["after"] = "0".repeat(40).into();
    assert_eq!(
        reason("push", &serde_json::to_vec(&del).unwrap(), &bs),
        "BranchDeleted"
    );
}

#[test]
fn commits_sharing_a_prefix_get_distinct_fallback_names() {
    let bs = [binding("web", "Codertocat/Hello-World", "master", false)];
    let name_for = |sha: &str| {
        let mut v: serde_json::Value = serde_json::from_slice(&data("push-branch.json")).unwrap();
        v["after"] = sha.into();
        let Decision::Record(b) =
            decide("push", None, &serde_json::to_vec(&v).unwrap(), &bs, now()).unwrap()
        else {
            panic!()
        };
        (b[0].metadata.name.clone().unwrap(), collision_name(&b[0]))
    };
    let (a, a_alt) = name_for("abcdef012345aaaaaaaa0000000000000000000a");
    let (b, b_alt) = name_for("abcdef012345bbbbbbbb0000000000000000000b");
    assert_eq!(a, b, "the short names collide");
    assert_ne!(a_alt, b_alt);
    assert_eq!(b_alt, "web-abcdef012345-bbbbbbbb");
}

#[test]
fn a_push_of_the_same_commit_from_elsewhere_gets_its_own_name() {
    let bs = [binding("web", "Codertocat/Hello-World", "master", false)];
    let record = |before: &str| {
        let mut v: serde_json::Value = serde_json::from_slice(&data("push-branch.json")).unwrap();
        v["before"] = before.into();
        let Decision::Record(b) =
            decide("push", None, &serde_json::to_vec(&v).unwrap(), &bs, now()).unwrap()
        else {
            panic!()
        };
        b[0].clone()
    };
    let first = record("0000000000000000000000000000000000000000");
    let reset = record("fedcba9876543210fedcba9876543210fedcba98");
    assert_eq!(
        first.metadata.name, reset.metadata.name,
        "the push's own name"
    );
    assert_eq!(
        reset.spec.trigger.before.as_deref(),
        Some("fedcba9876543210fedcba9876543210fedcba98")
    );
    assert_eq!(
        repush_name(&reset).as_deref(),
        Some("web-6113728f27ae-from-fedcba98")
    );
    assert_eq!(
        repush_name(&record("fedcba9876543210fedcba9876543210fedcba98")),
        repush_name(&reset),
        "a redelivery of the reset push: the same name"
    );
}

#[test]
fn one_owner_per_container() {
    let mut first = binding("web", "Codertocat/Hello-World", "master", false);
    let ts: k8s_openapi::jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    first.metadata.creation_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts));
    let mut second = binding("web-2", "Codertocat/Hello-World", "master", false);
    second.spec.deployment = "web".into();
    let later: k8s_openapi::jiff::Timestamp = "2026-01-02T00:00:00Z".parse().unwrap();
    second.metadata.creation_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(later));
    let d = decide(
        "push",
        None,
        &data("push-branch.json"),
        &[second.clone(), first.clone()],
        now(),
    )
    .unwrap();
    let Decision::Record(builds) = d else {
        panic!("{d:?}")
    };
    assert_eq!(builds.len(), 1);
    assert_eq!(builds[0].spec.binding, "web", "the older Binding owns it");
    // The second alone (the owner watches another branch): ignored, saying why.
    first.spec.branch = "main".into();
    let d = decide(
        "push",
        None,
        &data("push-branch.json"),
        &[second, first],
        now(),
    )
    .unwrap();
    let Decision::Ignored { reason, message } = d else {
        panic!("{d:?}")
    };
    assert_eq!(reason, "OwnerConflict");
    assert!(message.contains("Binding web already owns"), "{message}");
}

#[test]
fn garbled_push_is_an_error() {
    assert!(decide("push", None, b"not json", &[], now()).is_err());
}
