//! The in-cluster webhook server. One push, file by file, in the order it travels:
//!
//! 1. `main.rs` calls [`run`]: `config/` parses the flags, `settings.rs` checks them into
//!    typed `Settings`, and [`serve`] (below) wires the two roles.
//! 2. Intake (`intake/`): `server.rs` routes the delivery to `delivery.rs`, which admits it
//!    within `budget.rs`'s bounds and reads its body (`body.rs`) while `signature.rs` verifies
//!    it (`ns_secrets.rs` for namespace-scoped keys); `push_event.rs` parses it, `decide.rs`
//!    (pure) answers with the Build objects to create, `record_builds.rs` creates them and
//!    `notices.rs` leaves an Event on each bound Binding the push does not deploy; the answer
//!    (`answer.rs`) goes out through `http_serve.rs`.
//! 3. Worker (`worker/`): `controller.rs`, a kube-runtime Controller over Builds, sees the new
//!    Build, asks `pipeline/latest/` whether it may start (`admit`), claims it
//!    (`cluster/claim.rs`; every phase change leaves an Event, `cluster/build_events.rs`) and
//!    runs the pipeline with a heartbeat.
//! 4. Pipeline (`pipeline/`, `mod.rs::run`): `mod.rs::read_binding` and `credentials.rs` read
//!    the Binding and its Secrets, `plan.rs` plans the build; `stages.rs` fetches the commit's
//!    tarball and builds it (`context.rs` re-roots it into a build context), pushes and checks
//!    the digest, trying a transient failure again through `backoff.rs`; `latest/` checks once
//!    more that this Build is still the one to roll; `rollout/` applies the image by digest
//!    (`apply.rs`, `ownership.rs`) and watches the rollout to a verdict (`watch.rs`), rolling back
//!    on failure when asked; `report.rs` posts the commit statuses on the way. All of it shares
//!    `types.rs` (`Ctx`, `Work`, `Stop`) and reaches Docker, GitHub and the registry only through
//!    `ports.rs`, whose errors say whether trying again may help (`PortError`, `Kind`).
//! 5. Back in the worker: `pipeline/outcome.rs` (pure) turns the result into the Build's status,
//!    the last commit status and the Binding's patch; `controller.rs` writes the Build
//!    (`write_outcome`), `binding_status.rs` the Binding, `binding_events.rs` an Event on the
//!    Binding when a push did not deploy, and `history.rs` prunes old Builds. `resync.rs` records
//!    Builds for branch heads no delivery announced.
//!
//! Beside the path: `adapters/` implements the ports (`docker`, `github`, `registry`);
//! `cluster/` is the Kubernetes API, used directly (`client`, `retry` over `backoff`, `claim`,
//! `build_events`, and `events`, the one way Events are written); `metrics`, `readiness` and
//! `backoff` are shared by both roles. Modules are crate-private; the few re-exported below are
//! what the fuzz targets, integration tests and example tools call.

pub(crate) mod adapters;
pub(crate) mod backoff;
pub(crate) mod cluster;
pub(crate) mod config;
pub(crate) mod intake;
pub(crate) mod metrics;
pub(crate) mod pipeline;
pub(crate) mod readiness;
pub(crate) mod settings;
pub(crate) mod worker;

// The public surface: what fuzz/, tests/ and examples/ use.
pub use adapters::docker::prune as engine_prune;
pub use adapters::docker::{Builder as EngineBuilder, Engine};
pub use adapters::registry;
pub use cluster::retry::WatchBackoff;
pub use intake::{decide, push_event, signature};
pub use pipeline::context::{self, dockerfile};
pub use pipeline::latest::push_time;
pub use pipeline::rollout;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use clap::Parser;
use futures::StreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use mosaic_core::resources::{Binding, Build};
use tokio_util::sync::CancellationToken;

use adapters::{docker, github};
use intake::state::AppState;
use intake::{http_serve, ns_secrets, server};
use worker::resync;

pub use config::{Config, LogFormat};
pub use settings::Settings;

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

/// Parse configuration, run the server and decide the exit code (the only place that does): 2
/// for flags that cannot work, 1 when serving fails.
pub fn run() -> std::process::ExitCode {
    let cfg = match Config::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return std::process::ExitCode::from(code);
        }
    };
    let settings = match Settings::from_config(&cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mosaic-webhook: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(settings.log_format);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mosaic-webhook: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(settings)) {
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

/// Run intake and worker until SIGTERM: connect, start the Binding caches, the workers (when
/// this replica builds) and the resync, then serve deliveries.
pub async fn serve(s: Settings) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    cluster::retry::set_api_budget(s.api_retry_budget);
    let client = cluster::client::connect()
        .await
        .context("cannot connect to the Kubernetes API (in-cluster config or KUBECONFIG)")?;
    if s.secrets.is_empty() {
        tracing::info!("no --webhook-secret-file: this builder refuses every delivery (401)");
    }
    let engine = connect_engine(&s).await?;
    let metrics = Arc::new(metrics::Metrics::new());
    let readiness = Arc::new(readiness::Readiness::default());
    let shutdown = CancellationToken::new();
    on_signal(shutdown.clone());
    let (stores, synced) = watch_bindings(&s, &client, &readiness);
    let github = Arc::new(github::GitHub::new(&s.github_api_url, s.github_timeout));
    if let Some(e) = engine.clone()
        && let Some(prune) = s.engine.as_ref().and_then(|e| e.prune)
    {
        tokio::spawn(e.prune_loop(prune.budget, prune.every, shutdown.clone()));
    }
    let ctx = pipeline_ctx(&s, &client, &engine, &github, &metrics, &shutdown)?;
    let (worker, workers) = start_workers(&s, ctx, &client, &stores, synced, github, &readiness);

    let state = Arc::new(AppState {
        secrets: s.secrets.clone(),
        bindings: stores,
        ns_secrets: ns_secrets::NamespaceSecrets::new(client.clone()),
        client,
        metrics,
        readiness,
        engine,
        budget: intake::budget::Budget::new(s.max_requests, s.max_inflight_bytes),
    });
    let app = server::router(state, s.request_timeout);
    let listener = tokio::net::TcpListener::bind(s.listen)
        .await
        .with_context(|| format!("cannot listen on {}", s.listen))?;
    tracing::info!(listen = %s.listen, identity = s.identity, version = env!("CARGO_PKG_VERSION"), "mosaic-webhook serving");
    http_serve::serve_http(listener, app, s.request_timeout, shutdown.clone()).await;
    for w in workers {
        let _ = w.await;
    }
    worker::record_parked(&worker, s.parked_on_shutdown).await;
    tracing::info!("stopped");
    Ok(())
}

/// The engine beside the webhook, waited for (bounded) rather than exiting, since it starts in
/// the same pod. An intake-only replica builds nothing and never connects.
async fn connect_engine(s: &Settings) -> anyhow::Result<Option<docker::Engine>> {
    let Some(e) = &s.engine else {
        return Ok(None);
    };
    let engine =
        docker::Engine::connect_waiting(&e.host, s.build_timeout.as_secs(), e.builder, e.wait)
            .await
            .with_context(|| format!("Docker engine at {} (set --docker-host)", e.host))?;
    Ok(Some(
        engine
            .with_push_timeout(e.push_timeout)
            .with_syntax_frontends(e.syntax_frontends.clone()),
    ))
}

/// One `Api` per watched namespace, or one over all of them.
fn apis<K>(s: &Settings, client: &kube::Client) -> Vec<Api<K>>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    if s.namespaces.is_empty() {
        return vec![Api::all(client.clone())];
    }
    s.namespaces
        .iter()
        .map(|ns| Api::namespaced(client.clone(), ns))
        .collect()
}

/// Start the Binding caches (the intake matches pushes against them); the returned channel
/// turns true once all of them have synced.
fn watch_bindings(
    s: &Settings,
    client: &kube::Client,
    readiness: &Arc<readiness::Readiness>,
) -> (
    Vec<reflector::Store<Binding>>,
    tokio::sync::watch::Receiver<bool>,
) {
    let mut stores = Vec::new();
    for api in apis::<Binding>(s, client) {
        let (reader, writer) = reflector::store();
        let stream = reflector(writer, watcher(api, watcher::Config::default()))
            .backoff(WatchBackoff::default())
            .applied_objects();
        tokio::spawn(stream.for_each(|r| async move {
            if let Err(e) = r {
                tracing::warn!(error = %e, "Binding watch");
            }
        }));
        stores.push(reader);
    }
    // One task waits for the stores and tells the others (a store's readiness wakes only the
    // last of several waiters: kube-runtime's DelayedInit keeps one waker).
    let r = readiness.clone();
    let waits = stores.clone();
    let (synced_tx, synced) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        for s in waits {
            let _ = s.wait_until_ready().await;
        }
        r.bindings_synced.store(true, Ordering::Relaxed);
        let _ = synced_tx.send(true);
    });
    (stores, synced)
}

/// What every run of the pipeline shares: the cluster, the ports, the limits.
fn pipeline_ctx(
    s: &Settings,
    client: &kube::Client,
    engine: &Option<docker::Engine>,
    github: &Arc<github::GitHub>,
    metrics: &Arc<metrics::Metrics>,
    shutdown: &CancellationToken,
) -> anyhow::Result<pipeline::Ctx> {
    let builder: Arc<dyn pipeline::ports::ImageBuilder> = match engine {
        Some(e) => Arc::new(e.clone()),
        None => Arc::new(docker::NoEngine),
    };
    let http = reqwest::Client::builder()
        .timeout(s.registry_timeout)
        .build()
        .context("HTTP client")?;
    Ok(pipeline::Ctx {
        client: client.clone(),
        ports: pipeline::Ports {
            builder,
            source: github.clone(),
            history: Some(github.clone()),
            registry: Arc::new(
                registry::HttpRegistry::new(http).plain_http(s.insecure_registries.clone()),
            ),
        },
        limits: pipeline::Limits {
            claim_ttl: s.claim_ttl,
            heartbeat: s.heartbeat,
            build_timeout: s.build_timeout,
            rollout_timeout: s.rollout_timeout,
            verify: s.verify,
            retry_pauses: s.retry_pauses.clone(),
            keep: s.keep,
        },
        metrics: metrics.clone(),
        identity: s.identity.clone(),
        github_web_url: s.github_web_url.clone(),
        report_details: s.report_details,
        shutdown: shutdown.clone(),
        builds: Default::default(),
        defaults: s.defaults.clone(),
    })
}

/// Start the resync and one Build controller per watched namespace, unless this replica is
/// intake-only (`--concurrency 0`).
fn start_workers(
    s: &Settings,
    ctx: pipeline::Ctx,
    client: &kube::Client,
    stores: &[reflector::Store<Binding>],
    synced: tokio::sync::watch::Receiver<bool>,
    github: Arc<github::GitHub>,
    readiness: &Arc<readiness::Readiness>,
) -> (Arc<worker::Worker>, Vec<tokio::task::JoinHandle<()>>) {
    let shutdown = ctx.shutdown.clone();
    let defaults = ctx.defaults.clone();
    let worker = Arc::new(worker::Worker::with_bindings(ctx, stores.to_vec()));
    if s.concurrency == 0 {
        tracing::info!(
            "--concurrency 0: intake only; Builds are left to the replicas that run workers"
        );
        readiness.expect_build_stores(0);
        return (worker, Vec::new());
    }
    let resync = resync::Resync {
        client: client.clone(),
        defaults,
        synced,
        bindings: stores.to_vec(),
        history: github,
        interval: s.resync_interval,
        shutdown,
    };
    tokio::spawn(resync.run());
    let apis = apis::<Build>(s, client);
    readiness.expect_build_stores(apis.len());
    let workers = apis
        .into_iter()
        .map(|api| {
            tokio::spawn(worker::run_controller(
                api,
                worker.clone(),
                s.concurrency,
                readiness.clone(),
            ))
        })
        .collect();
    (worker, workers)
}
