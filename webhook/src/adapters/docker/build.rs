//! The build call: the GitHub tarball is restreamed into a build context on a blocking thread
//! and handed to the engine through a bounded channel of fixed-size chunks (`ChannelWriter`);
//! the image labels go in as a Dockerfile `LABEL` line (classic builder) or as the build's
//! `labels` option (BuildKit, with a session); the outcome weighs the restreamer's error against
//! the engine's (`build_outcome`).

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use bollard::query_parameters::{BuildImageOptions, BuilderVersion};
use bytes::{Bytes, BytesMut};
use futures::Stream;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::build_log::{self, Failure};
use super::{Builder, Engine, EngineError, creds, lost, prune};
use crate::pipeline::context::dockerfile::LabelLine;
use crate::pipeline::context::{self, ContextError, ContextSummary};
use crate::pipeline::plan::BuildPlan;
use crate::pipeline::ports::LogTail;
use mosaic_core::registry_auth::RegistryAuth;

/// Chunk size of the context stream and number of chunks in flight: bounds memory to ~512 KiB.
const CHUNK: usize = 64 * 1024;
const CHUNKS_IN_FLIGHT: usize = 8;

/// The build's result from the restreamer's and the engine's ends. A lost engine explains a
/// context that could not be written (the receiver went away) and an engine that reported an
/// error explains it too; any other context error explains an engine failure better than the
/// engine's own message.
pub(super) fn build_outcome(
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

/// Session ids handed to BuildKit, unique within this process.
static SESSIONS: AtomicU64 = AtomicU64::new(0);

impl Engine {
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
}
