//! Catch-up: which block goes next, and when.
//!
//! A block row is applied when it follows the applied tip (`on_block_row`), after the blocks
//! without a row below it (`rowless`, SPEC 7.1); pending blocks, rows and rowless ones alike,
//! are applied in number order by `evp_catchup()` and the worker (`catch_up`). Events that
//! arrive after their block (`late`), the indexer's `driver_events` queue (`driver`) and
//! replays (`replay`) build on these.

mod driver;
mod empty;
mod late;
mod replay;
mod rowless;

use crate::apply::{apply_events, events_have_emitter, BlockCtx};
use crate::error::raise_with_hint;
use crate::spi::{run, spi, value};
use empty::Start;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

pub use driver::{process_driver_events, process_queue};
use late::apply_late_events;
pub use late::record_late_blocks;
pub use replay::{rebuild, reprocess};

/// The block row $1 and where it stands: already applied (a block without a row may have
/// been applied at that number), the applied tip, whether the row lies at or below it, and
/// whether it must wait: an unapplied block row lies between the tip and it (a REVERTED row
/// there counts too: the blocks above it belong to the reverted fork until the indexer replaces
/// them), or, when $2 (strict) is set, it does not follow the tip, neither as number tip + 1
/// nor by parent hash (its predecessor has not arrived yet). Also whether blocks without a row
/// are ready below it (they go first; the cheap test first), whether any block could wait for
/// it (a row above it, or a block without a row: applying it creates neither), whether events
/// of any fork lie at its number (if none, it is empty), and whether the indexer's `events`
/// table has the optional `from_address` column (asked per block: it may be added while we run).
/// Open ranges are asked with min() and max(), not EXISTS: a generic plan may take a
/// sequential scan for such an EXISTS, which visits every row below the block (quadratic in a
/// catch-up); min() and max() are one step of an index.
/// A row that is not REVERTED makes its number one with a row: entries of that number in
/// `evp.rowless_blocks` go, and its hash, if it was reverted before, is back.
const BLOCK_STATE: &str = concat!(
    r#"
WITH has_row AS (
    DELETE FROM evp.rowless_blocks r USING public.starknet_blocks b
     WHERE b.block_number = $1::numeric AND b.status <> 'REVERTED' AND r.block_number = b.block_number),
back AS (
    DELETE FROM evp.reverted_blocks x USING public.starknet_blocks b
     WHERE b.block_number = $1::numeric AND b.status <> 'REVERTED'
       AND x.block_number = b.block_number AND x.block_hash = evp.normalize_felt(b.block_hash))
SELECT b.block_hash, b.timestamp::text, b.status = 'REVERTED' AS reverted,
       EXISTS (SELECT FROM evp.applied_blocks a WHERE a.block_number = b.block_number) AS applied,
       t.tip::text, b.block_number <= t.tip AS below_tip,
       (SELECT min(p.block_number) FROM public.starknet_blocks p WHERE p.block_number > coalesce(t.tip, -1)) < b.block_number
       OR ($2::boolean AND t.tip IS NOT NULL AND b.block_number > t.tip + 1
           AND evp.normalize_felt(b.parent_hash) IS DISTINCT FROM
               (SELECT evp.normalize_felt(a.block_hash) FROM evp.applied_blocks a WHERE a.block_number = t.tip))
       AS predecessor_pending,
       (SELECT min(r.block_number) FROM evp.rowless_blocks r) < b.block_number
       AND EXISTS (SELECT FROM evp.ready_rowless_blocks($2::boolean) r WHERE r.block_number < b.block_number)
       AS rowless_before,
       (SELECT max(p.block_number) FROM public.starknet_blocks p) > b.block_number
       OR EXISTS (SELECT FROM evp.rowless_blocks r WHERE r.block_number <> b.block_number) AS may_have_followers,
       EXISTS (SELECT FROM public.events e WHERE e.block_number = b.block_number) AS has_events,
       "#,
    events_have_emitter!(),
    r#"
  FROM public.starknet_blocks b, (SELECT max(block_number) AS tip FROM evp.applied_blocks) t
 WHERE b.block_number = $1::numeric"#
);

/// The next pending block above $1 (from the start if NULL), below $3 if set: the lowest
/// unapplied row above the applied tip that is not REVERTED (no hash), or block without a row
/// that is ready (with its hash; $2: strictly, see `evp.ready_rowless_blocks`). One at a time,
/// each by one step of an index: a list of every pending block costs as much as the history
/// (a generic plan sorts all rows above the tip), and a walk applies many at once (runs of
/// empty blocks) or stops early (a batch).
const NEXT_PENDING: &str = r#"
SELECT p.block_number::text AS n, p.rowless_hash FROM (
    SELECT (SELECT min(b.block_number) FROM public.starknet_blocks b
             WHERE b.status <> 'REVERTED'
               AND b.block_number > coalesce(greatest((SELECT max(a.block_number) FROM evp.applied_blocks a), $1::numeric), -1))
           AS block_number, NULL::text AS rowless_hash
    UNION ALL
    SELECT r.block_number, r.block_hash::text FROM evp.ready_rowless_blocks($2::boolean) r
     WHERE $1::numeric IS NULL OR r.block_number > $1::numeric) p
 WHERE p.block_number IS NOT NULL AND ($3::numeric IS NULL OR p.block_number < $3::numeric)
 ORDER BY p.block_number
 LIMIT 1"#;

/// Whether block rows above the applied tip wait (for a predecessor, a REVERTED row's
/// replacement, or a batch to come).
const ROWS_WAITING: &str = r#"
SELECT coalesce((SELECT max(b.block_number) FROM public.starknet_blocks b WHERE b.status <> 'REVERTED')
                > coalesce((SELECT max(a.block_number) FROM evp.applied_blocks a), -1), false)"#;

/// What applying a block row did.
pub enum BlockOutcome {
    /// Applied, with this many events; whether blocks may be waiting for it.
    Applied {
        events: i64,
        may_have_followers: bool,
    },
    /// An earlier block is not applied yet: this one waits its turn.
    Pending,
    /// Applied before (or reverted): nothing to do.
    Skipped,
}

/// What a walk over pending blocks applies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Rows and blocks without a row, in number order. Not `strict`: a row applies over a gap
    /// (`evp_catchup()`, SPEC 7.3). `strict`: a row whose predecessor is missing waits, as its
    /// own trigger would: that predecessor may be in flight in another session (the worker,
    /// and the blocks that waited for a row just applied).
    All { strict: bool },
    /// Blocks without a row, up to the first pending row, whose turn comes with its own
    /// trigger; `strict` as in `evp.ready_rowless_blocks` (the trigger path).
    Rowless { strict: bool },
}

/// A block row was inserted (the `starknet_blocks` trigger in sync mode: `strict`) or
/// announced (the indexer's StartBlock): applies it if it is next in line, then the blocks that
/// waited for it, in order (a batch inserted newest first works).
pub fn on_block_row(client: &mut SpiClient<'_>, number: &str, strict: bool) -> BlockOutcome {
    if empty::apply_successor(client, number) {
        return BlockOutcome::Applied {
            events: 0,
            may_have_followers: false,
        };
    }
    let outcome = apply_block(client, number, strict);
    if let BlockOutcome::Applied {
        may_have_followers: true,
        ..
    } = outcome
    {
        apply_pending(client, Budget::ALL, None, Walk::All { strict });
    }
    outcome
}

/// New events arrived (sync mode): the blocks without a row that are ready now go first (a
/// vault registered after later blocks were applied: its deployment block lies below the
/// tip), then the events of applied blocks that arrived after them.
pub fn events_arrived(client: &mut SpiClient<'_>, late_blocks: &[String]) {
    apply_pending(client, Budget::ALL, None, Walk::Rowless { strict: true });
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
}

/// What a walk applied: blocks, events, and how much of its budget that spent.
#[derive(Clone, Copy, Default)]
pub struct Walked {
    pub blocks: i64,
    pub events: i64,
    pub spent: i64,
}

/// Handles the indexer's `driver_events` queue, applies late events recorded in async mode,
/// then pending blocks in order, within `budget`. Unless `over_gaps`, a row whose predecessor
/// is missing waits: that one may be in flight in another session (the worker, until
/// `evp.gap_wait` passes without progress); `evp_catchup()` moves on.
pub fn catch_up(client: &mut SpiClient<'_>, budget: Budget, over_gaps: bool) -> Walked {
    let (queued_blocks, queued_events) = process_driver_events(client, budget.max);
    late::apply_noted(client);
    let left = Budget {
        max: budget.max.map(|m| (m - queued_blocks).max(0)),
        ..budget
    };
    let walk = Walk::All { strict: !over_gaps };
    let walked = apply_pending(client, left, None, walk);
    Walked {
        blocks: queued_blocks + walked.blocks,
        events: queued_events + walked.events,
        spent: queued_blocks + walked.spent,
    }
}

/// Whether block rows wait above the applied tip (see `ROWS_WAITING`).
pub fn rows_waiting(client: &mut SpiClient<'_>) -> bool {
    value::<bool>(client, ROWS_WAITING, &[]) == Some(true)
}

/// Applies pending blocks in number order, those `walk` says, within `budget`, below `below`
/// if given.
pub fn apply_pending(
    client: &mut SpiClient<'_>,
    budget: Budget,
    below: Option<&str>,
    walk: Walk,
) -> Walked {
    // Rows: whether (and how strictly) they are applied; blocks without a row: how strictly
    // they are ready (`evp.ready_rowless_blocks`).
    let (rows, rowless_strict) = match walk {
        Walk::All { strict } => (Some(strict), false),
        Walk::Rowless { strict } => (None, strict),
    };
    let mut walked = Walked::default();
    let mut after: Option<String> = None;
    while budget.max.is_none_or(|m| walked.spent < m) {
        let params = [
            after.clone().into(),
            rowless_strict.to_string().into(),
            below.map(str::to_owned).into(),
        ];
        let Some((number, rowless_hash)) =
            spi(run(client, NEXT_PENDING, &params)).next().map(|r| {
                (
                    spi(r.get::<String>(1)).unwrap_or_default(),
                    spi(r.get::<String>(2)),
                )
            })
        else {
            break;
        };
        let applied = match (rowless_hash, rows) {
            (Some(hash), _) => rowless::apply(client, &number, &hash),
            (None, None) => break,
            (None, Some(strict)) => match apply_block(client, &number, strict) {
                BlockOutcome::Applied { events, .. } => Some(events),
                // Everything above waits for the same predecessor.
                BlockOutcome::Pending => break,
                BlockOutcome::Skipped => None,
            },
        };
        let mut last = number;
        if let Some(n) = applied {
            walked.blocks += 1;
            walked.events += n;
            walked.spent += 1;
            // The empty rows that follow it, at once.
            if rows.is_some() {
                let limit = budget.run_limit(walked.spent);
                let (run, run_last) = empty::apply_run(client, &last, Start::Above, limit);
                walked.blocks += run;
                walked.spent += budget.run_cost(run);
                last = run_last.unwrap_or(last);
            }
        }
        after = Some(last);
    }
    walked
}

/// Applies block row `number` if it is next in line (see `BLOCK_STATE`), after the blocks
/// without a row below it.
fn apply_block(client: &mut SpiClient<'_>, number: &str, strict: bool) -> BlockOutcome {
    let Some(mut state) = block_state(client, number, strict) else {
        return BlockOutcome::Skipped;
    };
    if state.rowless_before {
        apply_pending(client, Budget::ALL, Some(number), Walk::Rowless { strict });
        let Some(after) = block_state(client, number, strict) else {
            return BlockOutcome::Skipped;
        };
        state = after;
    }
    if state.applied || state.reverted {
        return BlockOutcome::Skipped;
    }
    if state.below_tip {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "block {number} arrives at or below the applied tip {}",
                state.tip.unwrap_or_default()
            ),
            "Revert to below it first (evp_revert_to), or delete the newer blocks' rows.",
        );
    }
    if state.predecessor_pending {
        return BlockOutcome::Pending;
    }
    let empty = !state.has_events && empty::apply_run(client, number, Start::At, Some(1)).0 == 1;
    BlockOutcome::Applied {
        events: if empty {
            0
        } else {
            apply_events(client, &state.block)
        },
        may_have_followers: state.may_have_followers,
    }
}

struct BlockState {
    block: BlockCtx,
    reverted: bool,
    applied: bool,
    tip: Option<String>,
    below_tip: bool,
    predecessor_pending: bool,
    rowless_before: bool,
    may_have_followers: bool,
    has_events: bool,
}

fn block_state(client: &mut SpiClient<'_>, number: &str, strict: bool) -> Option<BlockState> {
    let table = spi(run(
        client,
        BLOCK_STATE,
        &[number.into(), strict.to_string().into()],
    ));
    let row = table.into_iter().next()?;
    let flag = |i: usize| spi(row.get::<bool>(i)).unwrap_or(false);
    Some(BlockState {
        block: BlockCtx {
            number: number.to_owned(),
            hash: spi(row.get(1))?,
            timestamp: spi(row.get(2)),
            events_have_emitter: flag(11),
        },
        reverted: flag(3),
        applied: flag(4),
        tip: spi(row.get(5)),
        below_tip: flag(6),
        predecessor_pending: flag(7),
        rowless_before: flag(8),
        may_have_followers: flag(9),
        has_events: flag(10),
    })
}
