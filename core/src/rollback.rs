//! Rolling back: which earlier Build a rollback applies again (`candidates`, `choose`), the
//! rollback Build itself (`rollback_build`), and the check the webhook makes before it applies
//! one (`image_to_apply`): the image must be the source Build's, a digest in the Binding's own
//! image repository, so whoever may create Builds can roll back but never run another image.
//! Pure: callers read the Builds and pass the time.

use std::borrow::Borrow;

use crate::new_build::{CommitRef, base36};
use crate::reference::ImageRef;
use crate::resources::{BuildTrigger, TriggerKind, build_name};
use crate::{Binding, Build, BuildPhase};

/// Why a rollback cannot be made or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    #[error(
        "build/{0} is not a Build of this Binding: list them with `kubectl mosaic status` and pick a Succeeded one"
    )]
    NoSuchBuild(String),
    #[error(
        "build/{0} did not succeed ({1}): only a Succeeded Build's image is known to run; pick another with --to"
    )]
    NotSucceeded(String, String),
    #[error("build/{0} recorded no image: nothing to apply again; pick another with --to")]
    NoImage(String),
    #[error(
        "no earlier Succeeded Build with another image than the one running: nothing to roll back to (deploy a commit instead)"
    )]
    NothingEarlier,
    #[error(
        "this rollback Build names no {0} in spec.trigger: recreate it with `kubectl mosaic rollback`"
    )]
    Incomplete(&'static str),
    #[error(
        "the image to apply again, {image}, is not a digest in the Binding's image repository {repository}: refused"
    )]
    ForeignImage { image: String, repository: String },
    #[error(
        "build/{build} (the rollback's source) ran {recorded}, not {image}: refused; recreate the rollback with `kubectl mosaic rollback`"
    )]
    Mismatch {
        build: String,
        recorded: String,
        image: String,
    },
}

fn phase(b: &Build) -> BuildPhase {
    b.status.as_ref().map(|s| s.phase).unwrap_or_default()
}

fn image(b: &Build) -> Option<&str> {
    b.status.as_ref().and_then(|s| s.image.as_deref())
}

/// Newest first: by creation time, then name (as `history` orders them).
fn newest_first<'a>(builds: impl Iterator<Item = &'a Build>) -> Vec<&'a Build> {
    let mut v: Vec<&Build> = builds.collect();
    v.sort_by(|a, b| {
        (&b.metadata.creation_timestamp, &b.metadata.name)
            .cmp(&(&a.metadata.creation_timestamp, &a.metadata.name))
    });
    v
}

/// The Builds a rollback may apply again, newest first: Succeeded, with an image, other than
/// `running` (the Binding's last deployed image); one per image (its newest Build).
pub fn candidates<'a, B: Borrow<Build>>(builds: &'a [B], running: Option<&str>) -> Vec<&'a Build> {
    let mut seen: Vec<&str> = running.into_iter().collect();
    let mut out = vec![];
    for b in newest_first(builds.iter().map(Borrow::borrow)) {
        let Some(img) = image(b) else { continue };
        if phase(b) != BuildPhase::Succeeded || seen.contains(&img) {
            continue;
        }
        seen.push(img);
        out.push(b);
    }
    out
}

/// The Build to roll back to: `to` by name (it must have succeeded with an image), else the
/// newest of [`candidates`].
pub fn choose<'a, B: Borrow<Build>>(
    builds: &'a [B],
    to: Option<&str>,
    running: Option<&str>,
) -> Result<&'a Build, RollbackError> {
    match to {
        Some(name) => {
            let b = builds
                .iter()
                .map(Borrow::borrow)
                .find(|b| b.metadata.name.as_deref() == Some(name))
                .ok_or_else(|| RollbackError::NoSuchBuild(name.to_string()))?;
            if phase(b) != BuildPhase::Succeeded {
                return Err(RollbackError::NotSucceeded(
                    name.to_string(),
                    phase(b).to_string(),
                ));
            }
            image(b).ok_or_else(|| RollbackError::NoImage(name.to_string()))?;
            Ok(b)
        }
        None => candidates(builds, running)
            .into_iter()
            .next()
            .ok_or(RollbackError::NothingEarlier),
    }
}

/// The rollback Build of `binding` to `source` (a Build [`choose`] returned), asked by `user` at
/// `now` (seconds since the epoch): the source's commit and ref, trigger `rollback` with the
/// source's name and image, named after the commit with a `-rb-<time>` suffix (the commit's
/// own name is the source's). `None` when the Binding was not read from the API server or the
/// source has no image.
pub fn rollback_build(
    binding: &Binding,
    source: &Build,
    user: Option<String>,
    now: u64,
) -> Option<Build> {
    let img = image(source)?.to_string();
    let src = source.metadata.name.clone()?;
    let commit = CommitRef {
        sha: &source.spec.commit,
        git_ref: &source.spec.git_ref,
    };
    let mut b = Build::for_commit(binding, commit, BuildTrigger::rollback(user, src, img))?;
    let base = build_name(&source.spec.binding, &source.spec.commit);
    b.metadata.name = Some(format!("{base}-rb-{}", base36(now)));
    Some(b)
}

/// Is `build` a rollback?
pub fn is_rollback(build: &Build) -> bool {
    build.spec.trigger.kind == TriggerKind::Rollback
}

/// The webhook's check before it applies a rollback: the image `build` names, when it is a
/// digest in `binding`'s image repository and `source` (the Build it names, as read now; `None`
/// when it is gone) succeeded with that very image.
pub fn image_to_apply(
    binding: &Binding,
    build: &Build,
    source: Option<&Build>,
) -> Result<String, RollbackError> {
    let t = &build.spec.trigger;
    let wanted = t.image.clone().ok_or(RollbackError::Incomplete("image"))?;
    let from = t.build.clone().ok_or(RollbackError::Incomplete("build"))?;
    let foreign = || RollbackError::ForeignImage {
        image: wanted.clone(),
        repository: binding.spec.image.clone(),
    };
    let parsed = ImageRef::parse(&wanted).map_err(|_| foreign())?;
    let own = ImageRef::parse_repository(&binding.spec.image).map_err(|_| foreign())?;
    if parsed.digest.is_none() || parsed.tag.is_some() || parsed.repository() != own.repository() {
        return Err(foreign());
    }
    let src = source
        .filter(|s| s.spec.binding == build.spec.binding)
        .ok_or_else(|| RollbackError::NoSuchBuild(from.clone()))?;
    if phase(src) != BuildPhase::Succeeded {
        return Err(RollbackError::NotSucceeded(from, phase(src).to_string()));
    }
    match image(src) {
        Some(i) if i == wanted => Ok(wanted),
        other => Err(RollbackError::Mismatch {
            build: from,
            recorded: other.unwrap_or("no image").to_string(),
            image: wanted,
        }),
    }
}

#[cfg(test)]
mod tests;
