//! How long a rollout is verified and how long new pods may stay unready: from the Binding's
//! `spec.verify` when it says, else derived from the Deployment's own settings, never below the
//! cluster's defaults (the webhook's `--verify-window` and `--ready-grace`).
//!
//! - The verification window is at least `minReadySeconds` (the controller's own "stayed up"
//!   time), at least three periods of any probe, and long enough for a failing liveness probe
//!   to restart the container (`initialDelaySeconds + periodSeconds × (failureThreshold + 1)`).
//! - The readiness grace is at least what the readiness (or startup) probe needs to pass on a
//!   slow start: `initialDelaySeconds + 2 × periodSeconds × failureThreshold`.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Probe;

use crate::resources::VerifySpec;

/// Probe defaults of the API server (`periodSeconds`, `failureThreshold`).
const PERIOD: i32 = 10;
const FAILURES: i32 = 3;

/// The cluster's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub window: Duration,
    pub grace: Duration,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(10),
            grace: Duration::from_secs(60),
        }
    }
}

/// The settings one rollout is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How long the new pods must stay healthy after the rollout completed.
    pub window: Duration,
    /// How long every new pod may be unready (or unschedulable) before the rollout fails.
    pub grace: Duration,
}

impl Policy {
    /// The policy for rolling `dep`: `spec` wins where it says; the rest is derived.
    pub fn for_rollout(
        spec: Option<&VerifySpec>,
        dep: &Deployment,
        defaults: Defaults,
    ) -> Result<Self, String> {
        let parse = |field: &str, v: &Option<String>| {
            v.as_deref()
                .map(|s| crate::duration::parse(s).map_err(|e| format!("spec.verify.{field}: {e}")))
                .transpose()
        };
        let window = parse("window", &spec.and_then(|s| s.window.clone()))?;
        let grace = parse("grace", &spec.and_then(|s| s.grace.clone()))?;
        Ok(Self {
            window: window.unwrap_or_else(|| derived_window(dep).max(defaults.window)),
            grace: grace.unwrap_or_else(|| derived_grace(dep).max(defaults.grace)),
        })
    }
}

fn secs(n: i32) -> Duration {
    Duration::from_secs(u64::try_from(n.max(0)).unwrap_or(0))
}

fn probes(dep: &Deployment) -> impl Iterator<Item = (&'static str, &Probe)> {
    dep.spec
        .template
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| {
            [
                ("readiness", c.readiness_probe.as_ref()),
                ("liveness", c.liveness_probe.as_ref()),
                ("startup", c.startup_probe.as_ref()),
            ]
        })
        .filter_map(|(k, p)| p.map(|p| (k, p)))
}

fn period(p: &Probe) -> i32 {
    p.period_seconds.unwrap_or(PERIOD)
}

/// The window `dep`'s own settings call for.
pub fn derived_window(dep: &Deployment) -> Duration {
    let min_ready = secs(dep.spec.min_ready_seconds.unwrap_or(0));
    probes(dep)
        .map(|(kind, p)| {
            let periods = secs(3 * period(p));
            if kind == "liveness" {
                let kill = p.initial_delay_seconds.unwrap_or(0)
                    + period(p) * (p.failure_threshold.unwrap_or(FAILURES) + 1);
                periods.max(secs(kill))
            } else {
                periods
            }
        })
        .fold(min_ready, Duration::max)
}

/// The readiness grace `dep`'s own probes call for.
pub fn derived_grace(dep: &Deployment) -> Duration {
    probes(dep)
        .filter(|(kind, _)| *kind != "liveness")
        .map(|(_, p)| {
            secs(
                p.initial_delay_seconds.unwrap_or(0)
                    + 2 * period(p) * p.failure_threshold.unwrap_or(FAILURES),
            )
        })
        .fold(Duration::ZERO, Duration::max)
}
