use super::*;
use serde_json::json;

const A: &str = "r.example.com/acme/web@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "r.example.com/acme/web@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A Binding as the API server returns it.
fn binding() -> Binding {
    serde_json::from_value(json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
        "metadata": {"name": "web", "namespace": "team", "uid": "uid-web", "resourceVersion": "9",
            "creationTimestamp": "2026-12-01T09:00:00Z"},
        "spec": {"deployment": "web", "repo": "acme/web", "image": "r.example.com/acme/web"},
        "status": {"lastImage": B}}))
    .unwrap()
}

/// A Build as the webhook leaves it.
fn build(name: &str, created: &str, commit: char, phase: &str, image: Option<&str>) -> Build {
    let mut status = json!({"phase": phase, "phaseTimes": {"finished": created}});
    if let Some(i) = image {
        status["image"] = json!(i);
    }
    serde_json::from_value(json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": name, "namespace": "team", "creationTimestamp": created,
            "labels": {"mosaic.nectar.dev/binding": "web"}},
        "spec": {"binding": "web", "commit": commit.to_string().repeat(40), "ref": "refs/heads/main",
            "trigger": {"type": "push", "pusher": "octocat"}},
        "status": status}))
    .unwrap()
}

fn history() -> Vec<Build> {
    vec![
        build("web-1", "2026-12-01T10:00:00Z", '1', "Succeeded", Some(A)),
        build("web-2", "2026-12-01T11:00:00Z", '2', "Failed", None),
        build("web-3", "2026-12-01T12:00:00Z", '3', "Succeeded", Some(B)),
        build("web-4", "2026-12-01T13:00:00Z", '4', "Building", None),
    ]
}

#[test]
fn the_default_target_is_the_newest_success_with_another_image() {
    let h = history();
    let names = |v: Vec<&Build>| -> Vec<String> {
        v.iter().map(|b| b.metadata.name.clone().unwrap()).collect()
    };
    assert_eq!(names(candidates(&h, Some(B))), ["web-1"]);
    assert_eq!(names(candidates(&h, None)), ["web-3", "web-1"]);
    assert_eq!(
        choose(&h, None, Some(B)).unwrap().metadata.name.as_deref(),
        Some("web-1")
    );
    assert_eq!(
        choose(&h, None, Some(A)).unwrap().metadata.name.as_deref(),
        Some("web-3")
    );
    assert_eq!(
        choose(&h[1..], None, Some(B)).unwrap_err(),
        RollbackError::NothingEarlier
    );
}

#[test]
fn a_named_target_must_have_succeeded_with_an_image() {
    let h = history();
    assert_eq!(
        choose(&h, Some("web-3"), Some(B))
            .unwrap()
            .metadata
            .name
            .as_deref(),
        Some("web-3")
    );
    assert_eq!(
        choose(&h, Some("web-9"), None).unwrap_err(),
        RollbackError::NoSuchBuild("web-9".into())
    );
    assert_eq!(
        choose(&h, Some("web-2"), None).unwrap_err(),
        RollbackError::NotSucceeded("web-2".into(), "Failed".into())
    );
    let e = choose(&h, Some("web-4"), None).unwrap_err().to_string();
    assert!(
        e.contains("did not succeed (Building)") && e.contains("--to"),
        "{e}"
    );
}

#[test]
fn the_rollback_build_names_its_source_and_image() {
    let h = history();
    let r = rollback_build(&binding(), &h[0], Some("alice".into()), 1_700_000_000).unwrap();
    assert_eq!(r.spec.trigger.kind, TriggerKind::Rollback);
    assert_eq!(r.spec.trigger.build.as_deref(), Some("web-1"));
    assert_eq!(r.spec.trigger.image.as_deref(), Some(A));
    assert_eq!(r.spec.trigger.user.as_deref(), Some("alice"));
    assert_eq!(r.spec.commit, "1".repeat(40));
    assert_eq!(r.spec.git_ref, "refs/heads/main");
    assert_eq!(
        r.metadata.name.as_deref(),
        Some("web-111111111111-rb-s44we8")
    );
    assert_eq!(r.metadata.namespace.as_deref(), Some("team"));
    let json = serde_json::to_value(&r.spec.trigger).unwrap();
    assert_eq!(
        json,
        json!({"type": "rollback", "user": "alice", "build": "web-1", "image": A})
    );
    assert!(
        rollback_build(&binding(), &h[1], None, 1).is_none(),
        "no image, no rollback"
    );
}

#[test]
fn the_webhook_applies_only_the_sources_own_image_from_the_bindings_repository() {
    let h = history();
    let r = rollback_build(&binding(), &h[0], None, 5).unwrap();
    assert_eq!(image_to_apply(&binding(), &r, Some(&h[0])).unwrap(), A);
    // The source is gone, or is not this Binding's.
    assert_eq!(
        image_to_apply(&binding(), &r, None),
        Err(RollbackError::NoSuchBuild("web-1".into()))
    );
    let mut other = h[0].clone();
    other.spec.binding = "api".into();
    assert!(image_to_apply(&binding(), &r, Some(&other)).is_err());
    // An image edited into the trigger: another repository, a tag, or another digest.
    for img in [
        "evil.example.com/acme/web@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "r.example.com/acme/web:latest",
        "r.example.com/acme/web",
    ] {
        let mut bad = r.clone();
        bad.spec.trigger.image = Some(img.into());
        let e = image_to_apply(&binding(), &bad, Some(&h[0])).unwrap_err();
        assert!(
            matches!(e, RollbackError::ForeignImage { .. }),
            "{img}: {e}"
        );
    }
    let mut swapped = r.clone();
    swapped.spec.trigger.image = Some(B.into());
    let e = image_to_apply(&binding(), &swapped, Some(&h[0]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("ran") && e.contains("refused"), "{e}");
    let mut bare = r.clone();
    bare.spec.trigger.image = None;
    assert_eq!(
        image_to_apply(&binding(), &bare, Some(&h[0])),
        Err(RollbackError::Incomplete("image"))
    );
}
