//! The outside world, each behind the pipeline's `ports` where the pipeline calls it: the
//! Docker engine (`docker`, through bollard, with its progress stream in `docker::build_log`),
//! GitHub (`github`, through octocrab: tarballs, commit statuses, and branch positions in
//! `github::git_history`), the registry (`registry`, through reqwest), and the Kubernetes API
//! server (`kube_client`, and `kube_retry` for riding out a briefly absent one).

pub(crate) mod docker;
pub(crate) mod error_text;
pub(crate) mod github;
pub(crate) mod kube_client;
pub mod kube_retry;
pub mod registry;
