//! Replays: reprocessing from a block (revert, then apply again), rebuilding from scratch.

use super::{catch_up, Budget};
use crate::journal::{applied_from, revert_from};
use crate::spi::{run, spi};
use pgrx::spi::SpiClient;

/// Every table the apply path writes, and the journal: what `evp_rebuild()` clears.
const CLEAR_STATE: &str = "SELECT evp.clear_state()";

/// The ledger completed from the indexer's tables (clearing the state made the applied blocks
/// pending again).
const NOTE_BLOCKS: &str = "SELECT evp.note_blocks()";

/// Reverts down to `from`, then applies the pending blocks again; falls back to a rebuild when
/// the journal no longer reaches `from`. Returns the events applied.
pub fn reprocess(client: &mut SpiClient<'_>, from: &str) -> i64 {
    if applied_from(client, from).is_err() {
        return rebuild(client);
    }
    revert_from(client, from);
    catch_up(client, Budget::ALL, true).events
}

/// Clears all state and applies every block again, in order. Returns the events applied.
pub fn rebuild(client: &mut SpiClient<'_>) -> i64 {
    spi(run(client, CLEAR_STATE, &[]));
    spi(run(client, NOTE_BLOCKS, &[]));
    catch_up(client, Budget::ALL, true).events
}
