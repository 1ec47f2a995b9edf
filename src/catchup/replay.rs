//! Replays: reprocessing from a block (revert, then apply again), rebuilding from scratch.

use super::pass::catch_up;
use super::walk::Budget;
use crate::journal::{clear, unwind_to};
use pgrx::spi::SpiClient;

/// Reverts down to `from`, then applies the pending blocks again; a rebuild when the journal no
/// longer reaches `from`. Returns the events applied.
pub fn reprocess(client: &mut SpiClient<'_>, from: &str) -> i64 {
    unwind_to(client, from);
    catch_up(client, Budget::ALL, true).events
}

/// Clears all state and applies every block again, in order. Returns the events applied.
pub fn rebuild(client: &mut SpiClient<'_>) -> i64 {
    clear(client);
    catch_up(client, Budget::ALL, true).events
}
