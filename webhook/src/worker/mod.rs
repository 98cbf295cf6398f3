//! The worker: a kube-runtime Controller over Builds (`controller`). It claims a Build
//! (`cluster::claim`), runs the pipeline on it, and records the outcome: the Build's terminal status,
//! the Binding's status (`binding_status`) and, for a push that did not deploy by decision, an
//! Event on the Binding (`binding_events`); then, in the background and from its watch caches,
//! it deletes the Binding's finished Builds beyond its history limits (`history`). `resync`
//! records Builds for branch heads that no delivery announced.

mod binding_events;
mod binding_status;
mod controller;
mod history;
pub(crate) mod resync;

pub(crate) use controller::{Worker, record_parked, run_controller};
