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
    let push = match event {
        "ping" => return Ok(Decision::Pong),
        "push" => PushEvent::parse(body)?,
        other => {
            return Ok(ignored(
                "UnsupportedEvent",
                format!("event {other:?} is not acted on; Mosaic builds on push events only"),
            ));
        }
    };
    let deploying = match pushed_branch(&push).and_then(|b| deploying(&push, b, bindings)) {
        Ok(d) => d,
        Err(ignored) => return Ok(ignored),
    };
    let pushed_at = now.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let builds = deploying
        .into_iter()
        .filter_map(|b| build_for(b, &push, delivery, &pushed_at))
        .collect();
    Ok(Decision::Record(builds))
}

fn ignored(reason: &'static str, message: String) -> Decision {
    Decision::Ignored { reason, message }
}

/// The branch a push went to; a tag, another kind of ref or a deleted branch is ignored, saying
/// why.
fn pushed_branch(push: &PushEvent) -> Result<&str, Decision> {
    let branch = match push.ref_kind() {
        RefKind::Branch(b) => b,
        RefKind::Tag(t) => {
            return Err(ignored(
                "TagPush",
                format!("tag {t:?} pushed; Mosaic builds branches"),
            ));
        }
        RefKind::Other(r) => {
            return Err(ignored("NotABranch", format!("ref {r:?} is not a branch")));
        }
    };
    if push.deleted {
        return Err(ignored(
            "BranchDeleted",
            format!("branch {branch:?} was deleted"),
        ));
    }
    Ok(branch)
}

/// The Bindings that deploy a push to `branch`: those of its repository and branch that are not
/// paused and own their container. When none is left, the push is ignored with the reason of
/// the step that left none.
fn deploying<'a>(
    push: &PushEvent,
    branch: &str,
    bindings: &'a [Binding],
) -> Result<Vec<&'a Binding>, Decision> {
    let repo = &push.repository.full_name;
    let matching: Vec<&Binding> = bindings
        .iter()
        .filter(|b| b.spec.repo.eq_ignore_ascii_case(repo) && b.spec.branch == branch)
        .collect();
    if matching.is_empty() {
        return Err(ignored(
            "NoMatchingBinding",
            format!("no Binding watches {repo} branch {branch:?}"),
        ));
    }
    let active: Vec<&Binding> = matching.into_iter().filter(|b| !b.spec.paused).collect();
    if active.is_empty() {
        return Err(ignored(
            "BindingsPaused",
            format!("every Binding of {repo} branch {branch:?} is paused"),
        ));
    }
    let owning: Vec<&Binding> = active
        .iter()
        .copied()
        .filter(|b| owner(b, bindings).is_none_or(|o| same(o, b)))
        .collect();
    if owning.is_empty() {
        let b = active[0];
        let o = owner(b, bindings).map(|o| o.name_any());
        return Err(ignored(
            "OwnerConflict",
            format!(
                "Binding {} targets the container of Deployment {} that Binding {} already owns (one owner per container); delete one of them",
                b.metadata.name.as_deref().unwrap_or_default(),
                b.spec.deployment,
                o.unwrap_or_default()
            ),
        ));
    }
    Ok(owning)
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
mod tests;
