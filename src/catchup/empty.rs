//! Runs of empty blocks. Most Starknet blocks carry no vault event, yet each is a block row the
//! indexer writes, and a history holds millions. Applying an empty block writes nothing but its
//! state in the ledger (and journals nothing: its revert sets it back), so a run of them is
//! recorded by one statement: the pending rows that follow a block just applied, with
//! consecutive numbers (each one's predecessor is the one before it), none with events, up to
//! the first other block of the queue or REVERTED row. What they leave is what applying them
//! one by one leaves, journal pruning included.

use crate::apply::Batch;
use crate::journal::prune_after;
use crate::spi::{run, spi};
use pgrx::spi::SpiClient;

/// The most blocks one statement records: bounds the statement, not the outcome.
const MAX_RUN: i64 = 10_000;

/// Records as applied the run of empty block rows from block $1 + $3 ($3: 0 or 1), at most $2
/// of them, if it lies above the applied tip: consecutive queue entries, each a row without
/// events at the number after the one before (a second entry at a number breaks the count),
/// below the first block of the queue that is not an empty row and the first REVERTED row
/// (each one step of an index, so that the run reads only its own entries). The run is updated
/// as a range of the queue's index: a join with the candidates, which the planner takes for
/// many, scans the whole ledger (quadratic in a catch-up). Returns how many, the first and the
/// last.
const EMPTY_RUN: &str = r#"
WITH first AS (
    SELECT $1::numeric + $3::numeric AS n
     WHERE $1::numeric + $3::numeric
           > coalesce((SELECT max(a.block_number) FROM evp.blocks a WHERE a.state = 'applied'), -1)),
stop AS (
    SELECT least(first.n + $2::numeric,
                 (SELECT min(q.block_number) FROM evp.blocks q
                   WHERE q.state IN ('noted', 'pending') AND (q.has_events OR NOT q.has_row) AND q.block_number >= first.n),
                 (SELECT min(x.block_number) FROM evp.blocks x
                   WHERE x.state = 'reverted' AND x.has_row AND x.block_number >= first.n)) AS n
      FROM first),
candidates AS (
    SELECT q.block_number, q.block_hash,
           q.block_number - first.n + 1 - row_number() OVER (ORDER BY q.block_number, q.block_hash) AS gap
      FROM evp.blocks q, first, stop
     WHERE q.state IN ('noted', 'pending') AND q.block_number >= first.n AND q.block_number < stop.n),
run_end AS (
    SELECT coalesce((SELECT min(g.block_number) FROM candidates g WHERE g.gap <> 0), stop.n) AS n FROM stop),
applied AS (
    UPDATE evp.blocks b SET state = 'applied'
      FROM first, run_end
     WHERE b.state IN ('noted', 'pending') AND b.block_number >= first.n AND b.block_number < run_end.n
    RETURNING b.block_number)
SELECT count(*) AS blocks, min(a.block_number)::text AS first, max(a.block_number)::text AS last FROM applied a"#;

/// The common case of a new block row, as one small statement (a general one costs more to
/// set up than to run): block $1 follows the applied tip by number (or nothing is applied), is
/// not REVERTED and nothing waits in the queue (so no block waits for it, and no event of it
/// was noted): above the tip, and below it a block without a row (asked apart, each from where
/// no dead entry of an applied block lies: see `ledger::CANDIDATE`). Its entry is recorded as
/// applied; a hash reverted before is back, unless events were noted for it (they are applied
/// the general way). Returns the block, or nothing when the case does not hold (the general
/// path decides then).
const EMPTY_SUCCESSOR: &str = r#"
WITH r AS (
    SELECT b.block_number, evp.normalize_felt(b.block_hash) AS hash, evp.normalize_felt(b.parent_hash) AS parent
      FROM public.starknet_blocks b,
           (SELECT max(a.block_number) AS n FROM evp.blocks a WHERE a.state = 'applied') tip
     WHERE b.block_number = $1::numeric AND b.status <> 'REVERTED'
       AND (tip.n IS NULL OR b.block_number = tip.n + 1)
       AND NOT EXISTS (SELECT FROM evp.blocks q
                        WHERE q.state IN ('noted', 'pending') AND q.block_number > coalesce(tip.n, -1))
       AND NOT EXISTS (SELECT FROM evp.blocks q WHERE q.state = 'noted'))
INSERT INTO evp.blocks AS x (block_number, block_hash, state, has_row, parent_hash)
SELECT r.block_number, r.hash, 'applied', true, r.parent FROM r
ON CONFLICT (block_number, block_hash) DO UPDATE
   SET state = 'applied', has_row = true, parent_hash = EXCLUDED.parent_hash
 WHERE NOT x.has_events
RETURNING x.block_number"#;

/// Where a run starts.
#[derive(Clone, Copy)]
pub enum Start {
    /// At this block (it is next in line).
    At,
    /// Above this block (just applied).
    Above,
}

/// Applies block row `block` if it is the common case of `EMPTY_SUCCESSOR`; whether it did.
pub fn apply_successor(client: &mut SpiClient<'_>, block: &str) -> bool {
    let applied = spi(run(client, EMPTY_SUCCESSOR, &[block.into()])).len() == 1;
    if applied {
        prune_after(client, block, block);
    }
    applied
}

/// Records the run of empty blocks at or above block `block` (`start`), at most `max_blocks`;
/// returns how many. Their journal pruning goes with the walk's `batch`.
pub fn apply_run(
    client: &mut SpiClient<'_>,
    block: &str,
    start: Start,
    max_blocks: Option<i64>,
    batch: &mut Batch,
) -> i64 {
    let limit = max_blocks.map_or(MAX_RUN, |m| m.min(MAX_RUN));
    if limit <= 0 {
        return 0;
    }
    let offset = match start {
        Start::At => "0",
        Start::Above => "1",
    };
    let table = spi(run(
        client,
        EMPTY_RUN,
        &[block.into(), limit.to_string().into(), offset.into()],
    ));
    let Some(row) = table.into_iter().next() else {
        return 0;
    };
    let count = spi(row.get_by_name::<i64, _>("blocks")).unwrap_or(0);
    let first = spi(row.get_by_name::<String, _>("first"));
    if let (Some(first), Some(last)) = (first, spi(row.get_by_name::<String, _>("last"))) {
        batch.applied(&first, &last);
    }
    count
}
