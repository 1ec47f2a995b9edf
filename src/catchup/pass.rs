//! One pass of catching up (`evp_catchup()`, the worker's batch, a replay): the indexer's
//! notices, the late events marked in async mode, then the walk.

use super::driver::process_driver_events;
use super::late;
use super::walk::{walk, Budget, Walked};
use crate::journal::unwind_to;
use crate::ledger::rules::Strictness;
use pgrx::spi::SpiClient;

/// Handles the indexer's `driver_events` queue, applies late events recorded in async mode,
/// then the queue of blocks, within `budget`. Unless `over_gaps`, a row whose predecessor is
/// missing waits: that one may be in flight in another session (the worker, until
/// `evp.gap_wait` passes without progress); `evp_catchup()` moves on.
pub fn catch_up(client: &mut SpiClient<'_>, budget: Budget, over_gaps: bool) -> Walked {
    let mut walked = process_driver_events(client, budget.max);
    if let Some(number) = late::apply_noted(client) {
        unwind_to(client, &number);
    }
    let strictness = if over_gaps {
        Strictness::OverGaps
    } else {
        Strictness::Strict
    };
    walked.add(walk(client, strictness, budget.less(walked.spent), None));
    walked
}
