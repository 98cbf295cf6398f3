//! The pipeline's own types: what every run shares (`Ctx`: the cluster client, the outside
//! world behind its `ports`, the `limits`, the metrics and the latest-wins caches), what one run
//! works on (`Work`), and how it ends (`Deployed`, or a `Stop`).

use kube::ResourceExt;
use mosaic_core::BuildReason;
use std::sync::Arc;
use std::time::Duration;

use mosaic_core::explain::Finding;
use mosaic_core::reference::RepoName;
use mosaic_core::resources::{Build, BuildPhase};
use tokio_util::sync::CancellationToken;

use super::credentials;
use super::latest::BuildCache;
use super::plan::BuildPlan;
use super::ports::{GitHistory, ImageBuilder, RegistryCheck, SourceHost, Token};
use crate::cluster::claim::ClaimError;
use crate::metrics::Metrics;
use mosaic_core::registry_auth::RegistryAuth;

/// What every run shares.
pub struct Ctx {
    pub client: kube::Client,
    pub ports: Ports,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    /// This worker's name in the claims it writes.
    pub identity: String,
    pub github_web_url: String,
    /// Commit statuses carry internal host names and addresses (`--report-details`).
    pub report_details: bool,
    pub shutdown: CancellationToken,
    /// Sibling Builds for latest-wins checks, from the controllers' watch caches.
    pub builds: BuildCache,
    /// Credentials for Bindings that name none (`--default-github-secret`, ...).
    pub defaults: credentials::Defaults,
}

/// The outside world, behind the pipeline's narrow traits.
pub struct Ports {
    pub builder: Arc<dyn ImageBuilder>,
    pub source: Arc<dyn SourceHost>,
    /// Where branches are (`latest`); `None` only in tests of other concerns.
    pub history: Option<Arc<dyn GitHistory>>,
    pub registry: Arc<dyn RegistryCheck>,
}

/// How long each part of a run may take, and how often a failed stage is tried again.
pub struct Limits {
    pub claim_ttl: Duration,
    pub heartbeat: Duration,
    pub build_timeout: Duration,
    pub rollout_timeout: Duration,
    /// The cluster's least verification window and readiness grace.
    pub verify: mosaic_core::verdict::Defaults,
    /// Pauses before each further try of a stage that failed transiently (`--retry-pauses`).
    pub retry_pauses: Vec<Duration>,
    /// How many finished Builds of a Binding are kept when its spec names no `history`.
    pub keep: mosaic_core::history::Defaults,
}

/// How a run ended early.
#[derive(Debug)]
pub enum Stop {
    Failed {
        reason: BuildReason,
        message: String,
        findings: Vec<Finding>,
        rolled_back: bool,
    },
    /// A newer Build of the same Binding wins.
    Superseded { build: String, commit: String },
    /// Decided without deploying (`latest`): behind the branch head, not on the branch,
    /// already deployed, or the Binding is paused. Ends in `phase` (Superseded or Cancelled).
    Decided {
        phase: BuildPhase,
        reason: BuildReason,
        message: String,
    },
    /// Shutting down: give the Build back.
    Cancelled,
    /// Another worker owns the Build now: touch nothing.
    Lost(ClaimError),
    /// A status write met a Kubernetes API server that stayed unreachable beyond the retry
    /// budget. The claim is still this worker's: the worker records the stop once the API
    /// answers again (never rebuilding the Build because of it).
    ApiUnavailable(ClaimError),
}

impl From<ClaimError> for Stop {
    fn from(e: ClaimError) -> Self {
        match e {
            ClaimError::Api(_) => Stop::ApiUnavailable(e),
            ClaimError::Lost(..) | ClaimError::Conflict(_) => Stop::Lost(e),
        }
    }
}

impl Stop {
    /// The same stop again, for a second use (one that ends a run is not copied).
    pub fn replay(&self) -> Self {
        match self {
            Stop::Failed {
                reason,
                message,
                findings,
                rolled_back,
            } => Stop::Failed {
                reason: *reason,
                message: message.clone(),
                findings: findings.clone(),
                rolled_back: *rolled_back,
            },
            Stop::Superseded { build, commit } => Stop::Superseded {
                build: build.clone(),
                commit: commit.clone(),
            },
            Stop::Decided {
                phase,
                reason,
                message,
            } => Stop::Decided {
                phase: *phase,
                reason: *reason,
                message: message.clone(),
            },
            _ => Stop::Cancelled,
        }
    }

    /// Superseded by `newer`.
    pub fn superseded_by(newer: &Build) -> Self {
        Stop::Superseded {
            build: newer.name_any(),
            commit: newer.spec.commit.clone(),
        }
    }
}

pub(crate) fn fail(reason: BuildReason, message: impl std::fmt::Display) -> Stop {
    Stop::Failed {
        reason,
        message: message.to_string(),
        findings: Vec::new(),
        rolled_back: false,
    }
}

/// The work of one run: what it knows about its commit, read once at the start.
pub struct Work {
    pub repo: RepoName,
    pub commit: String,
    /// The commit status context (`plan::status_context`).
    pub context: String,
    pub plan: BuildPlan,
    pub token: Option<Token>,
    pub auth: Option<RegistryAuth>,
}

/// Result of a successful run.
#[derive(Debug)]
pub struct Deployed {
    pub image: String,
    /// Stages that failed transiently and were run again, with why.
    pub retried: Vec<String>,
    /// Set when the image was taken over from another field manager.
    pub took_over: Option<String>,
}
