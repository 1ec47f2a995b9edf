//! Journal and revert: undoing applied blocks exactly (SPEC section 5).
//!
//! The journal itself is written by the apply path's statements (`apply::statements`); this
//! module decides which blocks to undo, newest first, and refuses when a block's journal was
//! pruned (it lies below `evp.journal_horizon`).

#[cfg(any(test, feature = "pg_test"))]
mod reorg_tests;

use crate::error::raise_with_hint;
use crate::guc::JOURNAL_HORIZON;
use crate::spi::{run, spi, value};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

/// Applied blocks at or above $1, newest first, and whether their journal is still there (they
/// lie above the pruned part: sql/journal.sql).
const APPLIED_FROM: &str = r#"
SELECT a.block_number::text AS n, a.block_hash::text AS hash, a.block_number > coalesce((SELECT p.pruned_upto FROM evp.journal_pruned p), -1) AS journaled
  FROM evp.blocks a WHERE a.state = 'applied' AND a.block_number >= $1::numeric ORDER BY a.block_number DESC"#;

const REVERT_BLOCK: &str = "SELECT evp.revert_block($1::numeric, $2)";

/// Every table the apply path writes, and the journal: what `evp_rebuild()` clears.
const CLEAR_STATE: &str = "SELECT evp.clear_state()";

/// The ledger completed from the indexer's tables (clearing the state made the applied blocks
/// pending again).
const NOTE_BLOCKS: &str = "SELECT evp.note_blocks()";

/// Whether block $1 is applied with hash $2.
const APPLIED_WITH_HASH: &str = r#"
SELECT EXISTS (SELECT FROM evp.blocks
                WHERE block_number = $1::numeric AND block_hash = evp.normalize_felt($2) AND state = 'applied')"#;

/// The indexer reverted block $1: the applied blocks without a row from it up were built on it
/// and are gone with it, for good (their journal is still reverted: `REVERT_BLOCK` undoes a
/// number, whatever its state says). Reverted blocks with a row wait again (their rows are the
/// indexer's to revert), as do blocks without a row that `evp_revert_to()` reverts.
const FORK_GONE: &str = r#"
UPDATE evp.blocks SET state = 'reverted'
 WHERE block_number >= $1::numeric AND state = 'applied' AND NOT has_row"#;

/// The journal pruning that applying blocks $1 to $2 one by one does: at the last multiple of
/// the prune step $3 among them, up to $4 (the horizon) behind it; and the change feed's, at
/// the same steps (sql/feed.sql).
const PRUNE: &str = r#"
SELECT evp.prune_journal($2::numeric - $2::numeric % $3::numeric - $4::numeric), evp.prune_feed($2::numeric)
 WHERE $2::numeric - $2::numeric % $3::numeric >= $1::numeric"#;

/// How often the journal is pruned: at block numbers divisible by this (1 % of the horizon,
/// 1 to 100), so the journal holds up to that many blocks beyond the horizon and a catch-up
/// prunes once per hundred blocks, not once per block. The same at every block whatever the
/// path, so the journal after a catch-up equals the one after applying block by block.
fn prune_step(horizon: i32) -> i32 {
    (horizon / 100).clamp(1, 100)
}

/// Prunes the journal as applying blocks `first` to `last` (just applied) one by one does;
/// a statement only when a multiple of the prune step lies among them.
pub fn prune_after(client: &mut SpiClient<'_>, first: &str, last: &str) {
    let horizon = JOURNAL_HORIZON.get();
    let step = prune_step(horizon);
    if prunes(first, last, step) {
        let params = [
            first.into(),
            last.into(),
            step.to_string().into(),
            horizon.to_string().into(),
        ];
        spi(run(client, PRUNE, &params));
    }
}

/// Whether a multiple of `step` lies in `first..=last` (block numbers in decimal); when they
/// do not fit in 128 bits, PRUNE decides.
fn prunes(first: &str, last: &str, step: i32) -> bool {
    match (
        first.parse::<u128>(),
        last.parse::<u128>(),
        u128::try_from(step),
    ) {
        (Ok(first), Ok(last), Ok(step)) if step > 0 => last - last % step >= first,
        _ => true,
    }
}

/// An applied block: its number and hash.
struct Applied {
    number: String,
    hash: String,
}

/// The applied blocks from `first` up, newest first; `Err(block)` names the newest block whose
/// journal was pruned.
fn applied_from(client: &mut SpiClient<'_>, first: &str) -> Result<Vec<Applied>, String> {
    let mut blocks = Vec::new();
    for row in spi(run(client, APPLIED_FROM, &[first.into()])) {
        let number: String = spi(row.get_by_name("n")).unwrap_or_default();
        if !spi(row.get_by_name::<bool, _>("journaled")).unwrap_or(false) {
            return Err(number);
        }
        let hash = spi(row.get_by_name("hash")).unwrap_or_default();
        blocks.push(Applied { number, hash });
    }
    Ok(blocks)
}

/// Reverts every applied block at or above `first`, newest first. Returns how many.
pub fn revert_from(client: &mut SpiClient<'_>, first: &str) -> i64 {
    let blocks = revertible_from(client, first);
    revert(client, &blocks)
}

/// The applied blocks at or above `first`, newest first; an error when one of them can no
/// longer be reverted.
fn revertible_from(client: &mut SpiClient<'_>, first: &str) -> Vec<Applied> {
    applied_from(client, first).unwrap_or_else(|pruned| {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "cannot revert block {pruned}: its undo journal was pruned (it is more than evp.journal_horizon blocks \
                 behind the tip)"
            ),
            "Remove the blocks from their table and run evp_rebuild(); raise evp.journal_horizon to keep deeper journals.",
        )
    })
}

/// Reverts `blocks`, in the order given (newest first). Returns how many.
fn revert(client: &mut SpiClient<'_>, blocks: &[Applied]) -> i64 {
    for block in blocks {
        let params = [block.number.clone().into(), block.hash.clone().into()];
        spi(run(client, REVERT_BLOCK, &params));
    }
    blocks.len() as i64
}

/// Undoes the state from block `from` up, so that applying the pending blocks again starts
/// there: reverts down to it, or clears all state when the journal no longer reaches it.
pub fn unwind_to(client: &mut SpiClient<'_>, from: &str) {
    match applied_from(client, from) {
        Ok(blocks) => {
            revert(client, &blocks);
        }
        Err(_) => clear(client),
    }
}

/// Clears all state: every applied block is pending again.
pub fn clear(client: &mut SpiClient<'_>) {
    spi(run(client, CLEAR_STATE, &[]));
    spi(run(client, NOTE_BLOCKS, &[]));
}

/// The indexer reverted block `number` (its row deleted or marked REVERTED, or its RevertBlock
/// notice): if that block is applied, it and every newer applied block are reverted.
pub fn block_reverted(client: &mut SpiClient<'_>, number: &str, hash: &str) {
    if value::<bool>(client, APPLIED_WITH_HASH, &[number.into(), hash.into()]) == Some(true) {
        let blocks = revertible_from(client, number);
        spi(run(client, FORK_GONE, &[number.into()]));
        revert(client, &blocks);
    }
}

#[cfg(test)]
mod tests {
    use super::{prune_step, prunes};

    #[test]
    fn a_run_prunes_when_it_holds_a_multiple_of_the_step() {
        assert!(prunes("100", "100", 100));
        assert!(!prunes("101", "199", 100));
        assert!(prunes("101", "200", 100));
        assert!(prunes("7", "7", 1));
        assert!(prunes("1", "340282366920938463463374607431768211456", 100));
    }

    #[test]
    fn prune_step_is_a_hundredth_of_the_horizon_within_1_to_100() {
        assert_eq!(prune_step(1), 1);
        assert_eq!(prune_step(199), 1);
        assert_eq!(prune_step(5_000), 50);
        assert_eq!(prune_step(10_000), 100);
        assert_eq!(prune_step(i32::MAX), 100);
    }
}
