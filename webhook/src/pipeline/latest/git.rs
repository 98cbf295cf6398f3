//! Latest wins, decided by git, not by arrival time. A delivery is a hint: before a Build of a
//! push starts, and once more just before its image is applied, the worker asks GitHub where
//! the bound branch is (`branches/{branch}`) and, when the Build's commit is not the head, how
//! the two relate (`compare/{commit}...{head}`):
//!
//! - the commit is the head: it may deploy (after a force-push or a reset too: the head wins);
//! - the head descends from it: it is `Superseded` by the head, which deploys instead;
//! - otherwise (another line of history, an unmerged pull request's head, a branch that was
//!   force-pushed away from it, a branch that no longer exists): refused, `NotOnBranch`, and
//!   nothing is built;
//! - it is the head and already what the Deployment runs: nothing to do (`AlreadyDeployed`).
//!
//! GitHub that cannot be asked is asked again after the `--retry-pauses`; when it still cannot,
//! the Build fails with one clear reason. Nothing is decided on a guess. Builds asked for by hand
//! (`kubectl mosaic deploy`, trigger `manual`) are not checked: whoever may create a Build may
//! deploy any commit. A paused Binding builds and rolls nothing, whatever the trigger.
//!
//! Between Builds that passed this check, the order of their pushes still decides who rolls
//! (`order::newer_build`): a Build counts there only once admitted here (see `order`), so a late
//! redelivery of an old push can no longer stand in the way of the branch head.

use mosaic_core::BuildReason;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use mosaic_core::names;
use mosaic_core::reference::RepoName;
use mosaic_core::resources::{Binding, Build, BuildPhase, TriggerKind};

use crate::backoff::{self, Policy};
use crate::pipeline::plan::short_sha;
use crate::pipeline::ports::{GitHistory, PortError, Relation, Token};
use crate::pipeline::{Ctx, Stop, fail, read_binding};

/// Where a commit stands relative to its branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It is the branch head.
    Head,
    /// The head descends from it.
    Behind { head: String },
    /// It is not on the branch (`head` is `None` when the branch does not exist).
    NotOnBranch { head: Option<String> },
}

/// The verdict from the head and, when the commit is not the head, the relation of the head
/// to it (`compare/{commit}...{head}`).
pub fn verdict(commit: &str, head: Option<&str>, head_relation: Option<Relation>) -> Verdict {
    let Some(head) = head else {
        return Verdict::NotOnBranch { head: None };
    };
    if head.eq_ignore_ascii_case(commit) {
        return Verdict::Head;
    }
    match head_relation {
        Some(Relation::Ahead) => Verdict::Behind { head: head.into() },
        Some(Relation::Identical) => Verdict::Head,
        _ => Verdict::NotOnBranch {
            head: Some(head.into()),
        },
    }
}

/// The stop a verdict calls for (`None`: go on).
pub fn stop_for(v: &Verdict, branch: &str, commit: &str) -> Option<Stop> {
    let c = short_sha(commit);
    match v {
        Verdict::Head => None,
        Verdict::Behind { head } => Some(Stop::Decided {
            phase: BuildPhase::Superseded,
            reason: BuildReason::Superseded,
            message: format!(
                "superseded by {}: branch {branch} has moved on from {c} to it, and the newest commit deploys",
                short_sha(head)
            ),
        }),
        Verdict::NotOnBranch { head: None } => Some(Stop::Decided {
            phase: BuildPhase::Cancelled,
            reason: BuildReason::NotOnBranch,
            message: format!(
                "{c} is not on branch {branch}: the branch does not exist; nothing built"
            ),
        }),
        Verdict::NotOnBranch { head: Some(h) } => Some(Stop::Decided {
            phase: BuildPhase::Cancelled,
            reason: BuildReason::NotOnBranch,
            message: format!(
                "{c} is not on branch {branch} (head {}): neither the head nor an ancestor of it; nothing built",
                short_sha(h)
            ),
        }),
    }
}

/// Where a Build's GitHub token comes from, for the errors that blame it.
const TOKEN_FROM: &str = "the token is the Binding's spec.githubSecret or, when it names none, \
the Secret `kubectl mosaic install --github-token-from-env` stores (--default-github-secret)";

/// The one clear reason for a question GitHub did not answer (the adapter's reason, worded).
pub fn github_failure(e: &PortError, repo: &RepoName, commit: &str) -> Stop {
    let c = short_sha(commit);
    let what = match e.reason {
        BuildReason::CommitNotFound => format!(
            "GitHub does not know {c} in {repo}: it was deleted, or the repository is private and the token cannot read it: {TOKEN_FROM}"
        ),
        BuildReason::CompareRefused => {
            format!("GitHub refused to compare {c} with the branch head in {repo}")
        }
        BuildReason::GitHubRateLimited => {
            "GitHub's rate limit is spent; the branch could not be checked".to_string()
        }
        BuildReason::GitHubForbidden => {
            format!("GitHub refused the token for {repo}: {TOKEN_FROM}")
        }
        _ => "GitHub could not be asked where the branch is".to_string(),
    };
    fail(e.reason, format!("{what} ({e}); not built on a guess"))
}

/// Ask where `commit` stands on `branch`: one request when it is the head, two otherwise.
/// Transient failures are asked again after each of `pauses`.
pub async fn ask(
    history: &dyn GitHistory,
    token: Option<&Token>,
    repo: &RepoName,
    branch: &str,
    commit: &str,
    pauses: &[Duration],
) -> Result<Verdict, Stop> {
    let once = || async {
        let head = history.branch_head(token, repo, branch).await?;
        let relation = match &head {
            Some(h) if !h.eq_ignore_ascii_case(commit) => {
                Some(history.compare(token, repo, commit, h).await?.relation)
            }
            _ => None,
        };
        Ok::<_, PortError>(verdict(commit, head.as_deref(), relation))
    };
    backoff::retry(
        &Policy::Pauses(pauses.to_vec()),
        |e: &PortError| e.kind,
        |e, p| tracing::warn!(%repo, branch, commit, error = %e, retry_in = ?p, "GitHub could not be asked where the branch is; asking again"),
        once,
    )
    .await
    .map_err(|t| github_failure(&t.error, repo, commit))
}

fn paused(binding: &Binding) -> Option<Stop> {
    let ns = binding.metadata.namespace.as_deref().unwrap_or_default();
    let name = binding.metadata.name.as_deref().unwrap_or_default();
    binding.spec.paused.then(|| Stop::Decided {
        phase: BuildPhase::Cancelled,
        reason: BuildReason::Paused,
        message: format!(
            "Binding {ns}/{name} is paused (spec.paused); nothing built or rolled. Unpause it, then push or run `kubectl mosaic deploy`"
        ),
    })
}

/// Is `build` checked against its branch? Pushes and resyncs are; Builds made by hand (a
/// deploy of any commit, a rollback to an earlier one) are not.
fn checked(build: &Build) -> bool {
    matches!(
        build.spec.trigger.kind,
        TriggerKind::Push | TriggerKind::Resync
    )
}

/// Is `commit` what the Deployment runs, as the Binding's last deploy?
async fn already_deployed(ctx: &Ctx, binding: &Binding, commit: &str) -> bool {
    let last = binding
        .status
        .as_ref()
        .and_then(|s| s.last_commit.as_deref());
    if last != Some(commit) {
        return false;
    }
    let ns = binding.metadata.namespace.clone().unwrap_or_default();
    let Ok(dep) = Api::<Deployment>::namespaced(ctx.client.clone(), &ns)
        .get(&binding.spec.deployment)
        .await
    else {
        return false;
    };
    dep.spec
        .template
        .metadata
        .and_then(|m| m.annotations)
        .and_then(|a| a.get(names::ANNOTATION_COMMIT).cloned())
        .as_deref()
        == Some(commit)
}

async fn check(ctx: &Ctx, build: &Build, binding: &Binding) -> Result<(), Stop> {
    if let Some(stop) = paused(binding) {
        return Err(stop);
    }
    let Some(history) = ctx.ports.history.as_deref() else {
        return Ok(());
    };
    if !checked(build) {
        return Ok(());
    }
    let repo =
        RepoName::parse(&binding.spec.repo).map_err(|e| fail(BuildReason::InvalidBinding, e))?;
    let ns = binding.metadata.namespace.clone().unwrap_or_default();
    let token = crate::pipeline::credentials::token(ctx, &ns, &binding.spec).await?;
    let commit = &build.spec.commit;
    let branch = &binding.spec.branch;
    let v = ask(
        history,
        token.as_ref(),
        &repo,
        branch,
        commit,
        &ctx.limits.retry_pauses,
    )
    .await?;
    match stop_for(&v, branch, commit) {
        Some(stop) => Err(stop),
        None => Ok(()),
    }
}

/// Before a Build is claimed: may it start? Paused, not on the branch, behind the head, or
/// already deployed end it at once (a Binding that cannot be read is left to the run, which
/// says so).
pub async fn admit(ctx: &Ctx, build: &Build) -> Result<(), Stop> {
    let Ok(binding) = read_binding(ctx, build).await else {
        return Ok(());
    };
    check(ctx, build, &binding).await?;
    if checked(build) && already_deployed(ctx, &binding, &build.spec.commit).await {
        return Err(Stop::Decided {
            phase: BuildPhase::Superseded,
            reason: BuildReason::AlreadyDeployed,
            message: format!(
                "{} is already deployed; nothing to do",
                short_sha(&build.spec.commit)
            ),
        });
    }
    Ok(())
}

/// Just before the image is applied: the same check again, on the Binding as it is now (the
/// branch can move, and the Binding be paused, during a build).
pub async fn recheck(ctx: &Ctx, build: &Build) -> Result<(), Stop> {
    let binding = read_binding(ctx, build).await?;
    check(ctx, build, &binding).await
}

#[cfg(test)]
mod tests;
