//! The walk: the queue of the ledger applied lowest first, while its rules let each block go,
//! within a budget.

use super::empty::{self, Start};
use crate::apply::{apply_events, Batch, BlockCtx};
use crate::failure::BlockFailure;
use crate::guc::{OnError, ON_ERROR};
use crate::ledger::hold::{hold, hold_next};
use crate::ledger::rules::{verdict, Strictness, Verdict};
use crate::ledger::{candidate, Queued};
use crate::subxact::attempt;
use pgrx::spi::SpiClient;
use std::cell::RefCell;

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
    pub fn less(self, spent: i64) -> Budget {
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
    pub fn add(&mut self, other: Walked) {
        self.blocks += other.blocks;
        self.events += other.events;
        self.spent += other.spent;
    }
}

/// Applies the queue's blocks in number order while the rules let them go, within `budget`,
/// at or below `through` if given. Under `evp.on_error = hold` the walk runs in one
/// subtransaction (one per block would cost more and more as a transaction takes them:
/// PostgreSQL keeps each one's lock until the transaction ends). A block that fails rolls the
/// walk back; it is walked again up to that block, which is held (`ledger::hold`).
pub fn walk(
    client: &mut SpiClient<'_>,
    strictness: Strictness,
    budget: Budget,
    through: Option<&str>,
) -> Walked {
    if ON_ERROR.get() != OnError::Hold {
        return walk_blocks(client, strictness, budget, through);
    }
    BlockFailure::reset();
    let mut outcome: Result<Walked, BlockFailure> =
        attempt(|| Ok(walk_blocks(client, strictness, budget, through)));
    loop {
        let failure = match outcome {
            Ok(walked) => return walked,
            Err(failure) => failure,
        };
        match APPLYING.take() {
            Some(failed) if failed.spent == 0 => {
                hold(client, &failed.number, &failed.hash, failure);
                return Walked::default();
            }
            // The blocks before it went: again, then it is held (or, if one of them fails this
            // time, that one).
            Some(failed) => {
                let before = Budget {
                    max: Some(failed.spent),
                    ..budget
                };
                BlockFailure::reset();
                outcome = attempt(|| Ok(walk_blocks(client, strictness, before, through)));
                if let Ok(walked) = outcome {
                    hold(client, &failed.number, &failed.hash, failure);
                    return walked;
                }
            }
            None => {
                hold_next(client, failure);
                return Walked::default();
            }
        }
    }
}

/// The block a walk is applying, and how much of its budget the walk had spent before it:
/// where a failure met the walk.
struct Applying {
    number: String,
    hash: String,
    spent: i64,
}

thread_local! {
    static APPLYING: RefCell<Option<Applying>> = const { RefCell::new(None) };
}

/// The walk itself (see `walk`). The writes of small blocks, and the journal pruning, wait in
/// a batch (`apply::Batch`), written when it is full and when the walk ends.
fn walk_blocks(
    client: &mut SpiClient<'_>,
    strictness: Strictness,
    budget: Budget,
    through: Option<&str>,
) -> Walked {
    let mut walked = Walked::default();
    let mut batch = Batch::default();
    while budget.max.is_none_or(|m| walked.spent < m) {
        let Some(queued) = candidate(client, through) else {
            break;
        };
        let c = &queued.candidate;
        if let Verdict::Wait(_) = verdict(c, strictness) {
            break;
        }
        APPLYING.set(Some(Applying {
            number: c.number.clone(),
            hash: c.hash.clone(),
            spent: walked.spent,
        }));
        walked.add(step(client, &queued, budget, walked.spent, &mut batch));
        APPLYING.set(None);
        if batch.is_full() {
            batch.flush(client);
        }
        // Nothing after a block above the tip: the next candidate would be none (one below
        // the tip would have come first, and applying a block queues nothing).
        if !c.at_or_below_tip && !queued.queued_after {
            break;
        }
    }
    batch.flush(client);
    walked
}

/// Applies the candidate, then the empty rows that follow it, at once, if any can (see
/// `Queued::run_follows`); `spent` of the budget is spent before.
fn step(
    client: &mut SpiClient<'_>,
    queued: &Queued,
    budget: Budget,
    spent: i64,
    batch: &mut Batch,
) -> Walked {
    let c = &queued.candidate;
    let mut walked = Walked {
        blocks: 1,
        events: apply_queued(client, queued, batch),
        spent: 1,
    };
    if c.has_row && queued.run_follows {
        let limit = budget.run_limit(spent + 1);
        let run = empty::apply_run(client, &c.number, Start::Above, limit, batch);
        walked.blocks += run;
        walked.spent += budget.run_cost(run);
    }
    walked
}

/// Applies the candidate; returns its events applied. Its writes wait in `batch` when blocks
/// may follow it in this walk, or wait there already; a block applied alone writes them with
/// its bookkeeping, in one statement.
fn apply_queued(client: &mut SpiClient<'_>, queued: &Queued, batch: &mut Batch) -> i64 {
    let c = &queued.candidate;
    if c.has_row
        && !queued.has_events
        && empty::apply_run(client, &c.number, Start::At, Some(1), batch) == 1
    {
        return 0;
    }
    let block = BlockCtx {
        number: c.number.clone(),
        hash: c.hash.clone(),
        timestamp: queued.timestamp.clone(),
        events_have_emitter: queued.events_have_emitter,
        late: false,
    };
    let batched = queued.queued_after || !batch.is_empty();
    apply_events(client, &block, batched.then_some(batch))
}
