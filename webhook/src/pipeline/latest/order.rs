//! The order of a Binding's Builds, pure: when a Build was pushed (`push_time`), the
//! latest-wins order (`order_key`), what of a Build's status decides (`Standing`: whether it
//! still stands in the way of older ones, whether it reached the Deployment), and the two
//! questions asked of the siblings: is there a newer Build that still counts (`newer_build`),
//! and has a newer Build reached the Deployment (`deployment_taken_by`).

use std::borrow::Borrow;

use chrono::{DateTime, Utc};
use mosaic_core::names;
use mosaic_core::resources::{Build, BuildPhase};

/// When a Build's push happened: the intake's annotation, else its creation time. The
/// annotation only refines the creation time the API server wrote (whole seconds): one that
/// disagrees with it (written by anyone but the intake) is ignored, so it cannot freeze later
/// deploys by claiming a push from the future.
pub fn push_time(b: &Build) -> Option<DateTime<Utc>> {
    let created = b
        .metadata
        .creation_timestamp
        .as_ref()
        .map(crate::cluster::claim::to_chrono);
    let annotated = b
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(names::ANNOTATION_PUSHED_AT))
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc());
    match (annotated, created) {
        (Some(a), Some(c)) if (a - c).num_seconds().abs() <= 1 => Some(a),
        (_, Some(c)) => Some(c),
        (a, None) => a,
    }
}

/// What latest-wins reads of a Build's status: its phase, whether it announced a rollout
/// (`phaseTimes.rollingOut`), and whether it rolled back. The watch cache keeps only this of
/// each Build (`build_cache`), so the rules below are asked of it, not of whole Builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    pub phase: BuildPhase,
    pub announced: bool,
    pub rolled_back: bool,
}

impl Standing {
    /// `None` for a Build without a status (not yet seen by a worker).
    pub fn of(b: &Build) -> Option<Standing> {
        b.status.as_ref().map(|s| Standing {
            phase: s.phase,
            announced: s.phase_times.rolling_out.is_some(),
            rolled_back: s.rolled_back,
        })
    }

    /// Does this Build still stand in the way of older ones (may deploy, or did deploy)? A
    /// Build counts once the worker admitted it (`latest`: it was the branch head): one still
    /// Pending may be a late redelivery of an old push, and must not stop the head.
    pub fn still_counts(self) -> bool {
        match self.phase {
            BuildPhase::Pending | BuildPhase::Superseded | BuildPhase::Cancelled => false,
            BuildPhase::Failed => self.announced && !self.rolled_back,
            _ => true,
        }
    }

    /// Has this Build reached its Deployment: announced a rollout (RollingOut), finished one
    /// (Succeeded), or stopped after announcing one without rolling back? Such a Build may have
    /// applied its image.
    pub fn reached_deployment(self) -> bool {
        matches!(
            self.phase,
            BuildPhase::RollingOut | BuildPhase::Verifying | BuildPhase::Succeeded
        ) || (self.announced && !self.rolled_back)
    }
}

/// [`Standing::still_counts`] of a whole Build (`false` without a status).
fn still_counts(b: &Build) -> bool {
    Standing::of(b).is_some_and(Standing::still_counts)
}

/// Latest-wins order: push time, then name.
pub(crate) fn order_key(b: &Build) -> (Option<DateTime<Utc>>, Option<String>) {
    (push_time(b), b.metadata.name.clone())
}

/// Builds of `this`'s Binding pushed after it.
fn newer<'a, B: Borrow<Build>>(this: &Build, siblings: &'a [B]) -> impl Iterator<Item = &'a Build> {
    let mine = order_key(this);
    let binding = this.spec.binding.clone();
    let name = this.metadata.name.clone();
    siblings
        .iter()
        .map(Borrow::borrow)
        .filter(move |b| b.spec.binding == binding && b.metadata.name != name)
        .filter(move |b| order_key(b) > mine)
}

/// Latest wins: the newest Build of the same Binding that is newer than `this` and still
/// counts. `this` must not roll out while one exists. `siblings` may be shared (`Arc`s from a
/// watch cache), so a check over thousands of Builds copies none of them.
pub fn newer_build<'a, B: Borrow<Build>>(this: &Build, siblings: &'a [B]) -> Option<&'a Build> {
    newer(this, siblings)
        .filter(|b| still_counts(b))
        .max_by_key(|b| order_key(b))
}

/// [`Standing::reached_deployment`] of a whole Build (`false` without a status).
fn reached_deployment(b: &Build) -> bool {
    Standing::of(b).is_some_and(Standing::reached_deployment)
}

/// The newest Build of the same Binding, newer than `this`, that has reached the Deployment.
/// While one exists `this` must not apply its image, roll back, or count a rollout as its own.
///
/// Rollouts of one Binding are not serialised across replicas (there is no lock); instead every
/// worker (1) announces by writing its Build's phase RollingOut, (2) reads the Deployment,
/// (3) lists the Binding's Builds and asks this function (and [`newer_build`]), and (4) applies
/// its image with a server-side apply conditional on the resourceVersion read in (2), retrying
/// from (2) on a conflict. Because the API server orders these writes, this guarantees: once a
/// newer Build's image has been applied, no older Build's apply succeeds (the older one either
/// saw the newer one's announcement in (3), or its apply carries a resourceVersion from before
/// the newer apply and is refused), and an older Build never rolls back over it. It does not
/// guarantee that the newest commit is the one running: a newer Build may still fail, and the
/// Deployment can be changed by anyone else in between.
pub fn deployment_taken_by<'a>(this: &Build, siblings: &'a [Build]) -> Option<&'a Build> {
    newer(this, siblings)
        .filter(|b| reached_deployment(b))
        .max_by_key(|b| order_key(b))
}

#[cfg(test)]
mod tests;
