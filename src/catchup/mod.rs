//! Catch-up: applying what the ledger's rules say goes next.
//!
//! Every path walks the same queue (`walk`): the lowest block not applied yet, applied if the
//! rules of `ledger::rules` let it go, then the next, until one must wait. A block row that
//! arrives in sync mode (`on_block_row`), new events (`events_arrived`), `evp_catchup()` and
//! the worker (`catch_up`) differ only in how strictly a row must follow the tip and how much
//! they may apply. Events that arrive after their block (`late`), the indexer's
//! `driver_events` queue (`driver`) and replays (`replay`) build on it.

mod driver;
mod empty;
mod late;
mod replay;

use crate::apply::{apply_events, BlockCtx};
use crate::error::raise_with_hint;
use crate::ledger::rules::{verdict, Strictness, Verdict};
use crate::ledger::{candidate, row_arrived, Queued};
use empty::Start;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

pub use driver::{process_driver_events, process_queue};
use late::apply_late_events;
pub use late::record_late_blocks;
pub use replay::{rebuild, reprocess};

/// A block row was inserted (the `starknet_blocks` trigger): noted in the ledger, and in sync
/// mode (`apply`) applied with whatever it lets go. The common case, an empty block that
/// follows the tip with nothing queued, is one statement.
pub fn on_block_row(client: &mut SpiClient<'_>, number: &str, apply: bool) {
    if apply && empty::apply_successor(client, number) {
        return;
    }
    let tip_at_or_above = row_arrived(client, number);
    if !apply {
        return;
    }
    if let Some(tip) = tip_at_or_above {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("block {number} arrives at or below the applied tip {tip}"),
            "Revert to below it first (evp_revert_to), or delete the newer blocks' rows.",
        );
    }
    walk(client, Strictness::Strict, Budget::ALL, None);
}

/// New events arrived (sync mode): the blocks they let go (a vault registered after later
/// blocks were applied: its deployment block lies below the tip), then the events of applied
/// blocks that arrived after them.
pub fn events_arrived(client: &mut SpiClient<'_>, late_blocks: &[String]) {
    walk(client, Strictness::Strict, Budget::ALL, None);
    for number in late_blocks {
        apply_late_events(client, number);
    }
}

/// How much a walk may apply: at most `max` blocks (all if `None`), a run of empty blocks
/// counting as its length or, `run_as_one` (the worker's batch, which bounds a transaction's
/// work), as one block: recording a run costs about what applying one block with events does.
#[derive(Clone, Copy)]
pub struct Budget {
    pub max: Option<i64>,
    pub run_as_one: bool,
}

impl Budget {
    pub const ALL: Budget = Budget {
        max: None,
        run_as_one: false,
    };

    /// At most how many blocks a run may record once `spent` is spent (`None`: no bound).
    fn run_limit(&self, spent: i64) -> Option<i64> {
        match self.max {
            Some(m) if !self.run_as_one => Some(m - spent),
            Some(m) if spent >= m => Some(0),
            _ => None,
        }
    }

    /// What a run of `blocks` blocks costs.
    fn run_cost(&self, blocks: i64) -> i64 {
        if self.run_as_one {
            blocks.min(1)
        } else {
            blocks
        }
    }

    /// What is left once `spent` is spent.
    fn less(self, spent: i64) -> Budget {
        Budget {
            max: self.max.map(|m| (m - spent).max(0)),
            ..self
        }
    }
}

/// What a walk applied: blocks, events, and how much of its budget that spent.
#[derive(Clone, Copy, Default)]
pub struct Walked {
    pub blocks: i64,
    pub events: i64,
    pub spent: i64,
}

impl Walked {
    fn add(&mut self, other: Walked) {
        self.blocks += other.blocks;
        self.events += other.events;
        self.spent += other.spent;
    }
}

/// Handles the indexer's `driver_events` queue, applies late events recorded in async mode,
/// then the queue of blocks, within `budget`. Unless `over_gaps`, a row whose predecessor is
/// missing waits: that one may be in flight in another session (the worker, until
/// `evp.gap_wait` passes without progress); `evp_catchup()` moves on.
pub fn catch_up(client: &mut SpiClient<'_>, budget: Budget, over_gaps: bool) -> Walked {
    let mut walked = process_driver_events(client, budget.max);
    late::apply_noted(client);
    let strictness = if over_gaps {
        Strictness::OverGaps
    } else {
        Strictness::Strict
    };
    walked.add(walk(client, strictness, budget.less(walked.spent), None));
    walked
}

/// Applies the queue's blocks in number order while the rules let them go, within `budget`,
/// at or below `through` if given.
pub fn walk(
    client: &mut SpiClient<'_>,
    strictness: Strictness,
    budget: Budget,
    through: Option<&str>,
) -> Walked {
    let mut walked = Walked::default();
    while budget.max.is_none_or(|m| walked.spent < m) {
        let Some(queued) = candidate(client, through) else {
            break;
        };
        let c = &queued.candidate;
        if let Verdict::Wait(_) = verdict(c, strictness) {
            break;
        }
        walked.events += apply_queued(client, &queued);
        walked.blocks += 1;
        walked.spent += 1;
        // The empty rows that follow it, at once.
        if c.has_row {
            let limit = budget.run_limit(walked.spent);
            let (run, _) = empty::apply_run(client, &c.number, Start::Above, limit);
            walked.blocks += run;
            walked.spent += budget.run_cost(run);
        }
    }
    walked
}

/// Applies the candidate; returns its events applied.
fn apply_queued(client: &mut SpiClient<'_>, queued: &Queued) -> i64 {
    let c = &queued.candidate;
    if c.has_row
        && !queued.has_events
        && empty::apply_run(client, &c.number, Start::At, Some(1)).0 == 1
    {
        return 0;
    }
    let block = BlockCtx {
        number: c.number.clone(),
        hash: c.hash.clone(),
        timestamp: queued.timestamp.clone(),
        events_have_emitter: queued.events_have_emitter,
    };
    apply_events(client, &block)
}
