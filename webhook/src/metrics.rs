//! Prometheus metrics: webhook requests by result, Build phase transitions by phase, and a
//! duration histogram per pipeline stage. Labels carry no secrets and no free text.

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
        Self {
            registry,
            requests,
            builds,
            stages,
            reports,
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

    pub fn stage(&self, stage: &'static str, secs: f64) {
        self.stages
            .get_or_create(&vec![("stage", stage.to_string())])
            .observe(secs);
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
        m.stage("build", 0.2);
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
    }
}
