//! Shared set-up for the webhook's real-stack tests and for the examples that drive the real
//! binary (the push demo, the overhead benchmark): a namespace with CRDs, Secrets, a Deployment
//! and a Binding (`world`); the fake GitHub; the real `mosaic-webhook` binary as a child
//! process and signed push deliveries (`server`); a stand-in for the Deployment controller,
//! which the test API server does not run (`rollouts`); and, for the real cluster of
//! `scripts/cluster`, its own World and apps (`cluster`).

mod cluster;
mod rollouts;
mod server;
mod world;

pub use cluster::*;
pub use rollouts::*;
pub use server::*;
pub use world::*;
