//! Keeping the engine's disk under `--engine-disk-budget`: every `--engine-prune-interval` the
//! engine's usage is read (`GET /system/df`: image layers, build cache, containers' writable
//! layers), and when it is over the budget and no build or push of this process is under way,
//! the engine prunes its stopped containers and its build cache, then dangling images, then, if
//! still over, every image no container uses that is over an hour old (base images are pulled
//! again by the next build, which pulls anyway). A build never has its images pruned from under
//! it: pruning waits for a moment with no build or push in flight, and an image built within
//! the hour (waiting for its push) is kept.
//!
//! bollard's typed `df` follows API 1.52's new shape, which engines before Docker 29 do not
//! answer; the usage is read with a request of its own, from either shape.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bollard::query_parameters::{PruneBuildOptions, PruneContainersOptions, PruneImagesOptions};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tokio_util::sync::CancellationToken;

use super::{Engine, EngineError, unreachable};

/// Builds and pushes of this process under way (every engine of the process: one in production).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Held while a build or a push runs: pruning waits for none to be held.
pub(super) struct InFlight;

impl InFlight {
    pub(super) fn enter() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How old an unused image must be before the last step prunes it.
const UNUSED_AFTER: &str = "1h";

/// How long one usage read may take.
const DF_TIMEOUT: Duration = Duration::from_secs(60);

/// The engine's disk usage in bytes, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskUsage {
    pub layers: u64,
    pub build_cache: u64,
    pub containers: u64,
}

impl DiskUsage {
    pub fn total(&self) -> u64 {
        self.layers + self.build_cache + self.containers
    }

    /// Read the usage from a `/system/df` answer: API 1.25 to 1.51 (`LayersSize`, the build
    /// cache records, the containers' `SizeRw`), or 1.52's totals (`ImageUsage`, …).
    pub fn from_df(v: &serde_json::Value) -> Self {
        let n = |v: &serde_json::Value| v.as_i64().unwrap_or(0).max(0) as u64;
        if v.get("LayersSize").is_none() {
            return DiskUsage {
                layers: n(&v["ImageUsage"]["TotalSize"]),
                build_cache: n(&v["BuildCacheUsage"]["TotalSize"]),
                containers: n(&v["ContainerUsage"]["TotalSize"]),
            };
        }
        let list = |key: &str| v[key].as_array().cloned().unwrap_or_default();
        DiskUsage {
            layers: n(&v["LayersSize"]),
            // Shared records are counted once, under the record that owns them.
            build_cache: list("BuildCache")
                .iter()
                .filter(|r| !r["Shared"].as_bool().unwrap_or(false))
                .map(|r| n(&r["Size"]))
                .sum(),
            containers: list("Containers").iter().map(|c| n(&c["SizeRw"])).sum(),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub before: u64,
    pub after: u64,
    /// The steps run, in order (`containers`, `build cache`, `dangling images`, `unused images`).
    pub steps: Vec<&'static str>,
    /// Skipped: a build or push was under way.
    pub busy: bool,
}

impl Engine {
    /// `GET /system/df`, as JSON.
    async fn df(&self) -> Result<serde_json::Value, EngineError> {
        let fail =
            |m: String| EngineError::Unreachable(format!("reading the engine's disk usage: {m}"));
        let read = async {
            let body = if let Some(path) = self.host.strip_prefix("unix://") {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                let io = hyper_util::rt::TokioIo::new(stream);
                let (mut tx, conn) = hyper::client::conn::http1::handshake(io)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                tokio::spawn(conn);
                let req = hyper::Request::get("/system/df")
                    .header("host", "docker")
                    .body(Empty::<Bytes>::new())
                    .map_err(|e| fail(e.to_string()))?;
                let resp = tx
                    .send_request(req)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                if !resp.status().is_success() {
                    return Err(fail(format!("HTTP {}", resp.status())));
                }
                resp.into_body()
                    .collect()
                    .await
                    .map_err(|e| fail(e.to_string()))?
                    .to_bytes()
            } else {
                let url = format!("{}/system/df", self.host.replace("tcp://", "http://"));
                let resp = reqwest::get(&url).await.map_err(|e| fail(e.to_string()))?;
                resp.error_for_status()
                    .map_err(|e| fail(e.to_string()))?
                    .bytes()
                    .await
                    .map_err(|e| fail(e.to_string()))?
            };
            serde_json::from_slice(&body).map_err(|e| fail(format!("not JSON: {e}")))
        };
        tokio::time::timeout(DF_TIMEOUT, read)
            .await
            .map_err(|_| fail(format!("no answer within {} s", DF_TIMEOUT.as_secs())))?
    }

    /// The engine's disk usage.
    pub async fn disk_usage(&self) -> Result<DiskUsage, EngineError> {
        Ok(DiskUsage::from_df(&self.df().await?))
    }

    /// One pass: when the usage is over `budget` and nothing is in flight, prune until it is
    /// under (or nothing unused is left).
    pub async fn prune_to(&self, budget: u64) -> Result<PruneReport, EngineError> {
        let before = self.disk_usage().await?.total();
        let mut report = PruneReport {
            before,
            after: before,
            ..Default::default()
        };
        if before <= budget {
            return Ok(report);
        }
        if IN_FLIGHT.load(Ordering::SeqCst) > 0 {
            report.busy = true;
            return Ok(report);
        }
        // Unused images only when built or pulled over an hour ago: an image built moments ago
        // may be waiting for its push (between the build and the push nothing is in flight).
        let images = |dangling: bool| PruneImagesOptions {
            filters: Some(HashMap::from_iter(
                [("dangling", vec![dangling.to_string()])]
                    .into_iter()
                    .chain((!dangling).then(|| ("until", vec![UNUSED_AFTER.to_string()])))
                    .map(|(k, v)| (k.to_string(), v)),
            )),
        };
        for step in [
            "containers",
            "build cache",
            "dangling images",
            "unused images",
        ] {
            // A build may have started since the last step: stop there.
            if IN_FLIGHT.load(Ordering::SeqCst) > 0 {
                report.busy = true;
                break;
            }
            let r = match step {
                "containers" => self
                    .docker
                    .prune_containers(None::<PruneContainersOptions>)
                    .await
                    .map(drop),
                "build cache" => self
                    .docker
                    .prune_build(Some(PruneBuildOptions {
                        all: Some(true),
                        ..Default::default()
                    }))
                    .await
                    .map(drop),
                "dangling images" => self.docker.prune_images(Some(images(true))).await.map(drop),
                _ => self
                    .docker
                    .prune_images(Some(images(false)))
                    .await
                    .map(drop),
            };
            r.map_err(unreachable)?;
            report.steps.push(step);
            report.after = self.disk_usage().await?.total();
            if report.after <= budget {
                break;
            }
        }
        Ok(report)
    }

    /// Every `every`, a pass of [`Engine::prune_to`] (until `stop`). Failures are logged.
    pub async fn prune_loop(self, budget: u64, every: Duration, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            match self.prune_to(budget).await {
                Ok(r) if !r.steps.is_empty() => tracing::info!(
                    before_bytes = r.before, after_bytes = r.after, budget_bytes = budget,
                    steps = ?r.steps, "pruned the engine"
                ),
                Ok(r) if r.busy => tracing::info!(
                    usage_bytes = r.before,
                    budget_bytes = budget,
                    "the engine is over its disk budget; pruning when no build is under way"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "engine prune failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests;
