//! Configuration: command-line flags with `MOSAIC_*` environment fallbacks, parsed once at start
//! (the low level; `settings` checks them and turns them into typed values). This file holds the
//! flags themselves; the checks of single values clap cannot make by type are in `parse`, and
//! what the flags point at, read at start (the webhook secret files, this replica's identity),
//! is in `resolve`.

mod parse;
mod resolve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::adapters::docker::Builder;
use crate::pipeline::credentials::SecretRef;

pub use resolve::ConfigError;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Mosaic's in-cluster webhook: builds and rolls pushed commits.
#[derive(Parser, Debug, Clone)]
#[command(name = "mosaic-webhook", version, about)]
pub struct Config {
    /// Address to serve the webhook, health and metrics on.
    #[arg(long, env = "MOSAIC_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Namespace to watch for Bindings and Builds (repeatable; default: all namespaces).
    #[arg(long = "namespace", env = "MOSAIC_NAMESPACE", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// File holding a webhook secret (repeatable: give two while rotating). Required with
    /// `--concurrency 0` (the intake); a builder given none refuses every delivery (401).
    #[arg(
        long = "webhook-secret-file",
        env = "MOSAIC_WEBHOOK_SECRET_FILE",
        value_delimiter = ','
    )]
    pub webhook_secret_files: Vec<PathBuf>,
    /// Docker engine address, `unix:///path` or `tcp://host:port`.
    #[arg(
        long,
        env = "MOSAIC_DOCKER_HOST",
        default_value = "unix:///var/run/docker.sock"
    )]
    pub docker_host: String,
    /// Builder the engine uses for every Binding.
    #[arg(long, env = "MOSAIC_BUILDER", value_enum, default_value = "classic")]
    pub builder: Builder,
    /// GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3).
    #[arg(
        long,
        env = "MOSAIC_GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    pub github_api_url: String,
    /// GitHub web base URL, for the image's source label.
    #[arg(
        long,
        env = "MOSAIC_GITHUB_WEB_URL",
        default_value = "https://github.com"
    )]
    pub github_web_url: String,
    /// Builds run at the same time by this replica. 0 runs no worker: an intake-only replica
    /// that only records Builds, for the replicas that build them.
    #[arg(long, env = "MOSAIC_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=64))]
    pub concurrency: u16,
    /// Seconds without a heartbeat after which another worker takes a Build over.
    #[arg(
        long = "claim-ttl",
        value_name = "SECS",
        env = "MOSAIC_CLAIM_TTL",
        default_value_t = 30
    )]
    pub claim_ttl_secs: u64,
    /// Seconds between heartbeats on a running Build.
    #[arg(
        long = "heartbeat",
        value_name = "SECS",
        env = "MOSAIC_HEARTBEAT",
        default_value_t = 5
    )]
    pub heartbeat_secs: u64,
    /// Seconds a build may take.
    #[arg(
        long = "build-timeout",
        value_name = "SECS",
        env = "MOSAIC_BUILD_TIMEOUT",
        default_value_t = 1800
    )]
    pub build_timeout_secs: u64,
    /// Succeeded Builds kept per Binding when its `spec.history` names no number; older ones
    /// are deleted by the builder that finishes a newer one.
    #[arg(long = "history-succeeded", value_name = "N", env = "MOSAIC_HISTORY_SUCCEEDED", default_value_t = mosaic_core::history::DEFAULT_KEEP)]
    pub history_succeeded: u32,
    /// Builds that ended any other way (failed, superseded, cancelled) kept per Binding when its
    /// `spec.history` names no number.
    #[arg(long = "history-failed", value_name = "N", env = "MOSAIC_HISTORY_FAILED", default_value_t = mosaic_core::history::DEFAULT_KEEP)]
    pub history_failed: u32,
    /// Deliveries handled at once; beyond it the intake answers 503 with Retry-After.
    #[arg(
        long = "max-requests",
        value_name = "N",
        env = "MOSAIC_MAX_REQUESTS",
        default_value_t = mosaic_core::names::INTAKE_MAX_REQUESTS,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub max_requests: u16,
    /// MiB of delivery bodies held at once, all deliveries together; beyond it the intake
    /// answers 503 with Retry-After (the intake's memory limit follows from it: README).
    #[arg(
        long = "max-inflight-mib",
        value_name = "MIB",
        env = "MOSAIC_MAX_INFLIGHT_MIB",
        default_value_t = mosaic_core::names::INTAKE_INFLIGHT_MIB,
        value_parser = clap::value_parser!(u64).range(1..=4096)
    )]
    pub max_inflight_mib: u64,
    /// Seconds one image push may take (a registry that accepts the connection and then
    /// stalls): beyond it the push fails as transient and is tried again.
    #[arg(
        long = "push-timeout",
        value_name = "SECS",
        env = "MOSAIC_PUSH_TIMEOUT",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub push_timeout_secs: u64,
    /// The engine's disk budget (`16Gi`, bytes with a Ki/Mi/Gi/Ti or k/M/G/T suffix): every
    /// `--engine-prune-interval` the engine is pruned back under it while no build runs. `0`:
    /// never prune.
    #[arg(
        long = "engine-disk-budget",
        value_name = "SIZE",
        env = "MOSAIC_ENGINE_DISK_BUDGET",
        default_value = "0",
        value_parser = |s: &str| mosaic_core::size::parse_bytes(s).map_err(|e| e.to_string())
    )]
    pub engine_disk_budget: u64,
    /// BuildKit frontends a Dockerfile's `# syntax=` line may name, each pinned by digest
    /// (`docker/dockerfile:1.7@sha256:…`, repeatable or comma-separated). Any other is refused,
    /// and by default all are. The classic builder ignores the line.
    #[arg(
        long = "syntax-frontends",
        value_name = "REF@sha256:DIGEST",
        env = "MOSAIC_SYNTAX_FRONTENDS",
        value_delimiter = ',',
        value_parser = parse::pinned_frontend
    )]
    pub syntax_frontends: Vec<String>,
    /// Seconds between two checks of the engine's disk against `--engine-disk-budget`.
    #[arg(
        long = "engine-prune-interval",
        value_name = "SECS",
        env = "MOSAIC_ENGINE_PRUNE_INTERVAL",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub engine_prune_interval_secs: u64,
    /// Seconds a rollout may take before it counts as failed.
    #[arg(
        long = "rollout-timeout",
        value_name = "SECS",
        env = "MOSAIC_ROLLOUT_TIMEOUT",
        default_value_t = 600
    )]
    pub rollout_timeout_secs: u64,
    /// How long the new pods must stay healthy after a rollout completed before its Build is
    /// Succeeded (the least window: a Deployment's `minReadySeconds` and probes can call for
    /// more, a Binding's `spec.verify.window` overrides it). A duration: `10s`, `1m`.
    #[arg(
        long = "verify-window",
        value_name = "DURATION",
        env = "MOSAIC_VERIFY_WINDOW",
        default_value = "10s",
        value_parser = parse::duration
    )]
    pub verify_window: Duration,
    /// How long every new pod may stay unready or unschedulable before the rollout fails,
    /// instead of waiting for the progress deadline (the least grace: slow readiness probes
    /// call for more, a Binding's `spec.verify.grace` overrides it).
    #[arg(
        long = "ready-grace",
        value_name = "DURATION",
        env = "MOSAIC_READY_GRACE",
        default_value = "60s",
        value_parser = parse::duration
    )]
    pub ready_grace: Duration,
    /// Seconds to receive a whole webhook request (headers and body).
    #[arg(
        long = "request-timeout",
        value_name = "SECS",
        env = "MOSAIC_REQUEST_TIMEOUT",
        default_value_t = 10
    )]
    pub request_timeout_secs: u64,
    /// Seconds to pause before each further try of a build or push that failed for a
    /// transient reason (Docker engine away, GitHub 5xx or timeout, registry 5xx); one value
    /// per retry, so the default is three tries over about a minute.
    #[arg(
        long = "retry-pauses",
        value_name = "SECS,...",
        env = "MOSAIC_RETRY_PAUSES",
        value_delimiter = ',',
        default_value = "15,45"
    )]
    pub retry_pauses: Vec<u64>,
    /// Seconds for each GitHub API call.
    #[arg(
        long = "github-timeout",
        value_name = "SECS",
        env = "MOSAIC_GITHUB_TIMEOUT",
        default_value_t = 30
    )]
    pub github_timeout_secs: u64,
    /// Post failures to GitHub as the Build records them. By default a commit status (which
    /// whoever reads the repository reads) names no registry host, cluster host name, address
    /// or service DNS name (`mosaic_core::public_text`); the Build keeps them all.
    #[arg(long = "report-details", env = "MOSAIC_REPORT_DETAILS")]
    pub report_details: bool,
    /// Seconds between reads of every bound branch's head, which record a Build for a head
    /// that was never delivered (0: off).
    #[arg(
        long = "resync-interval",
        value_name = "SECS",
        env = "MOSAIC_RESYNC_INTERVAL",
        default_value_t = 300
    )]
    pub resync_interval_secs: u64,
    /// Log format.
    #[arg(long, env = "MOSAIC_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Name this replica claims Builds under (default: POD_NAME, else the host name).
    #[arg(long, env = "MOSAIC_IDENTITY")]
    pub identity: Option<String>,
    /// Seconds to wait at start for the Docker engine (it starts beside the webhook in the
    /// same pod) before giving up. Not used with `--concurrency 0`, which needs no engine.
    #[arg(
        long = "engine-wait",
        value_name = "SECS",
        env = "MOSAIC_ENGINE_WAIT",
        default_value_t = 120
    )]
    pub engine_wait_secs: u64,
    /// Registry reached over plain HTTP, `HOST[:PORT]` (repeatable); give the engine the same
    /// list (dockerd `--insecure-registry`). Loopback registries always are.
    #[arg(
        long = "insecure-registry",
        value_name = "HOST:PORT",
        env = "MOSAIC_INSECURE_REGISTRY",
        value_delimiter = ',',
        value_parser = parse::insecure_registry
    )]
    pub insecure_registries: Vec<String>,
    /// Secret `NAMESPACE/NAME` holding a GitHub token (key `token`) for Bindings that name no
    /// `githubSecret`; a missing Secret means unauthenticated calls.
    #[arg(long, value_name = "NAMESPACE/NAME", env = "MOSAIC_DEFAULT_GITHUB_SECRET", value_parser = SecretRef::parse)]
    pub default_github_secret: Option<SecretRef>,
    /// `kubernetes.io/dockerconfigjson` Secret `NAMESPACE/NAME` for Bindings that name no
    /// `registrySecret`; a missing Secret, or one without the image's registry, means none.
    #[arg(long, value_name = "NAMESPACE/NAME", env = "MOSAIC_DEFAULT_REGISTRY_SECRET", value_parser = SecretRef::parse)]
    pub default_registry_secret: Option<SecretRef>,
}

#[cfg(test)]
mod tests;
