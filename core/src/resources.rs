//! The resource model: Mosaic's custom resources `Binding` and `Build`
//! (group `mosaic.nectar.dev`, version `v1alpha1`). CRD manifests are generated
//! from these types (`cargo xtask gen`), never written by hand.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::DURATION_PATTERN;
use crate::explain::Finding;
use crate::names;
use crate::reference::{COMMIT_PATTERN, IMAGE_REPOSITORY_PATTERN, REPO_PATTERN};

fn default_branch() -> String {
    names::DEFAULT_BRANCH.to_string()
}
fn default_dockerfile() -> String {
    names::DEFAULT_DOCKERFILE.to_string()
}
fn default_context() -> String {
    names::DEFAULT_CONTEXT.to_string()
}
fn default_true() -> bool {
    true
}

/// Ties one container of a Deployment to a GitHub repository branch and an image repository.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "mosaic.nectar.dev",
    version = "v1alpha1",
    kind = "Binding",
    plural = "bindings",
    shortname = "mbind",
    category = "mosaic",
    namespaced,
    status = "BindingStatus",
    printcolumn = r#"{"name":"Deployment","type":"string","jsonPath":".spec.deployment"}"#,
    printcolumn = r#"{"name":"Repo","type":"string","jsonPath":".spec.repo"}"#,
    printcolumn = r#"{"name":"Branch","type":"string","jsonPath":".spec.branch"}"#,
    printcolumn = r#"{"name":"Image","type":"string","jsonPath":".spec.image"}"#,
    printcolumn = r#"{"name":"Commit","type":"string","jsonPath":".status.lastCommit"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BindingSpec {
    /// Name of the Deployment (same namespace) this Binding rolls.
    #[schemars(length(min = 1, max = 253))]
    pub deployment: String,
    /// Container to update; may be omitted when the pod has a single container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// GitHub repository, `owner/name`.
    #[schemars(regex(pattern = REPO_PATTERN))]
    pub repo: String,
    /// Branch whose pushes are built and deployed.
    #[serde(default = "default_branch")]
    #[schemars(length(min = 1, max = 255))]
    pub branch: String,
    /// Image repository without tag or digest, e.g. `registry.example.com/team/api`.
    #[schemars(regex(pattern = IMAGE_REPOSITORY_PATTERN))]
    pub image: String,
    /// Path of the Dockerfile, relative to `context`.
    #[serde(default = "default_dockerfile")]
    pub dockerfile: String,
    /// Build context: a directory of the repository.
    #[serde(default = "default_context")]
    pub context: String,
    /// Name of a `kubernetes.io/dockerconfigjson` Secret with push credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_secret: Option<String>,
    /// Name of a Secret holding a GitHub token under the key `token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_secret: Option<String>,
    /// Roll back to the previous image when a rollout fails.
    #[serde(default = "default_true")]
    pub rollback_on_failure: bool,
    /// When true, pushes are ignored and recorded Builds end Cancelled: nothing is built or rolled.
    #[serde(default)]
    pub paused: bool,
    /// How a rollout is verified before its Build counts as Succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifySpec>,
    /// Take the container's image over from another field manager (Argo CD, Flux, Helm,
    /// kubectl) when it owns it. Without it such a Build fails, naming the manager.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub take_ownership: bool,
    /// How many finished Builds of this Binding to keep; the rest are deleted by the builder
    /// that finishes a newer one. Unset: the webhook's `--history-succeeded`/`--history-failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistorySpec>,
}

/// How many finished Builds of a Binding are kept (like a CronJob's `successfulJobsHistoryLimit`
/// and `failedJobsHistoryLimit`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistorySpec {
    /// Succeeded Builds to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub succeeded: Option<u32>,
    /// Builds that ended any other way (failed, superseded, cancelled) to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub failed: Option<u32>,
}

/// How a rollout is judged (durations as Kubernetes writes them: `30s`, `1m30s`). Unset fields
/// are derived from the Deployment (`minReadySeconds`, its probes), never below the webhook's
/// `--verify-window` and `--ready-grace`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifySpec {
    /// How long the new pods must stay healthy after the rollout completed: a restart, a
    /// non-zero exit or an OOM kill of a new pod in this window fails the Build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub window: Option<String>,
    /// How long every new pod may stay unready (or unschedulable) before the rollout fails,
    /// instead of waiting for the Deployment's progress deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub grace: Option<String>,
}

/// Observed state of a Binding.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Commit of the last successful deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_commit: Option<String>,
    /// Image (`repo@sha256:…`) of the last successful deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_image: Option<String>,
    /// Name of the most recent Build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_build: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// One build-and-roll of an exact commit for one Binding.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "mosaic.nectar.dev",
    version = "v1alpha1",
    kind = "Build",
    plural = "builds",
    shortname = "mbuild",
    category = "mosaic",
    namespaced,
    status = "BuildStatus",
    printcolumn = r#"{"name":"Binding","type":"string","jsonPath":".spec.binding"}"#,
    printcolumn = r#"{"name":"Commit","type":"string","jsonPath":".spec.commit"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Image","type":"string","jsonPath":".status.image"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BuildSpec {
    /// Name of the Binding (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub binding: String,
    /// Full 40-hex commit SHA to build.
    #[schemars(regex(pattern = COMMIT_PATTERN))]
    pub commit: String,
    /// Git ref the commit was pushed to or chosen from, e.g. `refs/heads/main`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub trigger: BuildTrigger,
}

/// What started a Build.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildTrigger {
    #[serde(rename = "type")]
    pub kind: TriggerKind,
    /// GitHub delivery id (`X-GitHub-Delivery`) for push triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    /// GitHub login of the pusher, for push triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pusher: Option<String>,
    /// User who asked for a manual build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// For push triggers: the commit the branch pointed at before the push. A later push of
    /// the same commit from elsewhere (a reset) is a new Build; a redelivery is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// For rollback triggers: the earlier successful Build whose image is applied again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// For rollback triggers: that Build's image (`repo@sha256:…`), applied without a rebuild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TriggerKind {
    #[serde(rename = "push")]
    Push,
    #[serde(rename = "manual")]
    Manual,
    /// Recorded by the webhook's resync: the branch head had no Build (a lost delivery).
    #[serde(rename = "resync")]
    Resync,
    /// Apply an earlier successful Build's image again (`trigger.build`, `trigger.image`):
    /// nothing is fetched or built (`kubectl mosaic rollback`).
    #[serde(rename = "rollback")]
    Rollback,
}

/// Lifecycle of a Build.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum BuildPhase {
    #[default]
    Pending,
    Building,
    Pushing,
    RollingOut,
    /// The rollout completed; the new pods must stay healthy for the verification window.
    Verifying,
    Succeeded,
    Failed,
    Superseded,
    Cancelled,
}

impl BuildPhase {
    /// Terminal phases never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Superseded | Self::Cancelled
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Building => "Building",
            Self::Pushing => "Pushing",
            Self::RollingOut => "RollingOut",
            Self::Verifying => "Verifying",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Superseded => "Superseded",
            Self::Cancelled => "Cancelled",
        }
    }
}

impl std::fmt::Display for BuildPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When the Build entered each phase.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhaseTimes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushing: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_out: Option<Time>,
    /// When the rollout completed and verification of the new pods began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifying: Option<Time>,
    /// When a terminal phase was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Time>,
}

/// Observed state of a Build.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildStatus {
    #[serde(default)]
    pub phase: BuildPhase,
    #[serde(default)]
    pub phase_times: PhaseTimes,
    /// Built image by digest, `repo@sha256:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Machine-readable reason for the current phase (CamelCase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message for the current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Explain findings when a rollout failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Identity of the worker that owns this Build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// Last time the owning worker proved it is alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<Time>,
    /// Last lines of the build log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
    /// Image the Deployment ran before this Build's rollout (for rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_image: Option<String>,
    /// The pod template's Mosaic annotations before this Build's rollout (commit, Build), so a
    /// rollback restores the previous template exactly and its ReplicaSet scales back up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_build: Option<String>,
    /// True when a failed rollout was rolled back to `previousImage`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rolled_back: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The commit statuses sent to GitHub for this Build, oldest first; the newest 10
    /// (`commit_status::MAX_REPORTS`) are kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = crate::commit_status::MAX_REPORTS))]
    pub commit_statuses: Vec<crate::commit_status::CommitReport>,
}

/// Deterministic Build name for (binding, commit): a redelivery or duplicate push maps to the same name.
pub fn build_name(binding: &str, commit: &str) -> String {
    let short: String = commit.chars().take(12).collect();
    // Names are DNS subdomains (<= 253); keep room for the suffix and hash.
    let mut base: String = binding.chars().take(200).collect();
    if base.len() < binding.len() {
        use sha2::{Digest, Sha256};
        let h = hex::encode(Sha256::digest(binding.as_bytes()));
        base.push('-');
        base.push_str(&h[..8]);
    }
    format!("{base}-{short}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    #[test]
    fn group_and_version_come_from_names() {
        assert_eq!(Binding::group(&()), names::API_GROUP);
        assert_eq!(Build::group(&()), names::API_GROUP);
        assert_eq!(Binding::version(&()), names::API_VERSION);
        assert_eq!(Binding::api_version(&()), names::API_GROUP_VERSION);
        assert_eq!(Binding::kind(&()), names::KIND_BINDING);
        assert_eq!(Build::kind(&()), names::KIND_BUILD);
    }

    #[test]
    fn binding_defaults_apply() {
        let spec: BindingSpec = serde_json::from_value(serde_json::json!({
            "deployment": "api", "repo": "acme/api", "image": "registry.example.com/acme/api"
        }))
        .unwrap();
        assert_eq!(spec.branch, "main");
        assert_eq!(spec.dockerfile, "Dockerfile");
        assert_eq!(spec.context, ".");
        assert!(spec.rollback_on_failure);
        assert!(!spec.paused);
    }

    #[test]
    fn build_name_is_deterministic_and_short() {
        let c = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(build_name("api", c), "api-0123456789ab");
        assert_eq!(build_name("api", c), build_name("api", c));
        let long = "a".repeat(253);
        let n = build_name(&long, c);
        assert!(n.len() <= 253, "{}", n.len());
        assert_ne!(build_name(&long, c), build_name(&"a".repeat(252), c));
    }

    #[test]
    fn terminal_phases() {
        assert!(BuildPhase::Succeeded.is_terminal());
        assert!(BuildPhase::Superseded.is_terminal());
        assert!(!BuildPhase::RollingOut.is_terminal());
    }
}
