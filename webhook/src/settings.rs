//! The configuration `serve` runs with: the flags (`config::Config`, clap's low level) checked
//! once and turned into typed values (durations, byte counts, the secrets read from their
//! files), with what follows from them derived here and nowhere else: the Kubernetes API retry
//! budget from `--claim-ttl`, the engine's settings only for a replica that builds. A bad
//! combination of flags is one clear error before anything starts.

use std::net::SocketAddr;
use std::time::Duration;

use crate::adapters::docker::Builder;
use crate::config::{Config, ConfigError, LogFormat};
use crate::intake::signature::WebhookSecret;
use crate::pipeline::credentials;

/// The shortest Kubernetes API retry budget: an API server restart takes seconds.
const MIN_API_BUDGET: Duration = Duration::from_secs(30);

/// How long a stopping server keeps trying to record outcomes it could not write while the API
/// server was unreachable (well inside Kubernetes' default 30 s termination grace period).
const PARKED_ON_SHUTDOWN: Duration = Duration::from_secs(10);

/// Each registry request of the digest and credential checks.
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(30);

/// The Docker engine of a replica that builds.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub host: String,
    pub builder: Builder,
    /// How long to wait at start for the engine beside the webhook.
    pub wait: Duration,
    pub push_timeout: Duration,
    /// The BuildKit `# syntax=` frontends builds may name (`--syntax-frontends`).
    pub syntax_frontends: Vec<String>,
    /// Keep the engine's disk under a budget (`--engine-disk-budget`); `None`: never prune.
    pub prune: Option<Prune>,
}

/// `--engine-disk-budget` bytes, checked every `--engine-prune-interval`.
#[derive(Debug, Clone, Copy)]
pub struct Prune {
    pub budget: u64,
    pub every: Duration,
}

/// Everything `serve` needs, checked.
#[derive(Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    /// Empty: all namespaces.
    pub namespaces: Vec<String>,
    pub secrets: Vec<WebhookSecret>,
    /// Failures posted to GitHub keep internal host names (`--report-details`).
    pub report_details: bool,
    pub identity: String,
    /// Builds run at once; 0 runs no worker (an intake-only replica).
    pub concurrency: u16,
    /// `None` for an intake-only replica, which never connects to an engine.
    pub engine: Option<EngineSettings>,
    pub github_api_url: String,
    pub github_web_url: String,
    pub github_timeout: Duration,
    pub registry_timeout: Duration,
    pub insecure_registries: Vec<String>,
    pub claim_ttl: Duration,
    pub heartbeat: Duration,
    /// How long a Kubernetes API call keeps retrying while the API server is away: as long as a
    /// claim lives (another replica takes a Build over only after that), and at least 30 s.
    pub api_retry_budget: Duration,
    pub build_timeout: Duration,
    pub rollout_timeout: Duration,
    pub verify: mosaic_core::verdict::Defaults,
    pub retry_pauses: Vec<Duration>,
    pub keep: mosaic_core::history::Defaults,
    pub request_timeout: Duration,
    /// `Duration::ZERO`: off.
    pub resync_interval: Duration,
    pub max_requests: usize,
    pub max_inflight_bytes: usize,
    pub defaults: credentials::Defaults,
    pub parked_on_shutdown: Duration,
    pub log_format: LogFormat,
}

/// A flag combination that cannot work, said once before exiting.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "--claim-ttl must be at least 1 second: with 0 every running Build looks abandoned to the other replicas"
    )]
    ZeroClaimTtl,
    #[error(
        "--heartbeat ({heartbeat} s) must be shorter than --claim-ttl ({ttl} s), or other replicas take running Builds over; lower --heartbeat or raise --claim-ttl"
    )]
    HeartbeatTooSlow { heartbeat: u64, ttl: u64 },
    #[error(
        "--build-timeout, --rollout-timeout, --request-timeout and --github-timeout must be at least 1 second (got 0 for {0})"
    )]
    ZeroTimeout(&'static str),
}

impl Settings {
    /// Check `cfg` and derive the settings (reads the webhook secret files).
    pub fn from_config(cfg: &Config) -> Result<Self, SettingsError> {
        let secs = Duration::from_secs;
        if cfg.claim_ttl_secs == 0 {
            return Err(SettingsError::ZeroClaimTtl);
        }
        // A heartbeat of 0 has always meant "every second".
        let heartbeat = cfg.heartbeat_secs.max(1);
        if heartbeat >= cfg.claim_ttl_secs {
            return Err(SettingsError::HeartbeatTooSlow {
                heartbeat,
                ttl: cfg.claim_ttl_secs,
            });
        }
        for (flag, v) in [
            ("--build-timeout", cfg.build_timeout_secs),
            ("--rollout-timeout", cfg.rollout_timeout_secs),
            ("--request-timeout", cfg.request_timeout_secs),
            ("--github-timeout", cfg.github_timeout_secs),
        ] {
            if v == 0 {
                return Err(SettingsError::ZeroTimeout(flag));
            }
        }
        let claim_ttl = secs(cfg.claim_ttl_secs);
        Ok(Self {
            listen: cfg.listen,
            namespaces: cfg.namespaces.clone(),
            secrets: cfg.secrets()?,
            report_details: cfg.report_details,
            identity: cfg.identity(),
            concurrency: cfg.concurrency,
            engine: (cfg.concurrency > 0).then(|| EngineSettings {
                host: cfg.docker_host.clone(),
                builder: cfg.builder,
                wait: secs(cfg.engine_wait_secs),
                push_timeout: secs(cfg.push_timeout_secs),
                syntax_frontends: cfg.syntax_frontends.clone(),
                prune: (cfg.engine_disk_budget > 0).then(|| Prune {
                    budget: cfg.engine_disk_budget,
                    every: secs(cfg.engine_prune_interval_secs),
                }),
            }),
            github_api_url: cfg.github_api_url.clone(),
            github_web_url: cfg.github_web_url.clone(),
            github_timeout: secs(cfg.github_timeout_secs),
            registry_timeout: REGISTRY_TIMEOUT,
            insecure_registries: cfg.insecure_registries.clone(),
            claim_ttl,
            heartbeat: secs(heartbeat),
            api_retry_budget: claim_ttl.max(MIN_API_BUDGET),
            build_timeout: secs(cfg.build_timeout_secs),
            rollout_timeout: secs(cfg.rollout_timeout_secs),
            verify: mosaic_core::verdict::Defaults {
                window: cfg.verify_window,
                grace: cfg.ready_grace,
            },
            retry_pauses: cfg.retry_pauses.iter().map(|s| secs(*s)).collect(),
            keep: mosaic_core::history::Defaults {
                succeeded: cfg.history_succeeded,
                failed: cfg.history_failed,
            },
            request_timeout: secs(cfg.request_timeout_secs),
            resync_interval: secs(cfg.resync_interval_secs),
            max_requests: usize::from(cfg.max_requests),
            max_inflight_bytes: cfg.max_inflight_mib as usize * 1024 * 1024,
            defaults: credentials::Defaults {
                github: cfg.default_github_secret.clone(),
                registry: cfg.default_registry_secret.clone(),
            },
            parked_on_shutdown: PARKED_ON_SHUTDOWN,
            log_format: cfg.log_format,
        })
    }
}

#[cfg(test)]
mod tests;
