//! The intake: a GitHub delivery in, Build objects out, in the order a delivery travels:
//! `server` (axum) routes it and answers within the request deadline; `delivery` admits it
//! within `budget`'s bounds and reads the raw body (`body`), which `signature` verifies with the
//! secret of the namespace it names (`ns_secrets`); `push_event` parses the push, `decide`
//! (pure) answers with the Builds to record, one per matching Binding, named from (binding,
//! commit), and `record_builds` creates them; `notices` leaves an Event on each bound Binding
//! the push does not deploy, saying why. Every answer is one line of JSON (`answer`); what the
//! handlers share is `state`. It never builds: the worker picks the Builds up.

mod answer;
mod body;
pub(crate) mod budget;
pub mod decide;
mod delivery;
pub(crate) mod http_serve;
pub(crate) mod notices;
pub(crate) mod ns_secrets;
pub mod push_event;
mod record_builds;
pub(crate) mod server;
pub mod signature;
pub(crate) mod state;
