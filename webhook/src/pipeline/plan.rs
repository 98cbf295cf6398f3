//! Pure build and rollout decisions: the image tag and OCI labels for a commit, latest-wins
//! between Builds of one Binding, the server-side-apply patch that rolls a Deployment, reading a
//! Deployment's rollout state, and the one-line text for a GitHub commit status.

use std::borrow::Borrow;
use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use mosaic_core::names;
use mosaic_core::reference::{ImageRef, ReferenceError};
use mosaic_core::resources::{BindingSpec, Build, BuildPhase};

use crate::pipeline::context::{ContextError, ContextSpec};

/// GitHub's limit on a commit status description.
pub const STATUS_DESCRIPTION_MAX: usize = 140;
/// Commit status context Mosaic reports under.
pub const STATUS_CONTEXT: &str = "mosaic";

/// The commit status context of one Binding, `mosaic/<namespace>/<binding>`: a staging success
/// never hides a production failure on the same commit.
pub fn status_context(namespace: &str, binding: &str) -> String {
    format!("{STATUS_CONTEXT}/{namespace}/{binding}")
}

/// Why a Binding cannot be built as configured.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("Binding image: {0}")]
    Image(#[from] ReferenceError),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error(
        "Deployment {deployment} has containers {containers:?}; set spec.container on the Binding to pick one"
    )]
    AmbiguousContainer {
        deployment: String,
        containers: Vec<String>,
    },
    #[error("Deployment {deployment} has no container named {container:?} (it has {containers:?})")]
    NoSuchContainer {
        deployment: String,
        container: String,
        containers: Vec<String>,
    },
}

/// Everything the build and push steps need, decided up front.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildPlan {
    /// Repository without tag, as written in the Binding.
    pub repository: String,
    /// Registry host for credential lookup.
    pub registry_host: String,
    /// `<image>:<short-sha>`.
    pub tag: String,
    pub labels: HashMap<String, String>,
    pub context: ContextSpec,
}

/// Short commit id used in tags.
pub fn short_sha(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// Plan the build of `commit` for a Binding. `source` is the repository's web URL.
pub fn plan_build(
    spec: &BindingSpec,
    commit: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<BuildPlan, PlanError> {
    let image = ImageRef::parse_repository(&spec.image)?;
    let labels = HashMap::from([
        (names::OCI_LABEL_REVISION.to_string(), commit.to_string()),
        (names::OCI_LABEL_SOURCE.to_string(), source.to_string()),
        (
            names::OCI_LABEL_CREATED.to_string(),
            now.to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
    ]);
    Ok(BuildPlan {
        repository: image.repository(),
        registry_host: image.registry_host().to_string(),
        tag: format!("{}:{}", image.repository(), short_sha(commit)),
        labels,
        context: ContextSpec::new(&spec.context, &spec.dockerfile)?,
    })
}

/// When a Build's push happened: the intake's annotation, else its creation time. The
/// annotation only refines the creation time the API server wrote (whole seconds): one that
/// disagrees with it (written by anyone but the intake) is ignored, so it cannot freeze later
/// deploys by claiming a push from the future.
pub fn push_time(b: &Build) -> Option<DateTime<Utc>> {
    let created = b
        .metadata
        .creation_timestamp
        .as_ref()
        .map(crate::worker::claim::to_chrono);
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

/// Does this Build still stand in the way of older ones (may deploy, or did deploy)? A Build
/// counts once the worker admitted it (`latest`: it was the branch head): one still Pending
/// may be a late redelivery of an old push, and must not stop the head.
fn still_counts(b: &Build) -> bool {
    let Some(s) = &b.status else { return false };
    match s.phase {
        BuildPhase::Pending | BuildPhase::Superseded | BuildPhase::Cancelled => false,
        BuildPhase::Failed => s.phase_times.rolling_out.is_some() && !s.rolled_back,
        _ => true,
    }
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

/// Does `b` stop `this` by latest wins: a Build of the same Binding, pushed after it, that still
/// counts? ([`newer_build`] is the newest such sibling.)
pub fn supersedes(b: &Build, this: &Build) -> bool {
    b.spec.binding == this.spec.binding
        && b.metadata.name != this.metadata.name
        && order_key(b) > order_key(this)
        && still_counts(b)
}

/// Has `b` reached its Deployment: announced a rollout (RollingOut), finished one (Succeeded),
/// or stopped after announcing one without rolling back? Such a Build may have applied its image.
fn reached_deployment(b: &Build) -> bool {
    let Some(s) = &b.status else { return false };
    matches!(
        s.phase,
        BuildPhase::RollingOut | BuildPhase::Verifying | BuildPhase::Succeeded
    ) || (s.phase_times.rolling_out.is_some() && !s.rolled_back)
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

/// Pick the container a Binding updates.
pub fn pick_container(spec: &BindingSpec, dep: &Deployment) -> Result<String, PlanError> {
    let deployment = dep.metadata.name.clone().unwrap_or_default();
    let containers: Vec<String> = dep
        .spec
        .template
        .spec
        .as_ref()
        .map(|p| p.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    match &spec.container {
        Some(c) if containers.contains(c) => Ok(c.clone()),
        Some(c) => Err(PlanError::NoSuchContainer {
            deployment,
            container: c.clone(),
            containers,
        }),
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => Err(PlanError::AmbiguousContainer {
            deployment,
            containers,
        }),
    }
}

/// Current image of a container.
pub fn container_image(dep: &Deployment, container: &str) -> Option<String> {
    dep.spec
        .template
        .spec
        .as_ref()?
        .containers
        .iter()
        .find(|c| c.name == container)?
        .image
        .clone()
}

/// The server-side-apply body that sets only one container's image and the commit annotation.
pub fn rollout_patch(
    dep_name: &str,
    container: &str,
    image: &str,
    commit: &str,
    build: &str,
) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": dep_name },
        "spec": { "template": {
            "metadata": { "annotations": { names::ANNOTATION_COMMIT: commit, names::ANNOTATION_BUILD: build } },
            "spec": { "containers": [ { "name": container, "image": image } ] }
        } }
    })
}

/// Where a rollout stands, read as `kubectl rollout status` reads it (defined once, in core).
pub use mosaic_core::verdict::{Rollout, rollout_state};

/// A one-line commit status description: first line only, at most 140 characters.
pub fn status_description(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() <= STATUS_DESCRIPTION_MAX {
        return line.to_string();
    }
    let mut s: String = line.chars().take(STATUS_DESCRIPTION_MAX - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests;
