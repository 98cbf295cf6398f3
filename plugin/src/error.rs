//! The plugin's error boundary: every failure a command can report, and its exit code.

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the command worked and found problems at or above the threshold (explain `--fail-on`).
    Findings,
}

/// A command failure. `Display` is the one line shown after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or arguments (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Bad input data: a file, a reference, a missing object named by the user (exit 2).
    #[error("{0}")]
    Input(String),
    /// Could not build a client from the kubeconfig (exit 1).
    #[error("{0}")]
    Config(String),
    /// The Kubernetes API refused or failed a call (exit 1).
    #[error("{0}")]
    Kube(String),
    /// An object the command needs does not exist (exit 1, like `kubectl get` of a missing object).
    #[error("{0}")]
    NotFound(String),
    /// Any other runtime failure (exit 1).
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Input(_) => 2,
            Self::Config(_) | Self::Kube(_) | Self::NotFound(_) | Self::Other(_) => 1,
        }
    }
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        match &e {
            kube::Error::Api(s)
                if s.code == 404
                    && s.message
                        .contains("the server could not find the requested resource") =>
            {
                Self::Kube(format!(
                    "{} ({} {}): are Mosaic's CRDs installed? Install them with `kubectl mosaic install` (or `kubectl apply -f manifests/crds.yaml`)",
                    s.message, s.code, s.reason
                ))
            }
            kube::Error::Api(s) if s.code == 404 => {
                Self::NotFound(format!("{} ({} {})", s.message, s.code, s.reason))
            }
            kube::Error::Api(s) if s.code == 403 => Self::Kube(
                mosaic_core::permission::explain(&s.message)
                    .unwrap_or_else(|| format!("{} ({} {})", s.message, s.code, s.reason)),
            ),
            kube::Error::Api(s) => Self::Kube(format!("{} ({} {})", s.message, s.code, s.reason)),
            _ => Self::Kube(format!(
                "cannot reach the Kubernetes API: {}",
                mosaic_core::error_chain::chain(&e)
            )),
        }
    }
}
