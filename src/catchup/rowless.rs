//! Blocks without a row (SPEC 7.1): the Pitch Lake indexer stores a vault's deployment block,
//! and the blocks it catches up after a restart, as events only. The `events` trigger notes
//! each (number, hash) whose events arrive without a row in `evp.rowless_blocks`
//! (sql/triggers.sql). One is ready (`evp.ready_rowless_blocks`, sql/schema.sql) once no row
//! can come for it any more: it lies below the applied tip, or a later transaction than the one
//! that brought its events sees a row above it. It is then applied at its own number, in
//! number order with the rows (so before any later event of its vaults), once, and never when
//! the indexer reverted it; its deployment dates are derived (apply/statements.rs).

use crate::apply::{apply_events, events_have_emitter, BlockCtx};
use crate::spi::{run, spi};
use pgrx::spi::SpiClient;

/// Whether block $1 with hash $2 is (still) a block without a row that may be applied (the
/// walk that found it decided how strictly), and whether the indexer's `events` table has the
/// optional `from_address` column.
const ROWLESS_STATE: &str = concat!(
    r#"
SELECT EXISTS (SELECT FROM evp.ready_rowless_blocks(false) r WHERE r.block_number = $1::numeric AND r.block_hash = $2),
       "#,
    events_have_emitter!()
);

/// The indexer reverted the block with hash $1 (its RevertBlock notice): when that block has
/// no row, only this remembers it (a row's revert is its UPDATE or DELETE: sql/triggers.sql).
pub const FORGET: &str = r#"
INSERT INTO evp.reverted_blocks (block_number, block_hash)
SELECT block_number, block_hash FROM evp.rowless_blocks WHERE block_hash = evp.normalize_felt($1)
ON CONFLICT DO NOTHING"#;

/// Applies the ready block without a row `number` with hash `hash` (normalised); returns the
/// events applied, `None` when it is not ready (any more).
pub fn apply(client: &mut SpiClient<'_>, number: &str, hash: &str) -> Option<i64> {
    let table = spi(run(client, ROWLESS_STATE, &[number.into(), hash.into()]));
    let row = table.into_iter().next()?;
    if !spi(row.get::<bool>(1)).unwrap_or(false) {
        return None;
    }
    let block = BlockCtx {
        number: number.to_owned(),
        hash: hash.to_owned(),
        timestamp: None,
        events_have_emitter: spi(row.get::<bool>(2)).unwrap_or(false),
    };
    Some(apply_events(client, &block))
}
