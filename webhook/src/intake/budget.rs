//! The intake's bounds: how many deliveries it handles at once (`--max-requests`) and how many
//! body bytes all of them together may hold (`--max-inflight-mib`). Beyond either, a delivery is
//! answered 503 with `Retry-After` at once, before (or instead of) reading more of its body, so
//! the intake's memory is bounded whatever arrives. A delivery's bytes stay counted until its
//! answer is given.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Seconds a refused sender is asked to wait (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 5;

/// The shared bounds.
#[derive(Clone)]
pub struct Budget {
    requests: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    max_requests: usize,
    max_bytes: usize,
}

/// Why a delivery was refused: the line the 503 carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Busy {
    #[error(
        "the intake is handling {0} deliveries at once (--max-requests); redeliver in a few seconds"
    )]
    Requests(usize),
    #[error(
        "the intake holds {0} MiB of delivery bodies at once (--max-inflight-mib); redeliver in a few seconds"
    )]
    Bytes(usize),
}

/// One delivery's share: its place among the requests and the body bytes it holds.
pub struct Ticket {
    budget: Budget,
    _request: OwnedSemaphorePermit,
    bytes: Option<OwnedSemaphorePermit>,
}

impl Budget {
    /// At most `max_requests` deliveries and `max_bytes` body bytes at once.
    pub fn new(max_requests: usize, max_bytes: usize) -> Self {
        Self {
            requests: Arc::new(Semaphore::new(max_requests)),
            bytes: Arc::new(Semaphore::new(max_bytes)),
            max_requests,
            max_bytes,
        }
    }

    /// A place for one more delivery, or why not.
    pub fn admit(&self) -> Result<Ticket, Busy> {
        let request = self
            .requests
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy::Requests(self.max_requests))?;
        Ok(Ticket {
            budget: self.clone(),
            _request: request,
            bytes: None,
        })
    }

    /// Body bytes held by every delivery now.
    #[cfg(test)]
    pub fn bytes_held(&self) -> usize {
        self.max_bytes - self.bytes.available_permits()
    }
}

impl Ticket {
    /// Count `n` more body bytes against the shared budget, or say it is spent.
    pub fn hold(&mut self, n: usize) -> Result<(), Busy> {
        if n == 0 {
            return Ok(());
        }
        let spent = || Busy::Bytes(self.budget.max_bytes / (1024 * 1024));
        let n32 = u32::try_from(n).map_err(|_| spent())?;
        let permit = self
            .budget
            .bytes
            .clone()
            .try_acquire_many_owned(n32)
            .map_err(|_| spent())?;
        match &mut self.bytes {
            Some(held) => held.merge(permit),
            None => self.bytes = Some(permit),
        }
        Ok(())
    }

    /// Body bytes this delivery holds.
    pub fn held(&self) -> usize {
        self.bytes.as_ref().map_or(0, |p| p.num_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_bytes_are_bounded_and_given_back() {
        let b = Budget::new(2, 100);
        let mut one = b.admit().unwrap();
        let two = b.admit().unwrap();
        assert_eq!(b.admit().err(), Some(Busy::Requests(2)));
        drop(two);
        let mut three = b.admit().unwrap();
        one.hold(60).unwrap();
        one.hold(0).unwrap();
        assert!(matches!(three.hold(50), Err(Busy::Bytes(_))));
        three.hold(40).unwrap();
        assert_eq!((one.held(), three.held(), b.bytes_held()), (60, 40, 100));
        drop(one);
        assert_eq!(b.bytes_held(), 40);
        three.hold(60).unwrap();
        assert_eq!(three.held(), 100);
        drop(three);
        assert_eq!(b.bytes_held(), 0);
        assert!(
            Busy::Bytes(64)
                .to_string()
                .contains("64 MiB of delivery bodies")
        );
    }
}
