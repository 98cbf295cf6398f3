//! Pure build and rollout decisions: the image tag and OCI labels for a commit, the
//! server-side-apply patch that rolls a Deployment, reading a Deployment's rollout state, and
//! the one-line text for a GitHub commit status. (Which Build may run and roll is `latest`.)

use kube::ResourceExt;
use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use mosaic_core::reference::{ImageRef, ReferenceError};
use mosaic_core::resources::BindingSpec;
use mosaic_core::{bound_container, names};

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
    /// `<image>:<short-sha>`; the pipeline gives each Build its own (`resume::tag_for`).
    pub tag: String,
    pub labels: HashMap<String, String>,
    pub context: ContextSpec,
}

impl BuildPlan {
    /// The tag alone (what follows the repository in `tag`).
    pub fn tag_name(&self) -> &str {
        self.tag
            .strip_prefix(&self.repository)
            .and_then(|t| t.strip_prefix(':'))
            .unwrap_or(&self.tag)
    }
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

/// Pick the container a Binding updates.
pub fn pick_container(spec: &BindingSpec, dep: &Deployment) -> Result<String, PlanError> {
    let deployment = dep.name_any();
    let containers = bound_container::container_names(dep);
    match bound_container::written(spec.container.as_deref(), &containers) {
        Some(c) if containers.contains(&c) => Ok(c),
        Some(c) => Err(PlanError::NoSuchContainer {
            deployment,
            container: c,
            containers,
        }),
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
