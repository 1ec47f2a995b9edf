//! Journal and revert: undoing applied blocks exactly (SPEC section 5).
//!
//! The journal itself is kept by statement triggers (`sql/journal.sql`) while the apply path
//! writes; this module decides which blocks to undo, newest first, and refuses when a block's
//! journal was pruned (it lies below `evp.journal_horizon`).

use crate::api::raise;
#[cfg(any(test, feature = "pg_test"))]
mod reorg_tests;

use crate::apply::{catch_up, run, spi};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

/// Applied blocks at or above $1, newest first, and whether their journal is still there
/// (every applied block journals at least its own `evp.applied_blocks` row).
const APPLIED_FROM: &str = r#"
SELECT a.block_number::text, EXISTS (SELECT FROM evp.journal_applied_blocks j WHERE j.at_block = a.block_number)
  FROM evp.applied_blocks a WHERE a.block_number >= $1::numeric ORDER BY a.block_number DESC"#;

const REVERT_BLOCK: &str = "SELECT evp.revert_block($1::numeric)";

/// Whether block $1 is applied with hash $2.
const APPLIED_WITH_HASH: &str = r#"
SELECT EXISTS (SELECT FROM evp.applied_blocks
                WHERE block_number = $1::numeric AND evp.normalize_felt(block_hash) = evp.normalize_felt($2))"#;

/// Every table the apply path writes, and the journal: what `evp_rebuild()` clears.
const CLEAR_STATE: &str = "SELECT evp.clear_state()";

/// The applied blocks from `first` up, newest first; `Err(block)` names the newest block whose
/// journal was pruned.
fn applied_from(client: &mut SpiClient<'_>, first: &str) -> Result<Vec<String>, String> {
    let mut blocks = Vec::new();
    for row in spi(run(client, APPLIED_FROM, &[first.into()])) {
        let number: String = spi(row.get(1)).unwrap_or_default();
        if !spi(row.get::<bool>(2)).unwrap_or(false) {
            return Err(number);
        }
        blocks.push(number);
    }
    Ok(blocks)
}

/// Reverts every applied block at or above `first`, newest first. Returns how many.
pub fn revert_from(client: &mut SpiClient<'_>, first: &str) -> i64 {
    let blocks = applied_from(client, first).unwrap_or_else(|pruned| {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "cannot revert block {pruned}: its undo journal was pruned (it is more than evp.journal_horizon blocks \
                 behind the tip); raise evp.journal_horizon, or remove the blocks and run evp_rebuild()"
            ),
        )
    });
    for number in &blocks {
        spi(run(client, REVERT_BLOCK, &[number.clone().into()]));
    }
    blocks.len() as i64
}

/// A block row was deleted or marked REVERTED: if that block is applied, it and every newer
/// applied block are reverted.
pub fn block_reverted(client: &mut SpiClient<'_>, number: &str, hash: &str) {
    let applied = spi(run(
        client,
        APPLIED_WITH_HASH,
        &[number.into(), hash.into()],
    ))
    .first()
    .get_one::<bool>();
    if spi(applied).unwrap_or(false) {
        revert_from(client, number);
    }
}

/// Reverts down to `from`, then applies the pending blocks again; falls back to a rebuild when
/// the journal no longer reaches `from`. Returns the events applied.
pub fn reprocess(client: &mut SpiClient<'_>, from: &str) -> i64 {
    if applied_from(client, from).is_err() {
        return rebuild(client);
    }
    revert_from(client, from);
    catch_up(client, None).1
}

/// Clears all state and applies every block again, in order. Returns the events applied.
pub fn rebuild(client: &mut SpiClient<'_>) -> i64 {
    spi(run(client, CLEAR_STATE, &[]));
    catch_up(client, None).1
}
