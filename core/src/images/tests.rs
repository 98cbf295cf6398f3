use super::*;

const D: &str = "sha256:2a232a42256f70d78e3cc5d2b5d6b3276710a0de0596c145f627ecfae90282ac";

#[test]
fn the_committed_lock_pins_both_images_and_tags_the_webhook_with_the_version() {
    for role in [WEBHOOK, ENGINE] {
        let r = locked(LOCK, role).unwrap();
        assert!(pinned(&r), "{role}: {r}");
    }
    let tag = ImageRef::parse(&webhook_image()).unwrap().tag;
    assert_eq!(tag.as_deref(), Some(crate::install::VERSION));
    assert!(engine_image().contains("@sha256:"));
}

#[test]
fn a_lock_line_must_be_a_role_and_a_tagged_reference_pinned_by_digest() {
    let good = format!("# comment\n\nwebhook  r.io/a/w:1@{D}\nengine docker:28-dind@{D}\n");
    assert_eq!(locked(&good, WEBHOOK).unwrap(), format!("r.io/a/w:1@{D}"));
    assert_eq!(
        locked(&good, ENGINE).unwrap(),
        format!("docker:28-dind@{D}")
    );
    for (bad, line) in [
        ("webhook r.io/a/w:1\n".to_string(), 1), // tag only
        (format!("webhook r.io/a/w@{D}\n"), 1),  // no tag to read the version from
        (format!("#\nwebhook r.io/a/w:1@{}\n", &D[..70]), 2), // short digest
        (format!("webhook r.io/a/w:1@{} x\n", D), 1), // a third word
        ("webhook\n".to_string(), 1),
        (format!("webhook r.io/a/w:1@{}\n", D.to_uppercase()), 1),
    ] {
        assert!(
            matches!(locked(&bad, WEBHOOK), Err(LockError::Line { line: l, .. }) if l == line),
            "{bad:?}: {:?}",
            locked(&bad, WEBHOOK)
        );
    }
    let twice = format!("webhook r.io/w:1@{D}\nwebhook r.io/w:2@{D}\n");
    assert_eq!(locked(&twice, WEBHOOK), Err(LockError::Twice(WEBHOOK)));
    assert_eq!(
        locked(&format!("engine docker:28-dind@{D}\n"), WEBHOOK),
        Err(LockError::Missing(WEBHOOK))
    );
    assert_eq!(
        LockError::Missing(WEBHOOK).to_string(),
        "images.lock names no webhook image: add a `webhook REPOSITORY:TAG@sha256:…` line"
    );
}

#[test]
fn unpinned_finds_image_values_without_a_digest_and_skips_schema_keys() {
    let yaml = format!(
        "spec:\n  containers:\n  - image: docker:28-dind\n    name: a\n  - name: b\n    image: \"r.io/w:1@{D}\"\n  - image: 'r.io/x@sha256:00'\n  properties:\n    image:\n      type: string\n"
    );
    assert_eq!(
        unpinned(&yaml),
        vec![
            (3, "docker:28-dind".to_string()),
            (7, "r.io/x@sha256:00".to_string())
        ]
    );
    assert!(unpinned(&format!("  image: r.io/w@{D}\n")).is_empty());
}

#[test]
fn the_generated_manifests_pin_every_image() {
    for (path, body) in crate::manifests::generated_files() {
        assert_eq!(unpinned(&body), vec![], "{path}");
    }
}

#[test]
fn install_warns_of_each_image_override_given_by_tag_only() {
    let s = crate::install_settings::Settings {
        image: Some(format!("mirror.local/mosaic-webhook:0.1.0@{D}")),
        engine_image: Some("mirror.local/docker:28-dind".into()),
        ..Default::default()
    };
    assert_eq!(
        unpinned_settings(&s),
        vec![
            "--engine-image mirror.local/docker:28-dind is not pinned by digest: each pod start runs whatever the tag names then; give REPOSITORY@sha256:… (the digest `docker push` prints) to pin it"
        ]
    );
    assert!(unpinned_settings(&Default::default()).is_empty());
}
