//! Prometheus metrics: webhook requests by result, Build phase transitions by phase, a
//! duration histogram per pipeline stage (timed by a guard, so a stage that fails is timed
//! too), and failed reconciles by error. Every label value is one of a fixed set of words (an
//! enum per label), so labels carry no secrets and no free text.

use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A label value that is one of a fixed set of words.
macro_rules! label_words {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $word:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)* }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word,)* }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, e: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(e, self.as_str())
            }
        }
    };
}

label_words! {
    /// What became of a delivery (`result` of `requests`).
    RequestResult {
        Created => "created",
        Duplicate => "duplicate",
        Ignored => "ignored",
        Pong => "pong",
        Unauthorized => "unauthorized",
        BadRequest => "bad_request",
        TooLarge => "too_large",
        Busy => "busy",
        Error => "error",
    }
}

label_words! {
    /// A pipeline stage, as its `stage` label names it.
    Stage {
        Build => "build",
        Push => "push",
        Rollout => "rollout",
    }
}

label_words! {
    /// Why a reconcile failed (`error` of `reconcile_failures`).
    ReconcileError {
        Claim => "claim",
        Api => "api",
    }
}

label_words! {
    /// How a GitHub status report went (`result` of `github_status_reports`).
    ReportResult {
        Ok => "ok",
        Error => "error",
    }
}

/// A Build phase as a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Phase(pub mosaic_core::BuildPhase);

impl EncodeLabelValue for Phase {
    fn encode(&self, e: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(e, self.0.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    result: RequestResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PhaseLabels {
    phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StageLabels {
    stage: Stage,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReportLabels {
    result: ReportResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReconcileLabels {
    error: ReconcileError,
}

/// All of the server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    builds: Family<PhaseLabels, Counter>,
    stages: Family<StageLabels, Histogram>,
    reports: Family<ReportLabels, Counter>,
    reconcile_failures: Family<ReconcileLabels, Counter>,
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
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "Webhook deliveries by result", requests.clone());
        let builds = Family::<PhaseLabels, Counter>::default();
        registry.register(
            "build_phase_transitions",
            "Builds entering each phase",
            builds.clone(),
        );
        let stages = Family::<StageLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 18))
        });
        registry.register(
            "stage_duration_seconds",
            "Duration of each pipeline stage",
            stages.clone(),
        );
        let reports = Family::<ReportLabels, Counter>::default();
        registry.register(
            "github_status_reports",
            "GitHub commit status reports by result",
            reports.clone(),
        );
        let reconcile_failures = Family::<ReconcileLabels, Counter>::default();
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

    /// Count one delivery.
    pub fn request(&self, result: RequestResult) {
        self.requests.get_or_create(&RequestLabels { result }).inc();
    }

    pub fn phase(&self, phase: mosaic_core::BuildPhase) {
        self.builds
            .get_or_create(&PhaseLabels {
                phase: Phase(phase),
            })
            .inc();
    }

    fn stage(&self, stage: Stage, secs: f64) {
        self.stages
            .get_or_create(&StageLabels { stage })
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

    /// Count one failed reconcile.
    pub fn reconcile_failed(&self, error: ReconcileError) {
        self.reconcile_failures
            .get_or_create(&ReconcileLabels { error })
            .inc();
    }

    pub fn report(&self, ok: bool) {
        let result = if ok {
            ReportResult::Ok
        } else {
            ReportResult::Error
        };
        self.reports.get_or_create(&ReportLabels { result }).inc();
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
        m.request(RequestResult::Created);
        m.request(RequestResult::Created);
        m.phase(mosaic_core::BuildPhase::Succeeded);
        drop(m.time(Stage::Build));
        // A stage given up by `?` is timed too.
        let failed = || -> Result<(), ()> {
            let _t = m.time(Stage::Push);
            Err(())?;
            Ok(())
        };
        assert!(failed().is_err());
        m.reconcile_failed(ReconcileError::Api);
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
