//! Connecting to the engine: a client for `--docker-host` (a Unix socket or TCP), the API version
//! negotiated, waiting for an engine that starts beside the webhook (`--engine-wait`), the push
//! deadline and BuildKit's allowed frontends, and the liveness ping.

use std::time::Duration;

use bollard::Docker;

use super::{Builder, DEFAULT_PUSH_TIMEOUT, Engine, EngineError, unreachable};

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
}
