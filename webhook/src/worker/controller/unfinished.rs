//! The unfinished Builds a controller's store shows, by state, for the `builds_unfinished`
//! gauge (the builders' autoscaling metric). Pure: the store already holds whole objects only
//! for the Builds still to run (`store::for_controller`), so a scrape reads memory, never the
//! API server. The claim rule decides the state (`claim_check`, asked for no worker in
//! particular): a Build any worker may claim now (none holds it, or its claim expired) is
//! pending; one held by a fresh claim is claimed; a finished one is not counted.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mosaic_core::resources::Build;

use crate::cluster::claim::{ClaimCheck, claim_check};
use crate::metrics::Unfinished;

/// No worker's identity: a claim is never this one's own, so an orphaned claim counts as
/// claimed until its heartbeat expires, as every worker sees it.
const NOBODY: &str = "";

/// Count `builds` by state at `now`, claims expiring after `ttl`.
pub(super) fn count<'a>(
    builds: impl IntoIterator<Item = &'a Build>,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Unfinished {
    let mut u = Unfinished::default();
    for b in builds {
        match claim_check(b.status.as_ref(), NOBODY, ttl, now) {
            ClaimCheck::Claim => u.pending += 1,
            ClaimCheck::HeldBy(..) => u.claimed += 1,
            ClaimCheck::Done => {}
        }
    }
    u
}

#[cfg(test)]
mod tests;
