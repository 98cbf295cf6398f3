//! The Docker engine, through bollard: build an image from a GitHub tarball stream (restreamed
//! into a build context on a blocking thread, through a bounded channel) and push it, returning
//! the digest the engine reports. Builds use the engine's classic builder or, with
//! `--builder buildkit`, its BuildKit (API `version=2` plus a session bollard serves). The
//! image labels go to BuildKit as the build's `labels` option; the classic builder would run
//! one intermediate container per label for that, so for it they are appended to the Dockerfile
//! as one `LABEL` line on the way into the context (`dockerfile`). Errors
//! that arrive inside the engine's streams fail the step with that error line (`build_log`).
//!
//! By concept: the connection (`connect`), the build call and its context stream (`build`, with
//! the engine's progress stream in `build_log`), the push by tag (`push`) and by image id with
//! its digest check (`by_id`), the errors (`error`, classified for the pipeline in `classify`),
//! the pipeline's port (`image_builder`) and the disk budget (`prune`).

mod build;
pub(crate) mod build_log;
mod by_id;
mod classify;
mod connect;
mod error;
mod image_builder;
pub mod prune;
mod push;

use std::time::Duration;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use clap::ValueEnum;

use mosaic_core::registry_auth::RegistryAuth;

pub use error::{EngineError, is_transport};
use error::{lost, unreachable};
pub use image_builder::NoEngine;

/// Which of the engine's builders runs the builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Builder {
    /// The engine's classic builder (API `version=1`).
    Classic,
    /// BuildKit inside the engine (API `version=2` with a session).
    Buildkit,
}

/// A connected engine and the builder it runs builds with.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    /// The address connected to (the usage read of `prune` makes its own request).
    host: String,
    builder: Builder,
    /// The deadline of one push (`--push-timeout`).
    push_timeout: Duration,
    /// The BuildKit frontends a Dockerfile's `# syntax=` may name (`--syntax-frontends`).
    syntax_frontends: Vec<String>,
}

/// The deadline of one push unless `--push-timeout` says otherwise.
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(600);

fn creds(auth: Option<&RegistryAuth>) -> Option<DockerCredentials> {
    auth.map(|a| DockerCredentials {
        username: Some(a.username.clone()),
        password: Some(a.password.clone()),
        serveraddress: Some(a.host.clone()),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests;
