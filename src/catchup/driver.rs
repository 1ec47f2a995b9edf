//! The Pitch Lake indexer's `driver_events` queue (SPEC 7.1; the protocol of the service this
//! extension replaces): StartBlock / NewBlock (a block row to apply), RevertBlock (a block to
//! revert), CatchupVault (a vault's events backfilled). Beside the indexer's own writes they
//! are mostly no-ops, since the triggers on its tables have done the work by the time a notice
//! is read: never an error, never a second apply or revert. What they add: a StartBlock
//! applies its block in number order even when its parent is not the applied tip (the blocks
//! between got no row in the indexer's catch-up), and a RevertBlock reverts a block that has
//! no row. Rows are handled in `sequence_index` order and marked `is_processed`; a StartBlock
//! whose block must wait for an earlier one stops the queue until next time.

use super::walk::{walk, Budget, Walked};
use crate::journal::block_reverted;
use crate::ledger::rules::Strictness;
use crate::spi::{first, read, run, spi, value, Param};
use pgrx::spi::SpiClient;

const QUEUE_EXISTS: &str = "SELECT to_regclass('public.driver_events') IS NOT NULL";

const UNPROCESSED: &str = r#"
SELECT d.id::text AS row_id, d.type::text AS kind, d.block_hash::text AS hash
  FROM public.driver_events d WHERE NOT d.is_processed ORDER BY d.sequence_index, d.id"#;

/// Whether the queue has unprocessed notices (a look that writes nothing: an idle worker's
/// transaction then takes no transaction ID). The first in the order of the index of
/// unprocessed notices: an EXISTS loses its ORDER BY, and without fresh statistics the planner
/// then scans the whole table, one row per block ever indexed, on every notice.
const ANY_UNPROCESSED: &str = r#"
SELECT (SELECT d.id FROM public.driver_events d WHERE NOT d.is_processed
         ORDER BY d.sequence_index, d.id LIMIT 1) IS NOT NULL"#;

/// The common case, as one statement: the one unprocessed notice is a StartBlock of the
/// applied tip (its row's trigger applied it): it is marked processed, and false returned.
/// Otherwise nothing is marked, and true says the queue must be walked (false also when it is
/// empty). Asked through min() and max() over the index of unprocessed notices: a generic plan
/// takes anything else for half the queue and scans all of it.
const ONLY_TIP_START: &str = r#"
WITH q AS (
    SELECT min(d.sequence_index) AS first, max(d.sequence_index) AS last
      FROM public.driver_events d WHERE NOT d.is_processed),
head AS (
    SELECT d.id, d.type IN ('StartBlock', 'NewBlock')
                 AND evp.normalize_felt(d.block_hash) =
                     (SELECT a.block_hash FROM evp.blocks a WHERE a.state = 'applied'
                       ORDER BY a.block_number DESC LIMIT 1) AS no_op
      FROM public.driver_events d, q
     WHERE d.sequence_index = q.first AND q.first = q.last AND NOT d.is_processed),
verdict AS (
    SELECT coalesce(bool_and(head.no_op), false) AS no_op FROM head),
done AS (
    UPDATE public.driver_events d SET is_processed = true FROM verdict
     WHERE d.id IN (SELECT head.id FROM head) AND verdict.no_op)
SELECT q.first IS NOT NULL AND NOT verdict.no_op FROM q, verdict"#;

const MARK_PROCESSED: &str =
    "UPDATE public.driver_events SET is_processed = true WHERE id = $1::bigint";

// A notice names a block by hash, and the indexer's table has no index on it: the searches
// below stay among the rows a notice can be about (from the journal horizon below the applied
// tip up), through the index on the number.

/// The row, not REVERTED, with hash $1 above the applied tip: the blocks a StartBlock can
/// still apply (one at or below the tip is applied, or will never be).
const PENDING_BY_HASH: &str = r#"
SELECT block_number::text AS n FROM public.starknet_blocks
 WHERE block_number > coalesce((SELECT max(a.block_number) FROM evp.blocks a WHERE a.state = 'applied'), -1)
   AND status <> 'REVERTED' AND evp.normalize_felt(block_hash) = evp.normalize_felt($1)
 ORDER BY block_number LIMIT 1"#;

/// Whether block $1 still waits in the queue.
const QUEUED: &str =
    "SELECT EXISTS (SELECT FROM evp.blocks q WHERE q.state IN ('noted', 'pending') AND q.block_number = $1::numeric)";

/// The applied block with hash $1, within the journal horizon $2 (older ones cannot be
/// reverted anyway).
const APPLIED_BY_HASH: &str = r#"
SELECT a.block_number::text AS n FROM evp.blocks a
 WHERE a.state = 'applied'
   AND a.block_number >= (SELECT max(t.block_number) FROM evp.blocks t WHERE t.state = 'applied') - $2::numeric
   AND a.block_hash = evp.normalize_felt($1)
 ORDER BY a.block_number DESC LIMIT 1"#;

/// The indexer reverted the block with hash $1 (its RevertBlock notice): when that block has
/// no row, only this remembers it (a row's revert is its UPDATE or DELETE: sql/triggers.sql).
/// A hold of it goes.
const FORGET: &str = r#"
WITH f AS (
    UPDATE evp.blocks SET state = 'reverted'
     WHERE block_hash = evp.normalize_felt($1) AND state = 'noted'
    RETURNING block_number, block_hash)
DELETE FROM evp.held_blocks h USING f WHERE h.block_number = f.block_number AND h.block_hash = f.block_hash"#;

/// A reverted block's row is marked REVERTED, as the Pitch Lake indexer itself does before its
/// RevertBlock, for writers of the queue that do not, so that it is not applied again unless
/// it comes back. The `starknet_blocks` trigger reverts it.
const MARK_REVERTED: &str = r#"
UPDATE public.starknet_blocks SET status = 'REVERTED'
 WHERE block_number >= coalesce((SELECT max(a.block_number) FROM evp.blocks a WHERE a.state = 'applied'), 0) - $2::numeric
   AND status <> 'REVERTED' AND evp.normalize_felt(block_hash) = evp.normalize_felt($1)"#;

/// Handles the queue if the indexer's table exists (see `process_queue`).
pub fn process_driver_events(client: &mut SpiClient<'_>, max_blocks: Option<i64>) -> Walked {
    if value::<bool>(client, QUEUE_EXISTS, &[]) != Some(true) {
        return Walked::default();
    }
    process_queue(client, max_blocks)
}

/// Whether the queue needs nothing more: no unprocessed notice, or only a StartBlock of the
/// applied tip, now marked processed (`ONLY_TIP_START`).
pub fn queue_settled(client: &mut SpiClient<'_>) -> bool {
    value::<bool>(client, ANY_UNPROCESSED, &[]) != Some(true)
        || spi(run(client, ONLY_TIP_START, &[]).and_then(first)) != Some(true)
}

/// Handles the queue, up to a StartBlock whose block must wait, or until its StartBlocks have
/// applied `max_blocks`; returns what they applied.
pub fn process_queue(client: &mut SpiClient<'_>, max_blocks: Option<i64>) -> Walked {
    let mut applied = Walked::default();
    if queue_settled(client) {
        return applied;
    }
    let rows: Vec<[Option<String>; 3]> = spi(read(client, UNPROCESSED, &[]))
        .map(|r| ["row_id", "kind", "hash"].map(|name| spi(r.get_by_name::<String, _>(name))))
        .collect();
    for [id, kind, hash] in rows {
        if max_blocks.is_some_and(|m| applied.spent >= m) {
            break;
        }
        let hash = hash.unwrap_or_default();
        let handled = match kind.as_deref() {
            Some("StartBlock" | "NewBlock") => {
                match value::<String>(client, PENDING_BY_HASH, &[hash.as_str().into()]) {
                    Some(number) => {
                        applied.add(start_block(client, &number));
                        value::<bool>(client, QUEUED, &[number.into()]) != Some(true)
                    }
                    None => true,
                }
            }
            Some("RevertBlock") => {
                revert_block(client, &hash);
                true
            }
            // CatchupVault: the triggers applied the backfilled events as they arrived (late
            // events of applied blocks, blocks without a row), or noted them for the worker.
            // Types this extension does not know are not its business.
            _ => true,
        };
        if !handled {
            break;
        }
        spi(run(client, MARK_PROCESSED, &[id.into()]));
    }
    applied
}

/// StartBlock of pending block row `number`: the queue up to it in number order, over gaps
/// (the blocks between got no row in the indexer's catch-up), then the blocks that waited for it.
fn start_block(client: &mut SpiClient<'_>, number: &str) -> Walked {
    let mut walked = walk(client, Strictness::OverGaps, Budget::ALL, Some(number));
    if walked.blocks > 0 {
        walked.add(walk(client, Strictness::Strict, Budget::ALL, None));
    }
    walked
}

/// RevertBlock: a row with that hash is marked REVERTED (its trigger reverts it); a block
/// without a row is reverted here if applied, and remembered as reverted either way.
fn revert_block(client: &mut SpiClient<'_>, hash: &str) {
    let horizon = Param::from(crate::guc::JOURNAL_HORIZON.get().to_string());
    spi(run(client, MARK_REVERTED, &[hash.into(), horizon.clone()]));
    if let Some(number) = value::<String>(client, APPLIED_BY_HASH, &[hash.into(), horizon]) {
        block_reverted(client, &number, hash);
    }
    spi(run(client, FORGET, &[hash.into()]));
}
