use std::collections::HashMap;

use futures::future::BoxFuture;
use mosaic_core::resources::Build;
use serde_json::json;

use super::*;
use crate::pipeline::ports::{Kind, PortError};
use crate::pipeline::test_world::{SHA, job};
use mosaic_core::BuildReason;
use mosaic_core::registry_auth::RegistryAuth;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const OTHER: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// A registry that serves some digests and some tags, and counts tag look-ups.
#[derive(Default)]
struct Registry {
    digests: Vec<String>,
    tags: HashMap<String, String>,
    down: bool,
    lookups: std::sync::atomic::AtomicUsize,
}

impl RegistryCheck for Registry {
    fn verify_digest<'a>(
        &'a self,
        _: Option<&'a RegistryAuth>,
        host: &'a str,
        path: &'a str,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        let served = self.digests.iter().any(|d| d == digest);
        Box::pin(async move {
            served.then_some(()).ok_or(PortError::new(
                Kind::Permanent,
                BuildReason::PushFailed,
                format!("{host} does not serve {path}@{digest}: 404"),
            ))
        })
    }
    fn accepts<'a>(
        &'a self,
        _: &'a RegistryAuth,
        _: &'a str,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async { Ok(true) })
    }
    fn tag_digest<'a>(
        &'a self,
        _: Option<&'a RegistryAuth>,
        host: &'a str,
        _: &'a str,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, PortError>> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let r = if self.down {
            Err(PortError::new(
                Kind::Transient,
                BuildReason::PushFailed,
                format!("{host}: connection refused"),
            ))
        } else {
            Ok(self.tags.get(tag).cloned())
        };
        Box::pin(async move { r })
    }
}

/// A Build as the API server returns it, with `status` as an earlier run left it.
fn build(name: &str, uid: &str, status: serde_json::Value) -> Build {
    serde_json::from_value(json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": name, "namespace": "team", "uid": uid, "resourceVersion": "812",
            "generation": 1, "creationTimestamp": "2026-12-07T00:10:02Z",
            "labels": {mosaic_core::names::LABEL_BINDING: "web"}},
        "spec": {"binding": "web", "commit": SHA, "ref": "refs/heads/main",
            "trigger": {"type": "push"}},
        "status": status,
    }))
    .unwrap()
}

const UID: &str = "5b0c7d0e-3f57-4c3e-9a53-2b8f0a3a6c11";

#[test]
fn the_tag_is_the_builds_own_and_stable() {
    let a = build("web-0123456789ab", UID, json!({}));
    let tag = build_tag(&a);
    assert!(tag.starts_with("0123456789ab-"), "{tag}");
    assert_eq!(tag.len(), 12 + 1 + 10);
    // Docker's tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
    assert!(tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    // The same Build (a takeover reads it again, status changed): the same tag.
    let later = build("web-0123456789ab", UID, json!({"phase": "Pushing"}));
    assert_eq!(build_tag(&later), tag);
    // The same commit in another Binding, namespace, or a Build re-created under the same name.
    let other_binding = build("api-0123456789ab", UID, json!({}));
    let recreated = build(
        "web-0123456789ab",
        "9d1e0f7a-1111-4c3e-9a53-2b8f0a3a6c11",
        json!({}),
    );
    let mut elsewhere = a.clone();
    elsewhere.metadata.namespace = Some("prod".into());
    for b in [&other_binding, &recreated, &elsewhere] {
        assert_ne!(build_tag(b), tag);
    }
    let plan = tag_for(job().plan, &a);
    assert_eq!(plan.tag, format!("127.0.0.1:5000/team/web:{tag}"));
    assert_eq!(plan.tag_name(), tag);
}

#[tokio::test]
async fn a_recorded_digest_the_registry_serves_is_continued_from() {
    let mut j = job();
    let b = build(
        "web-0123456789ab",
        UID,
        json!({"phase": "Building", "image": format!("127.0.0.1:5000/team/web@{DIGEST}"),
            "phaseTimes": {"pushing": "2026-12-07T00:10:09Z", "rollingOut": "2026-12-07T00:10:11Z"}}),
    );
    j.plan = tag_for(j.plan, &b);
    let reg = Registry {
        digests: vec![DIGEST.into()],
        ..Default::default()
    };
    assert_eq!(
        pushed(&reg, &b, &j).await.as_deref(),
        Some(format!("127.0.0.1:5000/team/web@{DIGEST}").as_str())
    );
    assert_eq!(reg.lookups.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_build_killed_in_pushing_finds_its_tag() {
    let mut j = job();
    let b = build(
        "web-0123456789ab",
        UID,
        json!({"phase": "Building", "phaseTimes": {"pushing": "2026-12-07T00:10:09Z"}}),
    );
    j.plan = tag_for(j.plan, &b);
    let reg = Registry {
        tags: HashMap::from([(build_tag(&b), DIGEST.to_string())]),
        ..Default::default()
    };
    assert_eq!(
        pushed(&reg, &b, &j).await,
        Some(format!("127.0.0.1:5000/team/web@{DIGEST}"))
    );
    // Its tag is absent (the push had not finished): build again.
    let empty = Registry::default();
    assert_eq!(pushed(&empty, &b, &j).await, None);
    // The registry cannot say: build again, never fail.
    let down = Registry {
        down: true,
        ..Default::default()
    };
    assert_eq!(pushed(&down, &b, &j).await, None);
}

#[tokio::test]
async fn what_was_not_pushed_or_is_not_served_is_built_again() {
    let mut j = job();
    // Never reached Pushing: no registry look-up at all.
    let fresh = build("web-0123456789ab", UID, json!({"phase": "Building"}));
    j.plan = tag_for(j.plan, &fresh);
    let reg = Registry {
        tags: HashMap::from([(build_tag(&fresh), DIGEST.to_string())]),
        ..Default::default()
    };
    assert_eq!(pushed(&reg, &fresh, &j).await, None);
    assert_eq!(reg.lookups.load(std::sync::atomic::Ordering::SeqCst), 0);
    // No status at all (a Build nobody claimed before).
    let new: Build = {
        let mut b = build("web-0123456789ab", UID, json!({}));
        b.status = None;
        b
    };
    assert_eq!(pushed(&reg, &new, &j).await, None);
    // A recorded image the registry no longer serves (garbage-collected), not in Pushing.
    let gone = build(
        "web-0123456789ab",
        UID,
        json!({"phase": "Building", "image": format!("127.0.0.1:5000/team/web@{OTHER}")}),
    );
    assert_eq!(pushed(&reg, &gone, &j).await, None);
    // A recorded image of another repository (the Binding's image changed since).
    let moved = build(
        "web-0123456789ab",
        UID,
        json!({"phase": "Building", "image": format!("127.0.0.1:5000/team/old@{DIGEST}")}),
    );
    let serving = Registry {
        digests: vec![DIGEST.into()],
        ..Default::default()
    };
    assert_eq!(pushed(&serving, &moved, &j).await, None);
}
