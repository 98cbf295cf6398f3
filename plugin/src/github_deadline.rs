//! Deadlines of the plugin's GitHub calls (`bind --auto`, `deploy`, `hook`, the UI): a connect
//! timeout and a total one per call, so a GitHub that accepts the connection and then says
//! nothing cannot hold a command forever. The total is `--github-timeout` (or
//! `MOSAIC_GITHUB_TIMEOUT`), 30 s by default; connecting may take at most 10 s of it. A call
//! that runs out says which endpoint did not answer and how to allow more time.

use std::future::Future;
use std::time::Duration;

use crate::error::Error;

/// The environment variable that sets `--github-timeout`.
pub const TIMEOUT_ENV: &str = "MOSAIC_GITHUB_TIMEOUT";
/// How long one GitHub call may take when no flag says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a connection to GitHub may take (never more than the total).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The deadlines of the calls to one GitHub API endpoint.
#[derive(Debug, Clone)]
pub struct Deadline {
    pub api_url: String,
    pub total: Duration,
}

impl Deadline {
    pub fn new(api_url: &str, total: Option<Duration>) -> Self {
        Self {
            api_url: api_url.to_string(),
            total: total.unwrap_or(DEFAULT_TIMEOUT),
        }
    }

    /// The connect timeout: 10 s, or the total when that is shorter.
    pub fn connect(&self) -> Duration {
        CONNECT_TIMEOUT.min(self.total)
    }

    /// Run `call` (the GitHub request for `what`) within the total deadline.
    pub async fn within<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.total, call).await {
            Ok(r) => r,
            Err(_) => Err(self.expired(what)),
        }
    }

    /// The error of a call for `what` that ran out of time.
    pub fn expired(&self, what: &str) -> Error {
        Error::Other(format!(
            "GitHub at {} did not answer {what} within {}: check that this machine reaches it, \
             or allow more time with --github-timeout (or {TIMEOUT_ENV})",
            self.api_url,
            mosaic_core::duration::format(self.total)
        ))
    }

    /// A hint for a transport error that is a timeout (connecting included).
    pub fn hint(&self, e: &octocrab::Error) -> String {
        let text = mosaic_core::error_chain::chain(e).to_ascii_lowercase();
        if text.contains("timed out") || text.contains("timeout") || text.contains("elapsed") {
            format!(
                " (the deadline is {}, connecting at most {}: --github-timeout or {TIMEOUT_ENV})",
                mosaic_core::duration::format(self.total),
                mosaic_core::duration::format(self.connect())
            )
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_past_its_deadline_names_the_endpoint_and_the_setting() {
        let d = Deadline::new(
            "https://ghe.example/api/v3",
            Some(Duration::from_millis(50)),
        );
        assert_eq!(d.connect(), Duration::from_millis(50));
        let r: Result<(), Error> = d
            .within("the commit of \"main\"", std::future::pending())
            .await;
        let text = r.unwrap_err().to_string();
        for part in [
            "https://ghe.example/api/v3",
            "within 50ms",
            "--github-timeout",
            TIMEOUT_ENV,
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let d = Deadline::new("https://api.github.com", None);
        assert_eq!((d.total, d.connect()), (DEFAULT_TIMEOUT, CONNECT_TIMEOUT));
        assert_eq!(d.within("x", async { Ok(7) }).await.unwrap(), 7);
    }
}
