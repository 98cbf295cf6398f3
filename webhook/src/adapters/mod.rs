//! The outside world, each behind the pipeline's `ports` where the pipeline calls it: the
//! Docker engine (`docker`, through bollard, with its progress stream in `docker::build_log`),
//! GitHub (`github`, through octocrab: tarballs, commit statuses, and branch positions in
//! `github::git_history`) and the registry (`registry`, through reqwest). Kubernetes is not
//! behind a port: see `cluster`.

pub(crate) mod docker;
pub(crate) mod github;
pub mod registry;
