//! The Kubernetes API server, used directly (it is not behind a port: a `kube::Client` is
//! already a tower service, which the unit tests fake): the connection (`client`), riding out
//! a briefly absent API server (`retry`), and a worker's hold on a Build's status (`claim`),
//! which the worker takes and the pipeline writes through. It imports nothing else of the crate.

pub(crate) mod claim;
pub(crate) mod client;
pub(crate) mod retry;
