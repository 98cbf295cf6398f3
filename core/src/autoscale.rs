//! The builders' optional autoscaling (`install --builder-autoscale MIN:MAX`): the parsed and
//! checked range, and the `autoscaling/v2` HorizontalPodAutoscaler that scales the builder
//! Deployment on the unfinished Builds every builder counts on `/metrics`
//! (`mosaic_webhook_builds_unfinished`, waiting plus claimed).
//!
//! The count is one number for the whole install, the same on every builder, not a per-pod
//! load: so the HPA reads it as an `External` metric with an `AverageValue` target, which
//! divides it by the current replicas and asks for `ceil(unfinished / BUILDS_PER_BUILDER)`
//! builders. (A `Pods` metric would average the builders' identical values and multiply the
//! replicas by the count at every step.) Claimed Builds count too, so a builder busy with a
//! long build is not scaled away while others wait. A metrics adapter must serve the metric
//! under [`EXTERNAL_METRIC`] (README, "Autoscaling the builders").

use std::fmt;
use std::str::FromStr;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, ExternalMetricSource, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerSpec, MetricIdentifier, MetricSpec, MetricTarget,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::{Deserialize, Serialize};

use crate::rbac::Part;

/// The external metric the HPA reads: the adapter's name for the highest
/// `mosaic_webhook_builds_unfinished` (pending plus claimed) any builder reports.
pub const EXTERNAL_METRIC: &str = "mosaic_builds_unfinished";
/// The series each builder exports on `/metrics` (one per `state`).
pub const EXPORTED_SERIES: &str = "mosaic_webhook_builds_unfinished";
/// Unfinished Builds per builder the HPA aims at: a builder's `--concurrency` default, so
/// each builder has a Build for every slot.
pub const BUILDS_PER_BUILDER: i32 = 2;
/// The most builders autoscaling may run (as `--builders`).
pub const MAX_BUILDERS: i32 = 100;

/// The builders' replica range under the HPA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscale {
    pub min: i32,
    pub max: i32,
}

/// Why a `MIN:MAX` range cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutoscaleError {
    #[error("{0:?} is not MIN:MAX: give two whole numbers, e.g. 1:10")]
    Shape(String),
    #[error(
        "{0}:{1}: MIN must be at least 1 (an HPA does not scale to 0 builders); give e.g. 1:{1}"
    )]
    MinZero(i32, i32),
    #[error("{0}:{1}: MIN is above MAX; give the smaller number first, e.g. {1}:{0}")]
    Inverted(i32, i32),
    #[error("{0}:{1}: MAX is above {MAX_BUILDERS} builders")]
    TooMany(i32, i32),
}

impl Autoscale {
    /// The range checked: 1 ≤ MIN ≤ MAX ≤ [`MAX_BUILDERS`].
    pub fn check(self) -> Result<Self, AutoscaleError> {
        let Autoscale { min, max } = self;
        if min < 1 {
            Err(AutoscaleError::MinZero(min, max))
        } else if min > max {
            Err(AutoscaleError::Inverted(min, max))
        } else if max > MAX_BUILDERS {
            Err(AutoscaleError::TooMany(min, max))
        } else {
            Ok(self)
        }
    }
}

impl FromStr for Autoscale {
    type Err = AutoscaleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let shape = || AutoscaleError::Shape(s.to_string());
        let (min, max) = s.split_once(':').ok_or_else(shape)?;
        let number = |n: &str| {
            n.parse::<i32>()
                .ok()
                .filter(|_| n.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(shape)
        };
        Autoscale {
            min: number(min)?,
            max: number(max)?,
        }
        .check()
    }
}

impl fmt::Display for Autoscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.min, self.max)
    }
}

/// The HorizontalPodAutoscaler of the builder Deployment for `a`, in the install namespace
/// (`install` re-homes it with `-n`, as every namespaced object).
pub fn builder_hpa(a: Autoscale) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: crate::install::part_meta(Part::Builder),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: Part::Builder.name().into(),
            },
            min_replicas: Some(a.min),
            max_replicas: a.max,
            metrics: Some(vec![MetricSpec {
                type_: "External".into(),
                external: Some(ExternalMetricSource {
                    metric: MetricIdentifier {
                        name: EXTERNAL_METRIC.into(),
                        selector: None,
                    },
                    target: MetricTarget {
                        type_: "AverageValue".into(),
                        average_value: Some(Quantity(BUILDS_PER_BUILDER.to_string())),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            behavior: None,
        },
        status: None,
    }
}

#[cfg(test)]
mod tests;
