//! What the intake's handlers share (`AppState`): the keys, the cached Bindings, the client
//! that records Builds, the budget, and what `/readyz` and `/metrics` read. Built once by
//! `lib.rs::serve`.

use std::sync::Arc;

use kube::runtime::reflector::Store;
use mosaic_core::resources::Binding;

use crate::adapters::docker::Engine;
use crate::intake::budget::Budget;
use crate::intake::ns_secrets::NamespaceSecrets;
use crate::intake::signature::WebhookSecret;
use crate::metrics::Metrics;
use crate::readiness::Readiness;

/// Everything the handlers share.
pub struct AppState {
    pub secrets: Vec<WebhookSecret>,
    pub bindings: Vec<Store<Binding>>,
    pub client: kube::Client,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    /// The engine `/readyz` checks; `None` on an intake-only replica, which needs none.
    pub engine: Option<Engine>,
    /// Each namespace's own webhook secret.
    pub ns_secrets: NamespaceSecrets,
    /// How many deliveries, and how many of their body bytes, are handled at once.
    pub budget: Budget,
}
