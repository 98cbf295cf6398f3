//! Prometheus metrics: webhook requests by result, Build phase transitions by phase, a
//! duration histogram per pipeline stage (timed by a guard, so a stage that fails is timed
//! too), and failed reconciles by error. Labels carry no secrets and no free text.

use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// All of the server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    builds: Family<Labels, Counter>,
    stages: Family<Labels, Histogram>,
    reports: Family<Labels, Counter>,
    reconcile_failures: Family<Labels, Counter>,
}

/// A pipeline stage, as its `stage` label names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Build,
    Push,
    Rollout,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Build => "build",
            Stage::Push => "push",
            Stage::Rollout => "rollout",
        }
    }
}

/// Times a stage from its start until it is dropped, whether it succeeded, failed or was
/// given up (a `?` return drops it too).
pub struct StageTimer<'a> {
    metrics: &'a Metrics,
    stage: Stage,
    started: Instant,
}

impl Drop for StageTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .stage(self.stage, self.started.elapsed().as_secs_f64());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mosaic_webhook");
        let requests = Family::<Labels, Counter>::default();
        registry.register("requests", "Webhook deliveries by result", requests.clone());
        let builds = Family::<Labels, Counter>::default();
        registry.register(
            "build_phase_transitions",
            "Builds entering each phase",
            builds.clone(),
        );
        let stages = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 18))
        });
        registry.register(
            "stage_duration_seconds",
            "Duration of each pipeline stage",
            stages.clone(),
        );
        let reports = Family::<Labels, Counter>::default();
        registry.register(
            "github_status_reports",
            "GitHub commit status reports by result",
            reports.clone(),
        );
        let reconcile_failures = Family::<Labels, Counter>::default();
        registry.register(
            "reconcile_failures",
            "Reconciles of a Build that failed and were retried, by error",
            reconcile_failures.clone(),
        );
        Self {
            registry,
            requests,
            builds,
            stages,
            reports,
            reconcile_failures,
        }
    }

    /// Count one delivery; `result` is a fixed word such as `created`, `ignored`, `unauthorized`.
    pub fn request(&self, result: &str) {
        self.requests
            .get_or_create(&vec![("result", result.to_string())])
            .inc();
    }

    pub fn phase(&self, phase: mosaic_core::BuildPhase) {
        self.builds
            .get_or_create(&vec![("phase", phase.as_str().to_string())])
            .inc();
    }

    fn stage(&self, stage: Stage, secs: f64) {
        self.stages
            .get_or_create(&vec![("stage", stage.as_str().to_string())])
            .observe(secs);
    }

    /// Start timing `stage`; it is recorded when the timer is dropped.
    pub fn time(&self, stage: Stage) -> StageTimer<'_> {
        StageTimer {
            metrics: self,
            stage,
            started: Instant::now(),
        }
    }

    /// Count one failed reconcile; `error` is a fixed word (`claim`, `api`).
    pub fn reconcile_failed(&self, error: &'static str) {
        self.reconcile_failures
            .get_or_create(&vec![("error", error.to_string())])
            .inc();
    }

    pub fn report(&self, ok: bool) {
        self.reports
            .get_or_create(&vec![(
                "result",
                if ok { "ok" } else { "error" }.to_string(),
            )])
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::new();
        m.request("created");
        m.request("created");
        m.phase(mosaic_core::BuildPhase::Succeeded);
        drop(m.time(Stage::Build));
        // A stage given up by `?` is timed too.
        let failed = || -> Result<(), ()> {
            let _t = m.time(Stage::Push);
            Err(())?;
            Ok(())
        };
        assert!(failed().is_err());
        m.reconcile_failed("api");
        let text = m.render();
        assert!(
            text.contains("mosaic_webhook_requests_total{result=\"created\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("mosaic_webhook_build_phase_transitions_total{phase=\"Succeeded\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mosaic_webhook_stage_duration_seconds_count{stage=\"build\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mosaic_webhook_stage_duration_seconds_count{stage=\"push\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mosaic_webhook_reconcile_failures_total{error=\"api\"} 1"),
            "{text}"
        );
    }
}
