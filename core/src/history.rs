//! Bounded history: which finished Builds of one Binding to delete. The newest `succeeded`
//! Succeeded Builds and the newest `failed` Builds that ended any other way are kept (the
//! Binding's `spec.history`, else the webhook's defaults); so are every Build still running and
//! the one the Binding's status names as last deployed. Pure; the builder that finishes a Build
//! applies it.

use kube::ResourceExt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::resources::{Binding, Build, BuildPhase, HistorySpec};

/// Kept when neither the Binding nor the webhook's flags say otherwise.
pub const DEFAULT_KEEP: u32 = 10;

/// The webhook's cluster-wide defaults (`--history-succeeded`, `--history-failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub succeeded: u32,
    pub failed: u32,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            succeeded: DEFAULT_KEEP,
            failed: DEFAULT_KEEP,
        }
    }
}

/// The limits in force for `spec` (`None`: the Binding names none).
pub fn limits(spec: Option<&HistorySpec>, d: Defaults) -> Defaults {
    Defaults {
        succeeded: spec.and_then(|h| h.succeeded).unwrap_or(d.succeeded),
        failed: spec.and_then(|h| h.failed).unwrap_or(d.failed),
    }
}

/// What the bound reads of one Build: its name, when it was created and its phase (`None`:
/// no status yet). A watch cache keeps this much of every Build it has seen, however many.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub created: Option<Time>,
    pub phase: Option<BuildPhase>,
}

impl Entry {
    pub fn of(b: &Build) -> Entry {
        Entry {
            name: b.name_any(),
            created: b.metadata.creation_timestamp.clone(),
            phase: b.status.as_ref().map(|s| s.phase),
        }
    }
}

/// The names of `builds` (all of one Binding) to delete under `limits`, oldest first.
pub fn to_delete(binding: Option<&Binding>, builds: &[Entry], limits: Defaults) -> Vec<String> {
    let deployed = binding
        .and_then(|b| b.status.as_ref())
        .and_then(|s| s.last_build.as_deref());
    let mut finished: Vec<&Entry> = builds
        .iter()
        .filter(|b| b.phase.is_some_and(BuildPhase::is_terminal))
        .filter(|b| Some(b.name.as_str()) != deployed)
        .collect();
    // Newest first: by creation time, then name, so equal timestamps order the same everywhere.
    finished.sort_by(|a, b| (&b.created, &b.name).cmp(&(&a.created, &a.name)));
    let (mut ok, mut other) = (0u32, 0u32);
    let mut out = Vec::new();
    for b in finished {
        let (seen, keep) = if b.phase == Some(BuildPhase::Succeeded) {
            (&mut ok, limits.succeeded)
        } else {
            (&mut other, limits.failed)
        };
        *seen += 1;
        if *seen > keep {
            out.push(b.name.clone());
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound's view of a Build shaped as the API server returns it.
    fn build(name: &str, created: &str, phase: &str) -> Entry {
        Entry::of(
            &serde_json::from_value::<Build>(serde_json::json!({
                "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
                "metadata": {"name": name, "namespace": "shop", "creationTimestamp": created,
                    "labels": {"mosaic.nectar.dev/binding": "web"}},
                "spec": {"binding": "web", "commit": "0123456789abcdef0123456789abcdef01234567",
                    "ref": "refs/heads/main", "trigger": {"type": "push"}},
                "status": {"phase": phase}
            }))
            .unwrap(),
        )
    }

    #[test]
    fn keeps_the_newest_of_each_kind_and_everything_running() {
        let builds = [
            build("s1", "2026-01-01T00:00:01Z", "Succeeded"),
            build("f1", "2026-01-01T00:00:02Z", "Failed"),
            build("s2", "2026-01-01T00:00:03Z", "Succeeded"),
            build("x1", "2026-01-01T00:00:04Z", "Superseded"),
            build("r1", "2026-01-01T00:00:05Z", "Building"),
            build("s3", "2026-01-01T00:00:06Z", "Succeeded"),
            build("p1", "2026-01-01T00:00:07Z", "Pending"),
        ];
        let one = Defaults {
            succeeded: 1,
            failed: 1,
        };
        assert_eq!(to_delete(None, &builds, one), ["s1", "f1", "s2"]);
        let none = Defaults {
            succeeded: 0,
            failed: 0,
        };
        assert_eq!(
            to_delete(None, &builds, none),
            ["s1", "f1", "s2", "x1", "s3"]
        );
        assert!(to_delete(None, &builds, Defaults::default()).is_empty());
    }

    #[test]
    fn the_deployed_build_is_kept_and_the_binding_overrides_the_defaults() {
        let builds = [
            build("s1", "2026-01-01T00:00:01Z", "Succeeded"),
            build("s2", "2026-01-01T00:00:02Z", "Succeeded"),
        ];
        let binding: Binding = serde_json::from_value(serde_json::json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"deployment": "web", "repo": "a/b", "image": "r/web",
                "history": {"succeeded": 0}},
            "status": {"lastBuild": "s1"}
        }))
        .unwrap();
        let l = limits(binding.spec.history.as_ref(), Defaults::default());
        assert_eq!(
            l,
            Defaults {
                succeeded: 0,
                failed: DEFAULT_KEEP
            }
        );
        assert_eq!(to_delete(Some(&binding), &builds, l), ["s2"]);
    }
}
