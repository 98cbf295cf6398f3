//! What the flags point at, read once at start: the webhook secret files (with the one-line
//! error of a missing or empty one, or of an intake given none) and the name this replica
//! claims Builds under.

use std::path::PathBuf;

use super::Config;
use crate::intake::signature::WebhookSecret;

/// A configuration problem, reported as one line before exiting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "an intake (--concurrency 0) verifies deliveries and needs a secret: give --webhook-secret-file"
    )]
    NoSecret,
    #[error(
        "cannot read webhook secret file {0}: {1}; mount the Secret or fix --webhook-secret-file"
    )]
    SecretFile(PathBuf, std::io::Error),
    #[error("webhook secret file {0} is empty; put the secret configured in GitHub into it")]
    EmptySecret(PathBuf),
}

impl Config {
    pub fn secrets(&self) -> Result<Vec<WebhookSecret>, ConfigError> {
        if self.webhook_secret_files.is_empty() && self.concurrency == 0 {
            return Err(ConfigError::NoSecret);
        }
        self.webhook_secret_files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).map_err(|e| ConfigError::SecretFile(p.clone(), e))?;
                WebhookSecret::new(bytes).ok_or_else(|| ConfigError::EmptySecret(p.clone()))
            })
            .collect()
    }

    pub fn identity(&self) -> String {
        self.identity
            .clone()
            .or_else(|| std::env::var("POD_NAME").ok())
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "mosaic-webhook".to_string())
    }
}
