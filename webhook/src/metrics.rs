//! Prometheus metrics: webhook requests by result, Build phase transitions by phase, a
//! duration histogram per pipeline stage (timed by a guard, so a stage that fails is timed
//! too), failed reconciles by error, and the unfinished Builds by state (a gauge read at each
//! scrape from the worker's watch caches, never from the API server: the builders'
//! autoscaling metric, README "Autoscaling the builders"). Every label value is one of a fixed
//! set of words (an enum per label), so labels carry no secrets and no free text.

use std::sync::Mutex;
use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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

label_words! {
    /// Where an unfinished Build stands (`state` of `builds_unfinished`): `pending` waits for
    /// a builder (no claim, or one whose heartbeat expired), `claimed` is held by one.
    BuildState {
        Pending => "pending",
        Claimed => "claimed",
    }
}

/// The unfinished Builds one watch cache shows, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unfinished {
    pub pending: i64,
    pub claimed: i64,
}

/// Counts the unfinished Builds of one watch cache when asked (at each scrape).
type UnfinishedSource = Box<dyn Fn() -> Unfinished + Send + Sync>;

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
struct StateLabels {
    state: BuildState,
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
    unfinished: Family<StateLabels, Gauge>,
    unfinished_sources: Mutex<Vec<UnfinishedSource>>,
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
        let unfinished = Family::<StateLabels, Gauge>::default();
        registry.register(
            "builds_unfinished",
            "Builds not yet finished in the watched namespaces, by state (0 on an intake-only replica)",
            unfinished.clone(),
        );
        Self {
            registry,
            requests,
            builds,
            stages,
            reports,
            reconcile_failures,
            unfinished,
            unfinished_sources: Mutex::default(),
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

    /// Count the unfinished Builds of one more watch cache with `count` at each scrape (one
    /// per Build controller; the gauge is their sum).
    pub fn count_unfinished_with(&self, count: impl Fn() -> Unfinished + Send + Sync + 'static) {
        self.unfinished_sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(count));
    }

    fn refresh_unfinished(&self) {
        let sources = self
            .unfinished_sources
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let total = sources.iter().fold(Unfinished::default(), |t, count| {
            let u = count();
            Unfinished {
                pending: t.pending + u.pending,
                claimed: t.claimed + u.claimed,
            }
        });
        for (state, n) in [
            (BuildState::Pending, total.pending),
            (BuildState::Claimed, total.claimed),
        ] {
            self.unfinished.get_or_create(&StateLabels { state }).set(n);
        }
    }

    /// The OpenMetrics text exposition (the unfinished Builds counted now).
    pub fn render(&self) -> String {
        self.refresh_unfinished();
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
        // No Build controller (an intake-only replica): both states read 0.
        for state in ["pending", "claimed"] {
            assert!(
                text.contains(&format!(
                    "mosaic_webhook_builds_unfinished{{state=\"{state}\"}} 0"
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn unfinished_builds_are_summed_over_the_caches_at_each_scrape() {
        let m = Metrics::new();
        let pending = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(3));
        let seen = pending.clone();
        m.count_unfinished_with(move || Unfinished {
            pending: seen.load(std::sync::atomic::Ordering::Relaxed),
            claimed: 1,
        });
        m.count_unfinished_with(|| Unfinished {
            pending: 2,
            claimed: 0,
        });
        let text = m.render();
        assert!(
            text.contains("mosaic_webhook_builds_unfinished{state=\"pending\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("mosaic_webhook_builds_unfinished{state=\"claimed\"} 1"),
            "{text}"
        );
        pending.store(0, std::sync::atomic::Ordering::Relaxed);
        let text = m.render();
        assert!(
            text.contains("mosaic_webhook_builds_unfinished{state=\"pending\"} 2"),
            "{text}"
        );
    }
}
