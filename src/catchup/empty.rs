//! Runs of empty blocks. Most Starknet blocks carry no vault event, yet each is a block row the
//! indexer writes, and a history holds millions. Applying an empty block writes nothing but its
//! `evp.applied_blocks` row (and journals nothing: its revert deletes that row), so a run of
//! them is recorded by one statement: the rows that follow a block just applied, with
//! consecutive numbers (each one's predecessor is the one before it), none REVERTED, none with
//! events, and none at or above a block without a row or an event of any fork (those go one by
//! one). What they leave is what applying them one by one leaves, journal pruning included.

use crate::journal::prune_after;
use crate::spi::{run, spi};
use pgrx::spi::SpiClient;

/// The most blocks one statement records: bounds the statement, not the outcome.
const MAX_RUN: i64 = 10_000;

/// Records as applied the run of empty block rows from block $1 + $3 ($3: 0 or 1), at most $2
/// of them, if it lies above the applied tip (a block without a row applied below the tip is
/// followed by applied rows): consecutive numbers up to the first gap, REVERTED row, event or
/// block without a row. As for any applied row, their hashes, if reverted before, are back
/// (asked only when some hash at or above the run was reverted); no block without a row is
/// noted at their numbers (the run stops below the first). Returns how many, the first and
/// the last.
const EMPTY_RUN: &str = r#"
WITH first AS (
    SELECT $1::numeric + $3::numeric AS n
     WHERE $1::numeric + $3::numeric > coalesce((SELECT max(a.block_number) FROM evp.applied_blocks a), -1)),
stop AS (
    SELECT least(first.n + $2::numeric,
                 (SELECT min(e.block_number) FROM public.events e WHERE e.block_number >= first.n),
                 (SELECT min(r.block_number) FROM evp.rowless_blocks r WHERE r.block_number >= first.n)) AS n
      FROM first),
candidates AS (
    SELECT b.block_number, b.block_hash, b.status,
           b.block_number - first.n + 1 - row_number() OVER (ORDER BY b.block_number) AS gap
      FROM public.starknet_blocks b, first, stop
     WHERE b.block_number >= first.n AND b.block_number < stop.n),
run AS (
    SELECT c.block_number, c.block_hash FROM candidates c
     WHERE c.gap = 0
       AND c.block_number < coalesce((SELECT min(x.block_number) FROM candidates x WHERE x.status = 'REVERTED'),
                                     'Infinity')),
back AS (
    DELETE FROM evp.reverted_blocks x USING run
     WHERE x.block_number = run.block_number AND x.block_hash = evp.normalize_felt(run.block_hash)
       AND (SELECT min(y.block_number) FROM evp.reverted_blocks y
             WHERE y.block_number >= (SELECT min(r.block_number) FROM run r))
           <= (SELECT max(r.block_number) FROM run r)),
applied AS (
    INSERT INTO evp.applied_blocks (block_number, block_hash, events_applied, events_ignored, events_failed)
    SELECT run.block_number, run.block_hash, 0, 0, 0 FROM run
    RETURNING block_number)
SELECT count(*), min(a.block_number)::text, max(a.block_number)::text FROM applied a"#;

/// The common case of a new block row, as one small statement (a general one costs more to
/// set up than to run): block $1 follows the applied tip by number (or is the lowest row when
/// nothing is applied), is not REVERTED, carries no event of any fork, is the newest row (no
/// block can wait for it), and no block without a row is noted. Then it is recorded as applied;
/// its hash, if reverted before, is back. Returns the block, or nothing when the case does not
/// hold (the general path decides then).
const EMPTY_SUCCESSOR: &str = r#"
WITH tip AS (SELECT max(a.block_number) AS n FROM evp.applied_blocks a),
b AS (
    SELECT b.block_number, b.block_hash FROM public.starknet_blocks b, tip
     WHERE b.block_number = $1::numeric AND b.status <> 'REVERTED'
       AND (SELECT min(p.block_number) FROM public.starknet_blocks p WHERE p.block_number > coalesce(tip.n, -1))
           = b.block_number
       AND (tip.n IS NULL OR b.block_number = tip.n + 1)
       AND (SELECT max(p.block_number) FROM public.starknet_blocks p) = b.block_number
       AND NOT EXISTS (SELECT FROM public.events e WHERE e.block_number = b.block_number)
       AND NOT EXISTS (SELECT FROM evp.rowless_blocks)),
back AS (
    DELETE FROM evp.reverted_blocks x USING b
     WHERE x.block_number = b.block_number AND x.block_hash = evp.normalize_felt(b.block_hash))
INSERT INTO evp.applied_blocks (block_number, block_hash, events_applied, events_ignored, events_failed)
SELECT b.block_number, b.block_hash, 0, 0, 0 FROM b
RETURNING block_number"#;

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
/// returns how many, and the last.
pub fn apply_run(
    client: &mut SpiClient<'_>,
    block: &str,
    start: Start,
    max_blocks: Option<i64>,
) -> (i64, Option<String>) {
    let limit = max_blocks.map_or(MAX_RUN, |m| m.min(MAX_RUN));
    if limit <= 0 {
        return (0, None);
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
        return (0, None);
    };
    let count = spi(row.get::<i64>(1)).unwrap_or(0);
    let last = spi(row.get::<String>(3));
    if let (Some(first), Some(last)) = (spi(row.get::<String>(2)), &last) {
        prune_after(client, &first, last);
    }
    (count, last)
}
