//! Rolling a Deployment to a digest, in three separate steps:
//! - `apply`: server-side apply of only the container image and the commit and Build
//!   annotations (field manager `mosaic-webhook`, forced, conditional on the resourceVersion
//!   read before the latest-wins check: see `latest::deployment_taken_by`);
//! - `Watch`: one look at the rollout at a time, judged by `mosaic_core::verdict` (the one
//!   place that decides Succeeded and Failed) from the Deployment and its new pods, until a
//!   verdict, a newer Build taking the Deployment over, or `--rollout-timeout` (an API server
//!   that is briefly away is waited for);
//! - `roll_back`: the previous pod template applied back exactly (image and annotations), under
//!   the same guard, so the previous ReplicaSet, whose pods are still warm, scales back up as
//!   with `kubectl rollout undo`.

mod apply;
mod ownership;
mod reads;
mod watch;

pub use apply::{Applied, Marks, apply, apply_image, roll_back};
pub use watch::Watch;
