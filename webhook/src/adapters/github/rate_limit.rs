//! GitHub's rate-limit headers, read from every answer to the git-history requests (304s
//! included): how many requests the token has left (`X-RateLimit-Remaining`), when its window
//! resets (`X-RateLimit-Reset`, Unix seconds) and how long to hold off when told so
//! (`Retry-After`, seconds, sent with secondary limits). The resync asks `wait` before each
//! request, so a spent or nearly spent limit pauses it instead of burning requests that GitHub
//! would refuse, and requests Builds need are left over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// When GitHub asks to wait without saying how long (a `Retry-After` that is not a number),
/// its documentation says to wait at least a minute.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What one answer said about the token's rate limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    pub remaining: Option<u64>,
    /// Unix seconds.
    pub reset: Option<u64>,
    pub retry_after: Option<Duration>,
    /// Unix seconds when the answer arrived, rounded up ([`unix_now_up`]).
    pub seen_at: u64,
}

impl RateLimit {
    /// Read the headers of one answer at `now` (Unix seconds); `None` when it carries none.
    pub fn from_headers(h: &http::HeaderMap, now: u64) -> Option<Self> {
        let text = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
        let number = |n: &str| text(n).and_then(|v| v.parse::<u64>().ok());
        let retry_after = text("retry-after").map(|v| {
            v.parse::<u64>()
                .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs)
        });
        let r = Self {
            remaining: number("x-ratelimit-remaining"),
            reset: number("x-ratelimit-reset"),
            retry_after,
            seen_at: now,
        };
        (r.remaining.is_some() || r.retry_after.is_some()).then_some(r)
    }

    /// How long to hold off before the next request at `now`, keeping `reserve` requests of
    /// the window for others (the Builds' own checks); `None` to go ahead.
    pub fn wait(&self, now: u64, reserve: u64) -> Option<Duration> {
        if let Some(after) = self.retry_after {
            let until = self.seen_at + after.as_secs();
            if until > now {
                return Some(Duration::from_secs(until - now));
            }
        }
        if self.remaining? > reserve {
            return None;
        }
        // Spent: until the window resets (an unknown or past reset: the default pause).
        match self.reset {
            Some(reset) if reset > now => Some(Duration::from_secs(reset - now)),
            Some(_) => None,
            None => Some(DEFAULT_RETRY_AFTER),
        }
    }
}

/// The last rate limit seen per token (kept in memory, like the clients).
#[derive(Clone, Default)]
pub struct Limits(Arc<Mutex<HashMap<String, RateLimit>>>);

impl Limits {
    pub fn note(&self, token: &str, limit: RateLimit) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= 64 && !m.contains_key(token) {
            m.clear();
        }
        m.insert(token.to_string(), limit);
    }

    pub fn get(&self, token: &str) -> Option<RateLimit> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .copied()
    }
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    since_epoch().as_secs()
}

/// Unix seconds now, rounded up: the arrival time of an answer, so that a wait counted from it
/// in whole seconds never ends before GitHub's `Retry-After` has run.
pub fn unix_now_up() -> u64 {
    let d = since_epoch();
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn since_epoch() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    // The headers of a real api.github.com answer (as `@octokit/fixtures` records them).
    const NOW: u64 = 1_765_000_000;

    #[test]
    fn a_plenty_limit_goes_ahead() {
        let h = headers(&[
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "4987"),
            ("x-ratelimit-reset", "1765003600"),
            ("x-ratelimit-used", "13"),
            ("x-ratelimit-resource", "core"),
        ]);
        let r = RateLimit::from_headers(&h, NOW).unwrap();
        assert_eq!(r.remaining, Some(4987));
        assert_eq!(r.reset, Some(1_765_003_600));
        assert_eq!(r.retry_after, None);
        assert_eq!(r.wait(NOW, 50), None);
        assert!(RateLimit::from_headers(&headers(&[("etag", "\"x\"")]), NOW).is_none());
    }

    #[test]
    fn a_spent_primary_limit_waits_for_the_reset() {
        // GitHub's 403 "API rate limit exceeded for user ID 1.": remaining 0 and the reset.
        let h = headers(&[
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1765000900"),
        ]);
        let r = RateLimit::from_headers(&h, NOW).unwrap();
        assert_eq!(r.wait(NOW, 50), Some(Duration::from_secs(900)));
        assert_eq!(r.wait(NOW + 900, 50), None, "the window reset");
        // Nearly spent: the last requests are left for the Builds.
        let low = RateLimit {
            remaining: Some(20),
            ..r
        };
        assert_eq!(low.wait(NOW, 50), Some(Duration::from_secs(900)));
        assert_eq!(low.wait(NOW, 10), None);
    }

    #[test]
    fn a_secondary_limit_waits_retry_after() {
        // GitHub's secondary limit: 403 with `Retry-After` (seconds) and a remaining budget.
        let h = headers(&[
            ("retry-after", "60"),
            ("x-ratelimit-remaining", "4000"),
            ("x-ratelimit-reset", "1765003600"),
        ]);
        let r = RateLimit::from_headers(&h, NOW).unwrap();
        assert_eq!(r.retry_after, Some(Duration::from_secs(60)));
        assert_eq!(r.wait(NOW + 15, 50), Some(Duration::from_secs(45)));
        assert_eq!(r.wait(NOW + 60, 50), None);
        // A date instead of seconds: the documented minimum.
        let h = headers(&[("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")]);
        let r = RateLimit::from_headers(&h, NOW).unwrap();
        assert_eq!(r.wait(NOW, 50), Some(DEFAULT_RETRY_AFTER));
    }

    #[test]
    fn limits_are_kept_per_token() {
        let l = Limits::default();
        let spent = RateLimit {
            remaining: Some(0),
            reset: Some(NOW + 10),
            retry_after: None,
            seen_at: NOW,
        };
        l.note("a", spent);
        assert_eq!(l.get("a"), Some(spent));
        assert_eq!(l.get("b"), None);
    }
}
