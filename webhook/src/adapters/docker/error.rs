//! Why a build or a push failed, and the two ways the engine itself fails: it cannot be reached
//! (`unreachable`) or the connection to it is lost part way (`lost`); `is_transport` tells those
//! from an error the engine answered with.

use crate::pipeline::context::ContextError;
use crate::pipeline::context::dockerfile::DockerfileError;

/// Why a build or push failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("source: {0}")]
    Context(#[from] ContextError),
    #[error("image labels: {0}")]
    Labels(#[from] DockerfileError),
    #[error("docker build failed: {0}")]
    Build(String),
    #[error("docker push of {tag} failed: {message}")]
    Push { tag: String, message: String },
    /// The engine did not answer, or the connection to it failed (the message says which).
    #[error("{0}")]
    Unreachable(String),
}

/// Did the connection to the engine fail (rather than the engine answer with an error)?
pub fn is_transport(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        e,
        E::HyperResponseError { .. }
            | E::HyperLegacyError { .. }
            | E::IOError { .. }
            | E::RequestTimeoutError
            | E::SocketNotFoundError(_)
    )
}

pub(super) fn lost(message: &str) -> EngineError {
    EngineError::Unreachable(format!("connection to the Docker engine lost: {message}"))
}

pub(super) fn unreachable(e: bollard::errors::Error) -> EngineError {
    EngineError::Unreachable(format!(
        "Docker engine unreachable: {}",
        mosaic_core::error_chain::chain(&e)
    ))
}
