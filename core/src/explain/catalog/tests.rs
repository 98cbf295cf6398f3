//! The catalogue against the rule list: every rule slug listed with its kinds, no
//! duplicates, and `supersedes` naming known slugs.

use super::*;

#[test]
fn every_rule_slug_is_in_the_catalog_with_its_kind() {
    for rule in crate::explain::rules::all() {
        let m =
            mode(rule.slug).unwrap_or_else(|| panic!("rule {} has no catalog entry", rule.slug));
        for k in rule.kinds {
            assert!(
                m.kinds.contains(k),
                "rule {} runs on {k}, catalog says {:?}",
                rule.slug,
                m.kinds
            );
        }
        assert!(m.implemented);
    }
}

#[test]
fn slugs_are_unique_and_supersedes_point_at_known_slugs() {
    let all = catalog();
    assert_eq!(all.len(), 66);
    for (i, m) in all.iter().enumerate() {
        assert!(
            all[i + 1..].iter().all(|o| o.slug != m.slug),
            "duplicate {}",
            m.slug
        );
        for s in m.supersedes {
            assert!(mode(s).is_some(), "{} supersedes unknown {s}", m.slug);
        }
    }
    assert!(supersedes("pod.oom-killed", "pod.crash-loop"));
    assert!(!supersedes("pod.crash-loop", "pod.oom-killed"));
}
