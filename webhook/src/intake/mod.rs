//! The intake: a GitHub delivery in, Build objects out. `server` (axum) takes the raw body,
//! `signature` verifies it with the secret of the namespace it names (`ns_secrets`),
//! `push_event` parses the push, and `decide` (pure) answers with the Builds to record, one per
//! matching Binding, named from (binding, commit). It never builds: the worker picks the Builds up.

pub(crate) mod budget;
pub mod decide;
pub(crate) mod http_serve;
pub(crate) mod notices;
pub(crate) mod ns_secrets;
pub mod push_event;
pub(crate) mod server;
pub mod signature;
