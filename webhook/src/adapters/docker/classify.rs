//! The engine's failures in the pipeline's words: which are worth another try (the engine was
//! away, the tarball's download broke off, the registry answered the push with a 5xx, dockerd's
//! own retries included), which are a refusal of the credentials, and the Build's reason.

use mosaic_core::BuildReason;

use super::EngineError;
use crate::pipeline::context::ContextError;
use crate::pipeline::ports::{Kind, PortError, broke_off};

impl EngineError {
    /// The Build's reason for this error, `otherwise` unless the engine itself was away.
    pub fn reason(&self, otherwise: BuildReason) -> BuildReason {
        match self {
            EngineError::Unreachable(_) => BuildReason::EngineUnavailable,
            // The tarball's download broke off part way (GitHub stalled or hung up).
            EngineError::Context(ContextError::Read(e)) if broke_off(e) => {
                BuildReason::SourceUnavailable
            }
            _ => otherwise,
        }
    }

    /// May the same build or push succeed if run again, or did the registry refuse it?
    pub fn kind(&self) -> Kind {
        match self {
            EngineError::Unreachable(_) => Kind::Transient,
            EngineError::Context(ContextError::Read(e)) if broke_off(e) => Kind::Transient,
            EngineError::Push { message, .. } if names_a_5xx(message) => Kind::Transient,
            EngineError::Push { message, .. } if names_a_refusal(message) => Kind::Refused,
            _ => Kind::Permanent,
        }
    }

    /// The error of a build, as the pipeline sees it.
    pub fn of_build(self) -> PortError {
        PortError::new(self.kind(), self.reason(BuildReason::BuildFailed), self)
    }

    /// The error of a push, as the pipeline sees it.
    pub fn of_push(self) -> PortError {
        PortError::new(self.kind(), self.reason(BuildReason::PushFailed), self)
    }
}

/// Does `message` carry an HTTP 5xx status: `status: 503`, `500 Internal Server Error`?
pub fn names_a_5xx(message: &str) -> bool {
    let words: Vec<&str> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        let is_5xx = w.len() == 3 && w.parse::<u16>().is_ok_and(|n| (500..600).contains(&n));
        let after_status = i > 0 && words[i - 1].eq_ignore_ascii_case("status");
        let reason_follows = words
            .get(i + 1)
            .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_uppercase()));
        is_5xx && (after_status || reason_follows)
    })
}

/// Does an engine's push error say the registry refused the credentials?
pub fn names_a_refusal(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("unauthorized") || m.contains("authentication required")
}

#[cfg(test)]
mod tests;
