//! The catalogue of failure modes: every slug of `failure-modes.yaml` with its title,
//! kinds and plain explanation, and whether a rule implements it.
//! The entries themselves are data, in `pod_modes` and `other_modes`.

use std::sync::OnceLock;

mod other_modes;
mod pod_modes;

/// One failure mode, as listed by `kubectl mosaic explain --list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModeInfo {
    pub slug: &'static str,
    pub title: &'static str,
    pub kinds: &'static [&'static str],
    pub explanation: &'static str,
    /// Whether a rule reports this slug.
    pub implemented: bool,
    /// More generic slugs this one replaces when both match the same object.
    pub supersedes: &'static [&'static str],
    /// Whether the mode depends on how long a state has lasted.
    pub time_dependent: bool,
}

struct Mode {
    slug: &'static str,
    title: &'static str,
    kinds: &'static [&'static str],
    explanation: &'static str,
    supersedes: &'static [&'static str],
    time_dependent: bool,
}

/// Every failure mode, in taxonomy order, with `implemented` set from the rule list.
pub fn catalog() -> &'static [ModeInfo] {
    static CATALOG: OnceLock<Vec<ModeInfo>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let rules = super::rules::all();
        pod_modes::POD
            .iter()
            .chain(other_modes::OTHERS)
            .map(|m| ModeInfo {
                slug: m.slug,
                title: m.title,
                kinds: m.kinds,
                explanation: m.explanation,
                implemented: rules.iter().any(|r| r.slug == m.slug),
                supersedes: m.supersedes,
                time_dependent: m.time_dependent,
            })
            .collect()
    })
}

/// The catalogue entry of one slug.
pub fn mode(slug: &str) -> Option<&'static ModeInfo> {
    catalog().iter().find(|m| m.slug == slug)
}

/// Whether `a` supersedes `b` (directly).
pub fn supersedes(a: &str, b: &str) -> bool {
    mode(a).is_some_and(|m| m.supersedes.contains(&b))
}

#[cfg(test)]
mod tests;
