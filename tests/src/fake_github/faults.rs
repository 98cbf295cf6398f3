//! Faults the fake GitHub can be told to show: an HTTP status instead of the answer for a path
//! prefix, a delay before answering (a slow GitHub), and tarball bodies sent in small chunks at a
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

#[derive(Debug, Default)]
pub(super) struct Faults {
    statuses: Vec<(String, u16)>,
    delays: Vec<(String, Duration)>,
    pace: Option<Pace>,
}

impl Shared {
    /// The injected error answer for `path`, if any.
    pub(super) fn fault(&self, path: &str) -> Option<Response> {
        let inner = self.lock();
        inner
            .faults
            .statuses
            .iter()
            .find(|(p, _)| path.starts_with(p.as_str()))
            .map(|(_, code)| {
                gh_error(
                    StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    "injected fault",
                )
            })
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
        self.shared
            .lock()
            .faults
            .statuses
            .push((path_prefix.to_string(), status));
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
