//! Faults the fake GitHub can be told to show: an HTTP status instead of the answer for a path
//! prefix (for good, or the next few requests; or GitHub's spent rate limit with its headers), a delay before answering (a slow GitHub), a gate that holds answers until the test
//! opens it (to keep a Build in a phase without timing), and tarball bodies sent in small chunks at a
//! fixed pace (a slow or stalling download). Faults can be cleared, for recovery drills. Every
//! request's path and arrival time is kept, for assertions on when GitHub was asked.

use std::time::{Duration, Instant};

use tokio::sync::watch;

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

/// An injected answer: a status, how many more times (`None`: until cleared), and, when it
/// is GitHub's spent rate limit, its `Retry-After` in seconds (403 with
/// `X-RateLimit-Remaining: 0`, the reset and `Retry-After`, as api.github.com answers).
#[derive(Debug, Clone)]
struct Injected {
    prefix: String,
    status: u16,
    times: Option<usize>,
    rate_limited: Option<u64>,
}

#[derive(Debug, Default)]
pub(super) struct Faults {
    statuses: Vec<Injected>,
    delays: Vec<(String, Duration)>,
    gates: Vec<(String, watch::Receiver<bool>)>,
    pace: Option<Pace>,
}

/// A gate on a path prefix (`FakeGitHub::hold`): requests wait until it is opened (or dropped).
pub struct Gate(watch::Sender<bool>);

impl Gate {
    /// Let the held requests, and every later one, through.
    pub fn open(&self) {
        self.0.send_replace(true);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
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
        let Some(retry_after) = f.rate_limited else {
            return Some(gh_error(status, "injected fault"));
        };
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() + retry_after)
            .unwrap_or_default();
        let mut r = gh_error(status, "API rate limit exceeded for user ID 1.");
        let h = r.headers_mut();
        for (k, v) in [
            ("x-ratelimit-limit", "5000".to_string()),
            ("x-ratelimit-remaining", "0".to_string()),
            ("x-ratelimit-used", "5000".to_string()),
            ("x-ratelimit-reset", reset.to_string()),
            ("x-ratelimit-resource", "core".to_string()),
            ("retry-after", retry_after.to_string()),
        ] {
            h.insert(k, v.parse().expect("ASCII header"));
        }
        Some(r)
    }

    /// Note the request for `path`, then wait while a gate for it is closed and as long as an
    /// injected delay says.
    pub(super) async fn delay(&self, path: &str) {
        let (gate, d) = {
            let mut inner = self.lock();
            inner.seen.push((path.to_string(), Instant::now()));
            let f = &inner.faults;
            let gate = f
                .gates
                .iter()
                .find(|(p, _)| path.starts_with(p.as_str()))
                .map(|(_, g)| g.clone());
            let d = f
                .delays
                .iter()
                .find(|(p, _)| path.starts_with(p.as_str()))
                .map(|(_, d)| *d);
            (gate, d)
        };
        if let Some(mut gate) = gate {
            let _ = gate.wait_for(|open| *open).await;
        }
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
        self.inject(path_prefix, status, None, None);
    }

    /// As `inject_fault`, for the next `times` requests only: GitHub recovers by itself.
    pub fn inject_fault_times(&self, path_prefix: &str, status: u16, times: usize) {
        self.inject(path_prefix, status, Some(times.max(1)), None);
    }

    /// Answer GitHub's spent rate limit (403, `X-RateLimit-Remaining: 0`, the reset a minute
    /// on, `Retry-After: 60`) to every request whose path starts with `path_prefix`.
    pub fn inject_rate_limit(&self, path_prefix: &str) {
        self.inject(path_prefix, 403, None, Some(60));
    }

    /// As `inject_rate_limit` with `Retry-After: retry_after` (and the reset as far on), for
    /// the next `times` requests only.
    pub fn inject_rate_limit_for(&self, path_prefix: &str, retry_after: u64, times: usize) {
        self.inject(path_prefix, 403, Some(times.max(1)), Some(retry_after));
    }

    /// Hold every request whose path starts with `path_prefix` (before any injected answer)
    /// until the returned gate is opened or dropped.
    pub fn hold(&self, path_prefix: &str) -> Gate {
        let (tx, rx) = watch::channel(false);
        self.shared
            .lock()
            .faults
            .gates
            .push((path_prefix.to_string(), rx));
        Gate(tx)
    }

    /// When each request whose path starts with `path_prefix` arrived, oldest first.
    pub fn requests_to(&self, path_prefix: &str) -> Vec<Instant> {
        self.requests()
            .into_iter()
            .filter(|(p, _)| p.starts_with(path_prefix))
            .map(|(_, at)| at)
            .collect()
    }

    /// Every request's path and arrival, oldest first.
    pub fn requests(&self) -> Vec<(String, Instant)> {
        self.shared.lock().seen.clone()
    }

    fn inject(&self, prefix: &str, status: u16, times: Option<usize>, rate_limited: Option<u64>) {
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
