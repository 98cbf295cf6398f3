//! Faults the fake GitHub can be told to show: an HTTP status instead of the answer for a path
//! prefix (for good, or the next few requests; or GitHub's spent rate limit with its headers), a delay before answering (a slow GitHub), and tarball bodies sent in small chunks at a
//! fixed pace (a slow or stalling download). Faults can be cleared, for recovery drills.

use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use super::{FakeGitHub, Shared, gh_error};

/// How tarball bodies are sent: `chunk` bytes, then a pause of `every`, until the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub chunk: usize,
    pub every: Duration,
}

/// An injected answer: a status, how many more times (`None`: until cleared), and whether it
/// is GitHub's spent rate limit (403 with `X-RateLimit-Remaining: 0`, the reset and
/// `Retry-After`, as api.github.com answers).
#[derive(Debug, Clone)]
struct Injected {
    prefix: String,
    status: u16,
    times: Option<usize>,
    rate_limited: bool,
}

#[derive(Debug, Default)]
pub(super) struct Faults {
    statuses: Vec<Injected>,
    delays: Vec<(String, Duration)>,
    pace: Option<Pace>,
}

impl Shared {
    /// The injected error answer for `path`, if any.
    pub(super) fn fault(&self, path: &str) -> Option<Response> {
        let mut inner = self.lock();
        let list = &mut inner.faults.statuses;
        let i = list
            .iter()
            .position(|f| path.starts_with(f.prefix.as_str()))?;
        let f = list[i].clone();
        match f.times {
            Some(1) => {
                list.remove(i);
            }
            Some(n) => list[i].times = Some(n - 1),
            None => {}
        }
        let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if !f.rate_limited {
            return Some(gh_error(status, "injected fault"));
        }
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() + 60)
            .unwrap_or_default();
        let mut r = gh_error(status, "API rate limit exceeded for user ID 1.");
        let h = r.headers_mut();
        for (k, v) in [
            ("x-ratelimit-limit", "5000".to_string()),
            ("x-ratelimit-remaining", "0".to_string()),
            ("x-ratelimit-used", "5000".to_string()),
            ("x-ratelimit-reset", reset.to_string()),
            ("x-ratelimit-resource", "core".to_string()),
            ("retry-after", "60".to_string()),
        ] {
            h.insert(k, v.parse().expect("ASCII header"));
        }
        Some(r)
    }

    /// Wait as long as an injected delay for `path` says.
    pub(super) async fn delay(&self, path: &str) {
        let d = self
            .lock()
            .faults
            .delays
            .iter()
            .find(|(p, _)| path.starts_with(p.as_str()))
            .map(|(_, d)| *d);
        if let Some(d) = d {
            tokio::time::sleep(d).await;
        }
    }

    /// A tarball body, paced when a pace is set.
    pub(super) fn tarball_body(&self, data: Vec<u8>) -> Body {
        let Some(pace) = self.lock().faults.pace else {
            return Body::from(data);
        };
        let chunks: Vec<Bytes> = data
            .chunks(pace.chunk.max(1))
            .map(Bytes::copy_from_slice)
            .collect();
        let stream =
            futures::stream::iter(chunks.into_iter().enumerate()).then(move |(i, c)| async move {
                if i > 0 {
                    tokio::time::sleep(pace.every).await;
                }
                Ok::<_, std::io::Error>(c)
            });
        Body::from_stream(stream)
    }
}

use futures::StreamExt as _;

impl FakeGitHub {
    /// Answer `status` to every request whose path starts with `path_prefix` (API paths such as
    /// `/repos/o/r/tarball`, `/repos/o/r/statuses`, or `/_codeload/o/r` for the download itself).
    pub fn inject_fault(&self, path_prefix: &str, status: u16) {
        self.inject(path_prefix, status, None, false);
    }

    /// As `inject_fault`, for the next `times` requests only: GitHub recovers by itself.
    pub fn inject_fault_times(&self, path_prefix: &str, status: u16, times: usize) {
        self.inject(path_prefix, status, Some(times.max(1)), false);
    }

    /// Answer GitHub's spent rate limit (403, `X-RateLimit-Remaining: 0`, the reset a minute
    /// on, `Retry-After: 60`) to every request whose path starts with `path_prefix`.
    pub fn inject_rate_limit(&self, path_prefix: &str) {
        self.inject(path_prefix, 403, None, true);
    }

    fn inject(&self, prefix: &str, status: u16, times: Option<usize>, rate_limited: bool) {
        self.shared.lock().faults.statuses.push(Injected {
            prefix: prefix.to_string(),
            status,
            times,
            rate_limited,
        });
    }

    /// Wait `delay` before answering any request whose path starts with `path_prefix`.
    pub fn inject_delay(&self, path_prefix: &str, delay: Duration) {
        self.shared
            .lock()
            .faults
            .delays
            .push((path_prefix.to_string(), delay));
    }

    /// Send tarball bodies `chunk` bytes at a time with `every` between chunks.
    pub fn pace_tarballs(&self, chunk: usize, every: Duration) {
        self.shared.lock().faults.pace = Some(Pace { chunk, every });
    }

    /// Remove every injected fault, delay and pace: GitHub recovers.
    pub fn clear_faults(&self) {
        self.shared.lock().faults = Faults::default();
    }
}
