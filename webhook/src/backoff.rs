//! The one retry helper. A call that failed is tried again only when its error is of kind
//! `Transient` (a refusal or a permanent failure is returned at once), after the pause its
//! `Policy` gives for that try, until the policy has none left. Every retrying loop of the
//! webhook goes through [`retry`]: the pipeline's stages (`--retry-pauses`), the question to
//! GitHub where a branch is, the registry's digest check, and the Kubernetes API calls of
//! `cluster::retry` (within a budget derived from `--claim-ttl`). Each place that can fail
//! retries in one layer only, so a failure is never tried tries × tries times.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How a failed call may end if made again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The other side was away, overloaded or slow (transport errors, 5xx, 429): try again.
    Transient,
    /// The other side refused the credentials (401, 403): trying again will not help.
    Refused,
    /// Anything else (bad input, not found, a failing build step).
    Permanent,
}

/// When a failed call is tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Pause for each of these in turn before the next try; give up when they are used up.
    Pauses(Vec<Duration>),
    /// Pause `first`, then twice as long each time up to `max`; give up after `tries` tries
    /// or when the next pause would end past `budget` after the first try (either, if set).
    Doubling {
        first: Duration,
        max: Duration,
        tries: Option<u32>,
        budget: Option<Duration>,
    },
}

impl Policy {
    /// The pause before try `failed + 1` (`failed` tries made so far, from `started`), or
    /// `None` to give up.
    pub fn pause(&self, failed: u32, started: Instant) -> Option<Duration> {
        match self {
            Policy::Pauses(p) => p.get(failed as usize - 1).copied(),
            Policy::Doubling {
                first,
                max,
                tries,
                budget,
            } => {
                if tries.is_some_and(|t| failed >= t) {
                    return None;
                }
                let doubled = first.saturating_mul(1u32 << (failed - 1).min(20));
                let pause = doubled.min(*max);
                if budget.is_some_and(|b| Instant::now() + pause >= started + b) {
                    return None;
                }
                Some(pause)
            }
        }
    }
}

/// The error a retried call ended with, and how many tries were made.
#[derive(Debug)]
pub struct Tried<E> {
    pub error: E,
    pub tries: u32,
}

/// Run `call` until it succeeds, fails with an error `kind` does not call `Transient`, or
/// `policy` gives up. `on_retry` hears each error that is tried again, with the pause.
pub async fn retry<T, E, F, Fut>(
    policy: &Policy,
    kind: impl Fn(&E) -> Kind,
    mut on_retry: impl FnMut(&E, Duration),
    mut call: F,
) -> Result<T, Tried<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(error) => {
                let pause = match kind(&error) {
                    Kind::Transient => policy.pause(tries, started),
                    Kind::Refused | Kind::Permanent => None,
                };
                match pause {
                    Some(p) => {
                        on_retry(&error, p);
                        tokio::time::sleep(p).await;
                    }
                    None => return Err(Tried { error, tries }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
