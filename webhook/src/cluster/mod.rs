//! The Kubernetes API server, used directly (it is not behind a port: a `kube::Client` is
//! already a tower service, which the unit tests fake): the connection (`client`), riding out
//! a briefly absent API server (`retry`), a worker's hold on a Build's status (`claim`),
//! which the worker takes and the pipeline writes through, the Event each phase change of a
//! Build leaves (`build_events`), and the shape and writing of every Event (`events`). Of the rest of the crate it imports only `backoff`.

pub(crate) mod build_events;
pub(crate) mod claim;
pub(crate) mod client;
pub(crate) mod events;
pub(crate) mod retry;
