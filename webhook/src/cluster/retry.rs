//! Riding out a Kubernetes API server that is briefly away (restarting, failing over): which
//! errors are worth another try, a bounded retry with backoff for the worker's own writes and
//! reads, and the back-off of the watches. A real answer (conflict, not found, forbidden) is
//! returned at once.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use crate::backoff::{self, Kind, Policy};

/// How long a call keeps retrying before the error is returned, until `serve` sets it from
/// `--claim-ttl` (`settings::Settings::api_retry_budget`): the default claim TTL.
const DEFAULT_API_BUDGET: Duration = Duration::from_secs(30);

static API_BUDGET: OnceLock<Duration> = OnceLock::new();

/// How long the worker's own Kubernetes API calls keep retrying while the API server is away.
pub fn api_budget() -> Duration {
    API_BUDGET.get().copied().unwrap_or(DEFAULT_API_BUDGET)
}

/// Set [`api_budget`], once, at start.
pub fn set_api_budget(budget: Duration) {
    let _ = API_BUDGET.set(budget);
}
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// May the same call succeed if tried again? Transport errors (connection refused or reset,
/// timeouts), 5xx and 429 answers, and the plain-text `404 page not found` an API server gives
/// for a custom resource before it serves its group again after a restart (a real NotFound is
/// a Status with reason `NotFound`).
pub fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        kube::Error::Api(s) => {
            s.code >= 500 || s.code == 429 || (s.code == 404 && s.reason != "NotFound")
        }
        _ => false,
    }
}

/// Run `call` until it succeeds, fails for real, or transient failures have lasted `budget`:
/// pauses from 100 ms, doubling to at most 2 s (`backoff::retry`).
pub async fn retry<T, F, Fut>(what: &str, budget: Duration, call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let policy = Policy::Doubling {
        first: FIRST_PAUSE,
        max: MAX_PAUSE,
        tries: None,
        budget: Some(budget),
    };
    let kind = |e: &kube::Error| match is_transient(e) {
        true => Kind::Transient,
        false => Kind::Permanent,
    };
    backoff::retry(
        &policy,
        kind,
        |e, pause| tracing::warn!(what, error = %e, retry_in = ?pause, "Kubernetes API unavailable; retrying"),
        call,
    )
    .await
    .map_err(|t| t.error)
}

/// Back-off between watch restarts: 500 ms doubling to at most 5 s, back to the start after
/// any event. kube-runtime's default climbs to 30 s and only starts over after 120 s without
/// an error, so after an outage of a minute the watches came back up to 83 s after the API
/// server did (`scripts/drill kube`), and new Builds waited that long to be claimed.
#[derive(Debug, Clone)]
pub struct WatchBackoff {
    next: Duration,
}

const WATCH_FIRST: Duration = Duration::from_millis(500);
const WATCH_MAX: Duration = Duration::from_secs(5);

impl Default for WatchBackoff {
    fn default() -> Self {
        Self { next: WATCH_FIRST }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (self.next * 2).min(WATCH_MAX);
        Some(now)
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = WATCH_FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("x", reason)
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn transient_errors() {
        assert!(is_transient(&api(503, "ServiceUnavailable")));
        assert!(is_transient(&api(500, "InternalError")));
        assert!(is_transient(&api(429, "TooManyRequests")));
        assert!(is_transient(&api(404, "Failed to parse error data")));
        assert!(!is_transient(&api(404, "NotFound")));
        assert!(!is_transient(&api(409, "Conflict")));
        assert!(!is_transient(&api(403, "Forbidden")));
        assert!(is_transient(&kube::Error::Service("connect".into())));
    }

    #[test]
    fn watch_backoff_is_capped_and_resets() {
        use kube::runtime::utils::Backoff as _;
        let mut b = WatchBackoff::default();
        let first: Vec<u64> = b.by_ref().take(6).map(|d| d.as_millis() as u64).collect();
        assert_eq!(first, [500, 1000, 2000, 4000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next(), Some(Duration::from_millis(500)));
    }

    #[tokio::test]
    async fn retries_transient_errors_within_the_budget() {
        let mut calls = 0;
        let r = retry("test", Duration::from_secs(30), || {
            calls += 1;
            let n = calls;
            async move {
                if n < 4 {
                    Err(api(503, "ServiceUnavailable"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 4);

        let mut calls = 0;
        let r: Result<(), _> = retry("test", Duration::from_secs(30), || {
            calls += 1;
            async { Err(api(409, "Conflict")) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1, "a real answer is not retried");

        let mut calls = 0;
        let r: Result<(), _> = retry("test", Duration::from_millis(250), || {
            calls += 1;
            async { Err(kube::Error::Service("connection refused".into())) }
        })
        .await;
        assert!(r.is_err(), "gives up once the budget is spent");
        assert_eq!(
            calls, 2,
            "tries at 0 and 100 ms; a pause of 200 ms more would overrun"
        );
    }
}
