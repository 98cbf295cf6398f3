//! Fast matching for `bind --auto`: propose a GitHub repository for a running
//! workload, with a confidence in [0, 1]. Pure: the caller gathers the image
//! label and the owner's repositories.

use crate::reference::RepoName;

/// Proposals at or above this confidence are applied by `--yes` unless told otherwise.
pub const DEFAULT_THRESHOLD: f64 = 0.8;
/// Below this, a name match is noise and no proposal is made.
pub const MIN_CONFIDENCE: f64 = 0.4;

/// What is known about one container of one Deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub deployment: String,
    pub container: String,
    /// Image repository (tag and digest dropped), e.g. `ghcr.io/acme/api`.
    pub image_repository: String,
    /// The image's `org.opencontainers.image.source` label, when the registry had it.
    pub source_label: Option<String>,
}

/// Why a repository was proposed.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// The image's source label names the repository.
    ImageLabel,
    /// A workload name equals the repository name (normalized).
    SameName { name: String },
    /// A workload name resembles the repository name.
    SimilarName { name: String },
}

impl std::fmt::Display for Basis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ImageLabel => f.write_str("image label"),
            Self::SameName { name } => write!(f, "same name as {name}"),
            Self::SimilarName { name } => write!(f, "similar to {name}"),
        }
    }
}

/// A proposed repository for a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// `owner/name`.
    pub repo: String,
    pub confidence: f64,
    pub basis: Basis,
}

/// Words that say nothing about which repository a workload comes from.
const NOISE: &[&str] = &[
    "deployment",
    "deploy",
    "svc",
    "service",
    "app",
    "server",
    "k8s",
    "prod",
    "production",
    "staging",
    "dev",
];

/// Lowercase, `_`/`.`/space as `-`, noise words dropped (unless nothing else is left).
pub fn normalize(s: &str) -> String {
    let lower: String = s
        .to_lowercase()
        .chars()
        .map(|c| {
            if c == '_' || c == '.' || c == ' ' {
                '-'
            } else {
                c
            }
        })
        .collect();
    let tokens: Vec<&str> = lower.split('-').filter(|t| !t.is_empty()).collect();
    let kept: Vec<&str> = tokens
        .iter()
        .copied()
        .filter(|t| !NOISE.contains(t))
        .collect();
    if kept.is_empty() {
        tokens.join("-")
    } else {
        kept.join("-")
    }
}

fn bigrams(s: &str) -> Vec<(char, char)> {
    let c: Vec<char> = s.chars().filter(|c| *c != '-').collect();
    c.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Sørensen–Dice coefficient over character bigrams (multiset), in [0, 1].
pub fn dice(a: &str, b: &str) -> f64 {
    let (x, mut y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let total = (x.len() + y.len()) as f64;
    let mut common = 0usize;
    for g in &x {
        if let Some(i) = y.iter().position(|h| h == g) {
            y.swap_remove(i);
            common += 1;
        }
    }
    2.0 * common as f64 / total
}

/// Lowercase with `_`/`.`/space as `-`, noise words kept.
fn dashed(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| {
            if c == '_' || c == '.' || c == ' ' {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// How well one workload name matches one repository name, and whether the names are the same.
/// Compared with and without noise words; the better reading counts.
pub fn name_score(name: &str, repo_name: &str) -> (f64, bool) {
    let stripped = score_normalized(&normalize(name), &normalize(repo_name));
    let raw = score_normalized(&dashed(name), &dashed(repo_name));
    if raw.0 > stripped.0 { raw } else { stripped }
}

fn score_normalized(a: &str, b: &str) -> (f64, bool) {
    if a.is_empty() || b.is_empty() {
        return (0.0, false);
    }
    if a == b {
        return (1.0, true);
    }
    if a.replace('-', "") == b.replace('-', "") {
        return (0.95, true);
    }
    let (ta, tb): (Vec<&str>, Vec<&str>) = (a.split('-').collect(), b.split('-').collect());
    let subset = ta.iter().all(|t| tb.contains(t)) || tb.iter().all(|t| ta.contains(t));
    let d = dice(a, b);
    let score = if subset { 0.7 + 0.2 * d } else { 0.85 * d };
    (score, false)
}

/// The last path component of an image repository (`ghcr.io/acme/api` → `api`).
pub fn image_name(repository: &str) -> &str {
    repository.rsplit('/').next().unwrap_or(repository)
}

/// Propose a repository for a workload: the image label when it names a GitHub
/// repository, else the best name match among `repos` (`owner/name`), with a
/// confidence lowered when the runner-up is close. `None` when nothing is plausible.
pub fn propose(w: &Workload, repos: &[String]) -> Option<Proposal> {
    if let Some(label) = &w.source_label
        && let Ok(r) = RepoName::parse(label)
    {
        return Some(Proposal {
            repo: r.to_string(),
            confidence: 1.0,
            basis: Basis::ImageLabel,
        });
    }
    let names = [
        w.deployment.as_str(),
        w.container.as_str(),
        image_name(&w.image_repository),
    ];
    let mut scored: Vec<(f64, bool, &str, &String)> = repos
        .iter()
        .filter_map(|full| {
            let rn = full.rsplit('/').next().unwrap_or(full);
            names
                .iter()
                .map(|n| {
                    let (s, same) = name_score(n, rn);
                    (s, same, *n, full)
                })
                .max_by(|x, y| x.0.total_cmp(&y.0))
        })
        .collect();
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.3.cmp(y.3)));
    let (best, same, name, repo) = *scored.first()?;
    let runner_up = scored.get(1).map_or(0.0, |s| s.0);
    // Two candidates nearly as good: the choice is a guess, say so.
    let confidence = if best - runner_up < 0.1 {
        best * 0.75
    } else {
        best
    };
    let confidence = (confidence * 100.0).round() / 100.0;
    if confidence < MIN_CONFIDENCE {
        return None;
    }
    let basis = if same {
        Basis::SameName {
            name: name.to_string(),
        }
    } else {
        Basis::SimilarName {
            name: name.to_string(),
        }
    };
    Some(Proposal {
        repo: repo.clone(),
        confidence,
        basis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(deployment: &str, container: &str, image: &str) -> Workload {
        Workload {
            deployment: deployment.into(),
            container: container.into(),
            image_repository: image.into(),
            source_label: None,
        }
    }

    fn repos(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| format!("acme/{s}")).collect()
    }

    #[test]
    fn the_image_label_wins() {
        let mut x = w("api", "api", "ghcr.io/acme/api");
        x.source_label = Some("https://github.com/other/backend".into());
        let p = propose(&x, &repos(&["api"])).unwrap();
        assert_eq!(p.repo, "other/backend");
        assert_eq!(p.confidence, 1.0);
        assert_eq!(p.basis, Basis::ImageLabel);
    }

    #[test]
    fn a_non_github_label_falls_back_to_names() {
        let mut x = w("api", "api", "ghcr.io/acme/api");
        x.source_label = Some("https://gitlab.com/acme/api/-/tree/main".into());
        let p = propose(&x, &repos(&["api", "web"])).unwrap();
        assert_eq!(p.repo, "acme/api");
        assert_eq!(p.basis, Basis::SameName { name: "api".into() });
    }

    #[test]
    fn same_name_is_confident() {
        let p = propose(
            &w("payments", "main", "r.example.com/x/pay"),
            &repos(&["payments", "web", "docs"]),
        )
        .unwrap();
        assert_eq!((p.repo.as_str(), p.confidence), ("acme/payments", 1.0));
    }

    #[test]
    fn noise_words_and_separators_are_ignored() {
        let p = propose(
            &w("checkout-svc", "app", "r.example.com/x/y"),
            &repos(&["checkout", "cart"]),
        )
        .unwrap();
        assert_eq!(p.repo, "acme/checkout");
        assert!(p.confidence >= DEFAULT_THRESHOLD, "{p:?}");
        let p = propose(&w("user_service", "c", "r/x"), &repos(&["userservice"])).unwrap();
        assert_eq!(p.repo, "acme/userservice");
        assert!(p.confidence >= 0.9, "{p:?}");
    }

    #[test]
    fn the_container_or_image_name_can_match() {
        let p = propose(
            &w("frontend", "storefront", "r/x/y"),
            &repos(&["storefront", "billing"]),
        )
        .unwrap();
        assert_eq!(p.repo, "acme/storefront");
        let p = propose(
            &w("frontend", "main", "ghcr.io/acme/shop-ui"),
            &repos(&["shop-ui", "billing"]),
        )
        .unwrap();
        assert_eq!(p.repo, "acme/shop-ui");
    }

    #[test]
    fn similar_names_are_proposed_below_the_threshold() {
        let p = propose(
            &w("inventory", "inventory", "r/x"),
            &repos(&["inventory-api", "zebra"]),
        )
        .unwrap();
        assert_eq!(p.repo, "acme/inventory-api");
        assert!(
            p.confidence < 1.0 && p.confidence >= MIN_CONFIDENCE,
            "{p:?}"
        );
        assert!(matches!(p.basis, Basis::SimilarName { .. }));
    }

    #[test]
    fn ties_lower_the_confidence() {
        let p = propose(
            &w("api", "api", "r/x"),
            &repos(&["api-gateway", "api-docs"]),
        )
        .unwrap();
        assert!(p.confidence < DEFAULT_THRESHOLD, "{p:?}");
    }

    #[test]
    fn unrelated_names_give_nothing() {
        assert_eq!(
            propose(
                &w("redis", "redis", "docker.io/library/redis"),
                &repos(&["billing", "storefront"])
            ),
            None
        );
        assert_eq!(propose(&w("x", "x", "r/x"), &[]), None);
    }

    #[test]
    fn dice_is_symmetric_and_bounded() {
        assert_eq!(dice("night", "night"), 1.0);
        assert!((dice("night", "nacht") - 0.25).abs() < 1e-9);
        assert_eq!(dice("ab", "cd"), 0.0);
        assert_eq!(dice("abc", "bca"), dice("bca", "abc"));
    }
}
