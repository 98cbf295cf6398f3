//! The intake decision: given a verified delivery and the known Bindings, answer `ping`, ignore
//! with a reason, or produce the `Build` objects to record (one per matching Binding, named
//! deterministically from (binding, commit) so redeliveries create nothing new). Pure.

use chrono::{DateTime, SecondsFormat, Utc};
use kube::ResourceExt;
use mosaic_core::CommitRef;
use mosaic_core::resources::{Binding, Build, BuildTrigger};

use crate::intake::push_event::{PayloadError, PushEvent, RefKind};

/// What to do with a delivery.
#[derive(Debug)]
pub enum Decision {
    /// `ping`: answer 200.
    Pong,
    /// Nothing to do: answer 202 with the reason.
    Ignored {
        reason: &'static str,
        message: String,
    },
    /// Record these Builds.
    Record(Vec<Build>),
}

/// Decide what a verified delivery means. `event` is `X-GitHub-Event`, `delivery` is
/// `X-GitHub-Delivery`.
pub fn decide(
    event: &str,
    delivery: Option<&str>,
    body: &[u8],
    bindings: &[Binding],
    now: DateTime<Utc>,
) -> Result<Decision, PayloadError> {
    match event {
        "ping" => return Ok(Decision::Pong),
        "push" => {}
        other => {
            return Ok(Decision::Ignored {
                reason: "UnsupportedEvent",
                message: format!(
                    "event {other:?} is not acted on; Mosaic builds on push events only"
                ),
            });
        }
    }
    let push = PushEvent::parse(body)?;
    let branch = match push.ref_kind() {
        RefKind::Branch(b) => b,
        RefKind::Tag(t) => {
            return Ok(Decision::Ignored {
                reason: "TagPush",
                message: format!("tag {t:?} pushed; Mosaic builds branches"),
            });
        }
        RefKind::Other(r) => {
            return Ok(Decision::Ignored {
                reason: "NotABranch",
                message: format!("ref {r:?} is not a branch"),
            });
        }
    };
    if push.deleted {
        return Ok(Decision::Ignored {
            reason: "BranchDeleted",
            message: format!("branch {branch:?} was deleted"),
        });
    }
    let repo = &push.repository.full_name;
    let matching: Vec<&Binding> = bindings
        .iter()
        .filter(|b| b.spec.repo.eq_ignore_ascii_case(repo) && b.spec.branch == branch)
        .collect();
    if matching.is_empty() {
        return Ok(Decision::Ignored {
            reason: "NoMatchingBinding",
            message: format!("no Binding watches {repo} branch {branch:?}"),
        });
    }
    let active: Vec<&Binding> = matching
        .iter()
        .copied()
        .filter(|b| !b.spec.paused)
        .collect();
    if active.is_empty() {
        return Ok(Decision::Ignored {
            reason: "BindingsPaused",
            message: format!("every Binding of {repo} branch {branch:?} is paused"),
        });
    }
    let owning: Vec<&Binding> = active
        .iter()
        .copied()
        .filter(|b| owner(b, bindings).is_none_or(|o| same(o, b)))
        .collect();
    if owning.is_empty() {
        let b = active[0];
        let o = owner(b, bindings).map(|o| o.name_any());
        return Ok(Decision::Ignored {
            reason: "OwnerConflict",
            message: format!(
                "Binding {} targets the container of Deployment {} that Binding {} already owns (one owner per container); delete one of them",
                b.metadata.name.as_deref().unwrap_or_default(),
                b.spec.deployment,
                o.unwrap_or_default()
            ),
        });
    }
    let pushed_at = now.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let builds = owning
        .into_iter()
        .filter_map(|b| build_for(b, &push, delivery, &pushed_at))
        .collect();
    Ok(Decision::Record(builds))
}

fn same(a: &Binding, b: &Binding) -> bool {
    a.metadata.namespace == b.metadata.namespace && a.metadata.name == b.metadata.name
}

/// The Binding that owns `b`'s container: of all Bindings of the same namespace, Deployment and
/// container, the oldest (then the first by name). One owner per container: the others are
/// ignored.
pub fn owner<'a>(b: &Binding, all: &'a [Binding]) -> Option<&'a Binding> {
    let key = |x: &Binding| {
        (
            x.metadata.namespace.clone(),
            x.spec.deployment.clone(),
            x.spec.container.clone().unwrap_or_default(),
        )
    };
    all.iter().filter(|x| key(x) == key(b)).min_by_key(|x| {
        (
            x.metadata.creation_timestamp.clone(),
            x.metadata.name.clone(),
        )
    })
}

/// The fallback name of a Build whose deterministic name is taken by another commit with the
/// same 12-digit prefix: the name plus the next 8 digits of the commit.
pub fn collision_name(b: &Build) -> String {
    let base = b.name_any();
    let extra: String = b.spec.commit.chars().skip(12).take(8).collect();
    format!("{base}-{extra}")
}

/// The name of a Build whose deterministic name is taken by an earlier push of the same commit
/// from another place (the branch was reset, or force-pushed, back to it): the name plus
/// `from-` and 8 digits of the commit the branch left. A redelivery of that push gets the same
/// name again, so it stays a no-op.
pub fn repush_name(b: &Build) -> Option<String> {
    let base = b.name_any();
    let before: String = b.spec.trigger.before.as_deref()?.chars().take(8).collect();
    Some(format!("{base}-from-{before}"))
}

/// The Build for one Binding and push, stamped with `pushed_at`. `None` when the Binding lacks
/// a name or namespace.
fn build_for(
    binding: &Binding,
    push: &PushEvent,
    delivery: Option<&str>,
    pushed_at: &str,
) -> Option<Build> {
    let trigger = BuildTrigger::push(
        delivery.map(str::to_string),
        push.pusher.as_ref().map(|p| p.name.clone()),
        push.before.clone(),
    );
    let commit = CommitRef {
        sha: &push.after,
        git_ref: &push.git_ref,
    };
    Build::for_commit(binding, commit, trigger).map(|b| b.pushed_at(pushed_at))
}

#[cfg(test)]
mod tests {
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
        let reason = |ev: &str, body: &[u8], bs: &[Binding]| match decide(ev, None, body, bs, now())
            .unwrap()
        {
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
            let mut v: serde_json::Value =
                serde_json::from_slice(&data("push-branch.json")).unwrap();
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
            let mut v: serde_json::Value =
                serde_json::from_slice(&data("push-branch.json")).unwrap();
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
}
