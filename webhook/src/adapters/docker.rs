//! The Docker engine, through bollard: build an image from a GitHub tarball stream (restreamed
//! into a build context on a blocking thread, through a bounded channel) and push it, returning
//! the digest the engine reports. Builds use the engine's classic builder or, with
//! `--builder buildkit`, its BuildKit (API `version=2` plus a session bollard serves). The
//! image labels go to BuildKit as the build's `labels` option; the classic builder would run
//! one intermediate container per label for that, so for it they are appended to the Dockerfile
//! as one `LABEL` line on the way into the context (`dockerfile`). Errors
//! that arrive inside the engine's streams fail the step with that error line (`build_log`).

pub(crate) mod build_log;
mod by_id;
mod classify;
pub mod prune;

use mosaic_core::BuildReason;
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{BuildImageOptions, BuilderVersion, PushImageOptions};
use bytes::{Bytes, BytesMut};
use clap::ValueEnum;
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::pipeline::context::dockerfile::{DockerfileError, LabelLine};
use crate::pipeline::context::{self, ContextError, ContextSummary};
use crate::pipeline::plan::BuildPlan;
use crate::pipeline::ports::{
    BuildOutput, ByteStream, ImageBuilder, LogTail, PortError, broke_off,
};
use build_log::Failure;
use mosaic_core::registry_auth::RegistryAuth;

/// Which of the engine's builders runs the builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Builder {
    /// The engine's classic builder (API `version=1`).
    Classic,
    /// BuildKit inside the engine (API `version=2` with a session).
    Buildkit,
}

/// Chunk size of the context stream and number of chunks in flight: bounds memory to ~512 KiB.
const CHUNK: usize = 64 * 1024;
const CHUNKS_IN_FLIGHT: usize = 8;
/// Why a build or push failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("source: {0}")]
    Context(#[from] ContextError),
    #[error("image labels: {0}")]
    Labels(#[from] DockerfileError),
    #[error("docker build failed: {0}")]
    Build(String),
    #[error("docker push of {tag} failed: {message}")]
    Push { tag: String, message: String },
    /// The engine did not answer, or the connection to it failed (the message says which).
    #[error("{0}")]
    Unreachable(String),
}

impl EngineError {
    /// The Build's reason for this error, `otherwise` unless the engine itself was away.
    pub fn reason(&self, otherwise: BuildReason) -> BuildReason {
        match self {
            EngineError::Unreachable(_) => BuildReason::EngineUnavailable,
            // The tarball's download broke off part way (GitHub stalled or hung up).
            EngineError::Context(ContextError::Read(e)) if broke_off(e) => {
                BuildReason::SourceUnavailable
            }
            _ => otherwise,
        }
    }
}

/// Did the connection to the engine fail (rather than the engine answer with an error)?
pub fn is_transport(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        e,
        E::HyperResponseError { .. }
            | E::HyperLegacyError { .. }
            | E::IOError { .. }
            | E::RequestTimeoutError
            | E::SocketNotFoundError(_)
    )
}

fn lost(message: &str) -> EngineError {
    EngineError::Unreachable(format!("connection to the Docker engine lost: {message}"))
}

/// The build's result from the restreamer's and the engine's ends. A lost engine explains a
/// context that could not be written (the receiver went away) and an engine that reported an
/// error explains it too; any other context error explains an engine failure better than the
/// engine's own message.
fn build_outcome(
    context: Result<ContextSummary, ContextError>,
    engine: Option<Failure>,
) -> Result<ContextSummary, EngineError> {
    match (context, engine) {
        (Ok(_) | Err(ContextError::Write(_)), Some(Failure::Lost(m))) => Err(lost(&m)),
        (Err(ContextError::Write(_)), Some(Failure::Reported(line))) => {
            Err(EngineError::Build(line))
        }
        (Err(e), _) => Err(e.into()),
        (Ok(_), Some(Failure::Reported(line))) => Err(EngineError::Build(line)),
        (Ok(summary), None) => Ok(summary),
    }
}

/// A `Write` that hands fixed-size chunks to an async receiver, blocking when it is full.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: BytesMut,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "build engine stopped reading"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

fn creds(auth: Option<&RegistryAuth>) -> Option<DockerCredentials> {
    auth.map(|a| DockerCredentials {
        username: Some(a.username.clone()),
        password: Some(a.password.clone()),
        serveraddress: Some(a.host.clone()),
        ..Default::default()
    })
}

/// Session ids handed to BuildKit, unique within this process.
static SESSIONS: AtomicU64 = AtomicU64::new(0);

/// A connected engine and the builder it runs builds with.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    /// The address connected to (the usage read of `prune` makes its own request).
    host: String,
    builder: Builder,
    /// The deadline of one push (`--push-timeout`).
    push_timeout: Duration,
    /// The BuildKit frontends a Dockerfile's `# syntax=` may name (`--syntax-frontends`).
    syntax_frontends: Vec<String>,
}

/// The deadline of one push unless `--push-timeout` says otherwise.
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(600);

fn unreachable(e: bollard::errors::Error) -> EngineError {
    EngineError::Unreachable(format!(
        "Docker engine unreachable: {}",
        mosaic_core::error_chain::chain(&e)
    ))
}

impl Engine {
    /// A client for `host` that has not talked to it yet.
    fn unconnected(host: &str, timeout_secs: u64, builder: Builder) -> Result<Self, EngineError> {
        let docker = if let Some(path) = host.strip_prefix("unix://") {
            Docker::connect_with_unix(path, timeout_secs, bollard::API_DEFAULT_VERSION)
                .map_err(unreachable)?
        } else {
            let h = host.replace("tcp://", "http://");
            Docker::connect_with_http(&h, timeout_secs, bollard::API_DEFAULT_VERSION)
                .map_err(unreachable)?
        };
        Ok(Self {
            docker,
            host: host.to_string(),
            builder,
            push_timeout: DEFAULT_PUSH_TIMEOUT,
            syntax_frontends: Vec::new(),
        })
    }

    /// This engine with pushes that give up after `d` (a registry that accepts the connection and
    /// then stalls): the push fails as the engine being unavailable, and is tried again.
    pub fn with_push_timeout(mut self, d: Duration) -> Self {
        self.push_timeout = d;
        self
    }

    /// This engine with BuildKit builds allowed to run the frontends `pinned` (exact
    /// references, pinned by digest) and refused any other `# syntax=`.
    pub fn with_syntax_frontends(mut self, pinned: Vec<String>) -> Self {
        self.syntax_frontends = pinned;
        self
    }

    /// Connect to `host` (`unix:///path` or `tcp://…`/`http://…`) and negotiate the API version.
    pub async fn connect(
        host: &str,
        timeout_secs: u64,
        builder: Builder,
    ) -> Result<Self, EngineError> {
        let e = Self::unconnected(host, timeout_secs, builder)?;
        let docker = e.docker.negotiate_version().await.map_err(unreachable)?;
        Ok(Self { docker, ..e })
    }

    /// [`Engine::connect`], trying again for up to `wait` while the engine is not there yet (it
    /// starts beside the webhook in the same pod), saying what it waits for every few seconds.
    pub async fn connect_waiting(
        host: &str,
        timeout_secs: u64,
        builder: Builder,
        wait: Duration,
    ) -> Result<Self, EngineError> {
        let start = tokio::time::Instant::now();
        let mut said = None::<tokio::time::Instant>;
        loop {
            match Self::connect(host, timeout_secs, builder).await {
                Ok(e) => {
                    if said.is_some() {
                        tracing::info!(
                            docker_host = host,
                            waited_ms = start.elapsed().as_millis() as u64,
                            "Docker engine answered"
                        );
                    }
                    return Ok(e);
                }
                Err(e) if start.elapsed() >= wait => {
                    return Err(EngineError::Unreachable(format!(
                        "{e}; waited {}s (--engine-wait)",
                        wait.as_secs()
                    )));
                }
                Err(e) => {
                    if said.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
                        tracing::info!(
                            docker_host = host,
                            error = %e,
                            remaining_s = wait.saturating_sub(start.elapsed()).as_secs(),
                            "waiting for the Docker engine"
                        );
                        said = Some(tokio::time::Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// Is the engine answering?
    pub async fn ping(&self) -> bool {
        self.docker.ping().await.is_ok()
    }

    /// Build `plan.tag` from a GitHub gzip tarball stream of `commit`. Log lines go to tracing and `tail`.
    pub async fn build<S>(
        &self,
        tarball: S,
        plan: &BuildPlan,
        commit: &str,
        auth: Option<&RegistryAuth>,
        tail: &mut LogTail,
    ) -> Result<ContextSummary, EngineError>
    where
        S: Stream<Item = Result<Bytes, io::Error>> + Send + Unpin + 'static,
    {
        let _busy = prune::InFlight::enter();
        // Classic builder: the labels go into the Dockerfile (one step); BuildKit: the option.
        let (line, option) = match self.builder {
            Builder::Classic => (Some(LabelLine::new(&plan.labels)?), None),
            Builder::Buildkit => (None, Some(plan.labels.clone())),
        };
        let (tx, mut rx) = mpsc::channel::<Result<Bytes, io::Error>>(CHUNKS_IN_FLIGHT);
        let mut spec = plan.context.clone();
        // The classic builder ignores `# syntax=`; BuildKit would pull and run that frontend.
        if self.builder == Builder::Buildkit {
            spec.syntax_frontends = Some(self.syntax_frontends.clone());
        }
        let expected = commit.to_string();
        let restreamer = tokio::task::spawn_blocking(move || {
            let reader = SyncIoBridge::new(StreamReader::new(tarball));
            let mut out = ChannelWriter {
                tx: tx.clone(),
                buf: BytesMut::with_capacity(CHUNK),
            };
            let r = context::restream(reader, &mut out, &spec, Some(&expected), line.as_ref());
            if let Err(e) = &r {
                // Fail the request body so the engine never builds a partial context.
                let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
            }
            r
        });
        let body = bollard::body_try_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
        let opts = BuildImageOptions {
            t: Some(plan.tag.clone()),
            dockerfile: plan.context.dockerfile.to_string_lossy().into_owned(),
            labels: option,
            rm: true,
            forcerm: true,
            // Every base image is pulled, with this Build's credentials: an image another
            // Binding built on this engine is not taken from its cache.
            pull: Some("1".into()),
            version: match self.builder {
                Builder::Classic => BuilderVersion::BuilderV1,
                Builder::Buildkit => BuilderVersion::BuilderBuildKit,
            },
            // BuildKit talks back over a session (registry credentials for base images).
            session: (self.builder == Builder::Buildkit).then(|| {
                let n = SESSIONS.fetch_add(1, Ordering::Relaxed);
                format!("mosaic-{}-{n}", std::process::id())
            }),
            ..Default::default()
        };
        let registry_creds = creds(auth).map(|c| HashMap::from([(plan.registry_host.clone(), c)]));
        let stream = self.docker.build_image(opts, registry_creds, Some(body));
        let failure = build_log::drain(stream, &plan.tag, tail).await;
        let context = restreamer
            .await
            .map_err(|e| EngineError::Build(format!("context streaming task: {e}")))?;
        let mut summary = build_outcome(context, failure)?;
        summary.image_id = self.image_id(&plan.tag).await;
        Ok(summary)
    }

    /// Push `repository:tag` within the push deadline and return the manifest digest the engine
    /// reports; the pushed image is then removed from the engine (the registry holds it).
    pub async fn push(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, EngineError> {
        let full = format!("{repository}:{tag}");
        let digest = self.push_timed(repository, tag, auth).await?;
        self.remove_pushed(&full).await;
        Ok(digest)
    }

    /// Push `repository:tag` within the push deadline; the digest the engine reports.
    async fn push_timed(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, EngineError> {
        let _busy = prune::InFlight::enter();
        tokio::time::timeout(self.push_timeout, self.push_once(repository, tag, auth))
            .await
            .map_err(|_| {
                EngineError::Unreachable(format!(
                    "the push of {repository}:{tag} did not finish within {} s (--push-timeout): the registry or the engine stalled",
                    self.push_timeout.as_secs()
                ))
            })?
    }

    /// Remove `full` (`repository:tag`) from the engine once the registry holds it.
    async fn remove_pushed(&self, full: &str) {
        let rm = bollard::query_parameters::RemoveImageOptions {
            force: false,
            noprune: false,
            ..Default::default()
        };
        if let Err(e) = self.docker.remove_image(full, Some(rm), None).await {
            tracing::warn!(image = %full, error = %e, "could not remove the pushed image from the engine");
        }
    }

    async fn push_once(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, EngineError> {
        let full = format!("{repository}:{tag}");
        let fail = |message: String| EngineError::Push {
            tag: full.clone(),
            message,
        };
        let opts = PushImageOptions {
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let mut stream = self.docker.push_image(repository, Some(opts), creds(auth));
        let mut digest = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                e if is_transport(&e) => lost(&mosaic_core::error_chain::chain(&e)),
                bollard::errors::Error::DockerStreamError { error } => fail(error),
                other => fail(other.to_string()),
            })?;
            if let Some(msg) = info.error_detail.and_then(|d| d.message) {
                return Err(fail(msg));
            }
            if let Some(d) = info
                .status
                .as_deref()
                .and_then(|s| s.split("digest: ").nth(1))
            {
                digest = d.split_whitespace().next().map(str::to_string);
            }
        }
        digest.ok_or_else(|| fail("the engine reported no digest".into()))
    }
}

impl ImageBuilder for Engine {
    fn build<'a>(
        &'a self,
        tarball: ByteStream,
        plan: &'a BuildPlan,
        commit: &'a str,
        auth: Option<&'a RegistryAuth>,
        tail: &'a mut LogTail,
    ) -> BoxFuture<'a, Result<BuildOutput, PortError>> {
        Box::pin(async move {
            Engine::build(self, tarball, plan, commit, auth, tail)
                .await
                .map(|context| BuildOutput { context })
                .map_err(EngineError::of_build)
        })
    }

    fn push<'a>(
        &'a self,
        repository: &'a str,
        tag: &'a str,
        auth: Option<&'a RegistryAuth>,
    ) -> BoxFuture<'a, Result<String, PortError>> {
        Box::pin(async move {
            Engine::push(self, repository, tag, auth)
                .await
                .map_err(EngineError::of_push)
        })
    }

    fn push_image<'a>(
        &'a self,
        repository: &'a str,
        tag: &'a str,
        image_id: Option<&'a str>,
        auth: Option<&'a RegistryAuth>,
    ) -> BoxFuture<'a, Result<String, PortError>> {
        Box::pin(async move {
            match image_id {
                Some(id) => self.push_by_id(repository, tag, id, auth).await,
                None => Engine::push(self, repository, tag, auth).await,
            }
            .map_err(EngineError::of_push)
        })
    }
}

/// The builder of a replica that runs no builds (`--concurrency 0`): it has no engine, and
/// never connects to one.
pub struct NoEngine;

impl NoEngine {
    fn refuse() -> EngineError {
        EngineError::Unreachable(
            "this replica runs no builds (--concurrency 0) and has no Docker engine".into(),
        )
    }
}

impl ImageBuilder for NoEngine {
    fn build<'a>(
        &'a self,
        _tarball: ByteStream,
        _plan: &'a BuildPlan,
        _commit: &'a str,
        _auth: Option<&'a RegistryAuth>,
        _tail: &'a mut LogTail,
    ) -> BoxFuture<'a, Result<BuildOutput, PortError>> {
        Box::pin(async { Err(Self::refuse().of_build()) })
    }

    fn push<'a>(
        &'a self,
        _repository: &'a str,
        _tag: &'a str,
        _auth: Option<&'a RegistryAuth>,
    ) -> BoxFuture<'a, Result<String, PortError>> {
        Box::pin(async { Err(Self::refuse().of_push()) })
    }
}

#[cfg(test)]
mod tests;
