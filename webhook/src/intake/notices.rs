//! "Why didn't my push deploy?" at the intake. A verified push of a bound repository that
//! records no Build for one of its Bindings leaves a Kubernetes Event on that Binding saying
//! why: a push to another branch (`NotBoundBranch`), a tag push (`TagPush`), a deleted branch
//! (`BranchDeleted`), a paused Binding (`Paused`), a Binding that does not own its container
//! (`OwnerConflict`). Which notices a delivery makes is decided here (pure); they are written
//! after the answer, best effort, one Event per (Binding, reason, commit), so a redelivery
//! writes nothing new.

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use mosaic_core::names;
use mosaic_core::resources::Binding;

use crate::cluster::events;
use crate::intake::decide::owner;
use crate::intake::push_event::{PushEvent, RefKind};

/// One Binding's reason for not deploying a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub namespace: String,
    pub binding: String,
    pub uid: Option<String>,
    pub reason: &'static str,
    pub message: String,
    /// The pushed commit (the one before, for a deleted branch); empty when not a commit id.
    pub commit: String,
}

fn short(c: &str) -> &str {
    c.get(..7).unwrap_or(c)
}

/// The notices for a verified delivery (pure). Only `push` events of a repository some
/// Binding in `bindings` names make any.
pub fn notices(event: &str, body: &[u8], bindings: &[Binding]) -> Vec<Notice> {
    if event != "push" {
        return Vec::new();
    }
    let Ok(push) = PushEvent::parse(body) else {
        return Vec::new();
    };
    let repo = &push.repository.full_name;
    let of_repo = bindings
        .iter()
        .filter(|b| b.spec.repo.eq_ignore_ascii_case(repo));
    let commit = noticed_commit(&push);
    let notice = |b: &Binding, (reason, message): (&'static str, String)| Notice {
        namespace: b.metadata.namespace.clone().unwrap_or_default(),
        binding: b.name_any(),
        uid: b.metadata.uid.clone(),
        reason,
        message,
        commit: commit.clone(),
    };
    match push.ref_kind() {
        RefKind::Branch(branch) => of_repo
            .filter_map(|b| {
                why_not_deployed(b, branch, &push, &commit, bindings).map(|why| notice(b, why))
            })
            .collect(),
        RefKind::Tag(t) => of_repo
            .map(|b| {
                let m = format!(
                    "tag {t:?} pushed (commit {}): Mosaic builds pushes to branch {:?} only",
                    short(&commit),
                    b.spec.branch
                );
                notice(b, ("TagPush", m))
            })
            .collect(),
        RefKind::Other(_) => Vec::new(),
    }
}

/// The commit a notice names: the pushed one, or the one before for a deleted branch; empty
/// when neither is a commit id.
fn noticed_commit(push: &PushEvent) -> String {
    [Some(push.after.as_str()), push.before.as_deref()]
        .into_iter()
        .flatten()
        .find(|c| mosaic_core::reference::parse_commit(c).is_ok() && c.bytes().any(|b| b != b'0'))
        .unwrap_or_default()
        .to_string()
}

/// Why Binding `b` (of the pushed repository; `all` are every Binding, for the container's
/// owner) does not deploy a push of `commit` to `branch`: the reason and the message. `None`
/// when it does.
fn why_not_deployed(
    b: &Binding,
    branch: &str,
    push: &PushEvent,
    commit: &str,
    all: &[Binding],
) -> Option<(&'static str, String)> {
    if b.spec.branch != branch {
        let m = format!(
            "push to branch {branch:?} (commit {}) not deployed: this Binding deploys branch {:?}",
            short(commit),
            b.spec.branch
        );
        Some(("NotBoundBranch", m))
    } else if push.deleted {
        let m = format!(
            "branch {branch:?} was deleted on GitHub: nothing deploys until it exists again (the Deployment keeps running {})",
            b.status
                .as_ref()
                .and_then(|s| s.last_image.as_deref())
                .unwrap_or("what it runs")
        );
        Some(("BranchDeleted", m))
    } else if b.spec.paused {
        let m = format!(
            "push of commit {} not built: the Binding is paused (set spec.paused to false to deploy again; the resync then picks up the branch head)",
            short(commit)
        );
        Some(("Paused", m))
    } else if let Some(o) = owner(b, all).filter(|o| o.name_any() != b.name_any()) {
        let m = format!(
            "push of commit {} not built: Binding {} already owns container {} of Deployment {} (one owner per container); delete one of the two Bindings",
            short(commit),
            o.name_any(),
            b.spec.container.as_deref().unwrap_or("(the first)"),
            b.spec.deployment
        );
        Some(("OwnerConflict", m))
    } else {
        None
    }
}

/// The Event for `n` (pure), at `now`.
pub fn event(n: &Notice, now: Time) -> Event {
    let suffix = match n.commit.get(..12) {
        Some(c) => format!(".{c}"),
        None => String::new(),
    };
    let mut labels =
        std::collections::BTreeMap::from([(names::LABEL_BINDING.to_string(), n.binding.clone())]);
    if !n.commit.is_empty() {
        labels.insert(names::LABEL_COMMIT.to_string(), n.commit.clone());
    }
    events::event(
        events::about::<Binding>(&n.binding, &n.namespace, n.uid.clone()),
        format!("{}.{}{suffix}", n.binding, n.reason.to_ascii_lowercase()),
        labels,
        (n.reason, n.message.clone()),
        false,
        now,
    )
}

/// Write the notices' Events (a redelivery's are already there: 409, fine). Errors are logged.
pub async fn write(client: kube::Client, notices: Vec<Notice>) {
    for n in notices {
        let ev = event(&n, crate::cluster::claim::now_time());
        if let Err(e) = events::create(client.clone(), &ev).await {
            tracing::warn!(
                binding = %n.binding, namespace = %n.namespace, reason = n.reason,
                error = %mosaic_core::permission::kube_error(&e),
                "cannot write the Event saying why a push was not deployed"
            );
        }
    }
}

#[cfg(test)]
mod tests;
