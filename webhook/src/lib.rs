//! The in-cluster webhook server. One push, in the order it travels:
//! - `intake/`: `server` takes the delivery, `signature` verifies it, `push_event` parses it,
//!   `decide` (pure) answers with the Build objects to record;
//! - `worker/`: `controller` (a kube-runtime Controller over Builds) claims a Build (`cluster::claim`)
//!   and runs the pipeline on it, then records the outcome on the Build and its Binding
//!   (`binding_status`, `binding_events`); `resync` records Builds no delivery announced;
//! - `pipeline/`: the run of one Build: `stages` (fetch, build, push, verify the digest) over
//!   `context` (tarball → build context), decided by `plan` and guarded by `latest` (which
//!   Build may run and roll), then `rollout` (apply, watch, roll back) and `report` (the
//!   commit status), sharing `types` (`Ctx`, `Work`, `Stop`); `outcome` (pure) turns the result
//!   into the Build's status, the commit status and the Binding's patch; it reaches the outside
//!   only through `ports`;
//! - `adapters/`: the outside behind those ports: `docker`, `github`, `registry`;
//! - `cluster/`: the Kubernetes API, used directly by all of them: `client`, `retry`, `claim`.
//!
//! `config`, `metrics` and `readiness` are shared by both roles; `serve` below wires them.
//! Modules are crate-private; the few re-exported below are what the fuzz targets, integration
//! tests and example tools call.

pub(crate) mod adapters;
pub(crate) mod cluster;
pub(crate) mod config;
pub(crate) mod intake;
pub(crate) mod metrics;
pub(crate) mod pipeline;
pub(crate) mod readiness;
pub(crate) mod worker;

// The public surface: what fuzz/, tests/ and examples/ use.
pub use adapters::registry;
pub use cluster::retry::WatchBackoff;
pub use intake::{decide, push_event, signature};
pub use pipeline::context::{self, dockerfile};
pub use pipeline::latest::push_time;
pub use pipeline::rollout;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use futures::StreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use mosaic_core::resources::{Binding, Build};
use tokio_util::sync::CancellationToken;

use adapters::{docker, github};
use intake::{http_serve, ns_secrets, server};
use worker::resync;

pub use config::{Config, LogFormat};

fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => b.json().flatten_event(true).init(),
        LogFormat::Text => b.init(),
    }
}

/// Parse configuration, run the server and decide the exit code (the only place that does).
pub fn run() -> std::process::ExitCode {
    let cfg = match Config::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return std::process::ExitCode::from(code);
        }
    };
    init_logging(cfg.log_format);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mosaic-webhook: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(cfg)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mosaic-webhook: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Cancel `token` on SIGTERM or Ctrl-C.
fn on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        tracing::info!("shutting down: no new requests, releasing running builds");
        token.cancel();
    });
}

/// How long a stopping server keeps trying to record outcomes it could not write while the API
/// server was unreachable (well inside Kubernetes' default 30 s termination grace period).
const PARKED_ON_SHUTDOWN: Duration = Duration::from_secs(10);

/// Run intake and worker until SIGTERM.
pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let secrets = cfg.secrets()?;
    let identity = cfg.identity();
    let client = cluster::client::connect()
        .await
        .context("cannot connect to the Kubernetes API (in-cluster config or KUBECONFIG)")?;
    // The engine starts beside the webhook: wait for it (bounded) rather than exit. An
    // intake-only replica builds nothing and never connects.
    let engine = if cfg.concurrency == 0 {
        None
    } else {
        Some(
            docker::Engine::connect_waiting(
                &cfg.docker_host,
                cfg.build_timeout_secs,
                cfg.builder,
                Duration::from_secs(cfg.engine_wait_secs),
            )
            .await
            .with_context(|| format!("Docker engine at {} (set --docker-host)", cfg.docker_host))?
            .with_push_timeout(Duration::from_secs(cfg.push_timeout_secs)),
        )
    };
    let builder: Arc<dyn pipeline::ports::ImageBuilder> = match &engine {
        Some(e) => Arc::new(e.clone()),
        None => Arc::new(docker::NoEngine),
    };
    let metrics = Arc::new(metrics::Metrics::new());
    let readiness = Arc::new(readiness::Readiness::default());
    let shutdown = CancellationToken::new();
    on_signal(shutdown.clone());

    let binding_apis: Vec<Api<Binding>> = if cfg.namespaces.is_empty() {
        vec![Api::all(client.clone())]
    } else {
        cfg.namespaces
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect()
    };
    let mut stores = Vec::new();
    let mut ready_waits = Vec::new();
    for api in binding_apis {
        let (reader, writer) = reflector::store();
        let stream = reflector(writer, watcher(api, watcher::Config::default()))
            .backoff(WatchBackoff::default())
            .applied_objects();
        tokio::spawn(stream.for_each(|r| async move {
            if let Err(e) = r {
                tracing::warn!(error = %e, "Binding watch");
            }
        }));
        ready_waits.push(reader.clone());
        stores.push(reader);
    }
    // One task waits for the stores and tells the others (a store's readiness wakes only the
    // last of several waiters: kube-runtime's DelayedInit keeps one waker).
    let r = readiness.clone();
    let (synced_tx, synced) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        for s in ready_waits {
            let _ = s.wait_until_ready().await;
        }
        r.bindings_synced.store(true, Ordering::Relaxed);
        let _ = synced_tx.send(true);
    });

    let github: Arc<github::GitHub> = Arc::new(github::GitHub::new(
        &cfg.github_api_url,
        Duration::from_secs(cfg.github_timeout_secs),
    ));
    let ctx = pipeline::Ctx {
        client: client.clone(),
        ports: pipeline::Ports {
            builder,
            source: github.clone(),
            history: Some(github.clone()),
            registry: Arc::new(
                registry::HttpRegistry::new(
                    reqwest::Client::builder()
                        .timeout(Duration::from_secs(30))
                        .build()
                        .context("HTTP client")?,
                )
                .plain_http(cfg.insecure_registries.clone()),
            ),
        },
        limits: pipeline::Limits {
            claim_ttl: cfg.claim_ttl(),
            heartbeat: Duration::from_secs(cfg.heartbeat_secs.max(1)),
            build_timeout: Duration::from_secs(cfg.build_timeout_secs),
            rollout_timeout: Duration::from_secs(cfg.rollout_timeout_secs),
            verify: mosaic_core::verdict::Defaults {
                window: cfg.verify_window,
                grace: cfg.ready_grace,
            },
            retry_pauses: cfg
                .retry_pauses
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            keep: mosaic_core::history::Defaults {
                succeeded: cfg.history_succeeded,
                failed: cfg.history_failed,
            },
        },
        metrics: metrics.clone(),
        identity: identity.clone(),
        github_web_url: cfg.github_web_url.clone(),
        report_details: cfg.report_details,
        shutdown: shutdown.clone(),
        builds: Default::default(),
        defaults: pipeline::credentials::Defaults {
            github: cfg.default_github_secret.clone(),
            registry: cfg.default_registry_secret.clone(),
        },
    };
    let build_apis: Vec<Api<Build>> = if cfg.namespaces.is_empty() {
        vec![Api::all(client.clone())]
    } else {
        cfg.namespaces
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect()
    };
    let mut workers = Vec::new();
    if cfg.concurrency == 0 {
        tracing::info!(
            "--concurrency 0: intake only; Builds are left to the replicas that run workers"
        );
        readiness.builds_synced.store(true, Ordering::Relaxed);
    }
    if cfg.concurrency > 0 {
        let resync = resync::Resync {
            client: client.clone(),
            defaults: ctx.defaults.clone(),
            synced,
            bindings: stores.clone(),
            history: github,
            interval: Duration::from_secs(cfg.resync_interval_secs),
            shutdown: shutdown.clone(),
        };
        tokio::spawn(resync.run());
    }
    let worker = Arc::new(worker::Worker::new(ctx));
    for api in build_apis.into_iter().filter(|_| cfg.concurrency > 0) {
        workers.push(tokio::spawn(worker::run_controller(
            api,
            worker.clone(),
            cfg.concurrency,
            readiness.clone(),
        )));
    }

    let state = Arc::new(server::AppState {
        secrets,
        bindings: stores,
        ns_secrets: ns_secrets::NamespaceSecrets::new(client.clone()),
        client,
        metrics,
        readiness,
        engine,
        budget: crate::intake::budget::Budget::new(
            usize::from(cfg.max_requests),
            cfg.max_inflight_mib as usize * 1024 * 1024,
        ),
    });
    let app = server::router(state, Duration::from_secs(cfg.request_timeout_secs));
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    tracing::info!(listen = %cfg.listen, identity, version = env!("CARGO_PKG_VERSION"), "mosaic-webhook serving");
    http_serve::serve_http(
        listener,
        app,
        Duration::from_secs(cfg.request_timeout_secs),
        shutdown.clone(),
    )
    .await;
    for w in workers {
        let _ = w.await;
    }
    worker::record_parked(&worker, PARKED_ON_SHUTDOWN).await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests;
