//! Catch-up: applying what the ledger's rules say goes next.
//!
//! Every path walks the same queue (`walk`): the lowest block not applied yet, applied if the
//! rules of `ledger::rules` let it go, then the next, until one must wait. Block rows that
//! arrive in sync mode (`on_block_rows`), new events (`events_arrived`), `evp_catchup()` and
//! the worker (`pass`) differ only in how strictly a row must follow the tip and how much
//! they may apply. Events that arrive after their block (`late`), the indexer's
//! `driver_events` queue (`driver`) and replays (`replay`) build on it; runs of empty blocks
//! are `empty`'s. Each module uses only those below it: mod → replay → pass → driver, late,
//! walk → empty.

mod driver;
mod empty;
mod late;
mod pass;
mod replay;
mod walk;

use crate::error::{raise_with_hint, warn_with_hint};
use crate::guc::{OnError, ON_ERROR};
use crate::ledger::rows_arrived;
use crate::ledger::rules::Strictness;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use walk::walk;

pub use driver::{process_queue, queue_settled};
pub use late::record_late_blocks;
pub use pass::catch_up;
pub use replay::{rebuild, reprocess};
pub use walk::Budget;

/// Block rows were inserted (the `starknet_blocks` trigger, once per statement): they enter
/// the ledger, and in sync mode (`apply`) are applied with whatever they let go. The common
/// case, one empty block that follows the tip with nothing queued, is `empty_successor`'s,
/// which the sync path tries first.
pub fn on_block_rows(client: &mut SpiClient<'_>, numbers: &[String], apply: bool) {
    let below_tip = rows_arrived(client, numbers);
    if !apply {
        return;
    }
    if let Some((number, tip)) = below_tip {
        let message = format!("block {number} arrives at or below the applied tip {tip}");
        let hint = "Revert to below it first (evp_revert_to), or delete the newer blocks' rows.";
        let code = PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
        if ON_ERROR.get() != OnError::Hold {
            raise_with_hint(code, message, hint);
        }
        // Held: the row is kept, and waits for a revert as in async mode.
        warn_with_hint(code, message, hint);
    }
    walk(client, Strictness::Strict, Budget::ALL, None);
}

/// The common case of new block rows: one empty row that follows the applied tip, applied by
/// one statement (`empty::apply_successor`); whether it was.
pub fn empty_successor(client: &mut SpiClient<'_>, numbers: &[String]) -> bool {
    matches!(numbers, [number] if empty::apply_successor(client, number))
}

/// New events arrived (sync mode): the blocks they let go (a vault registered after later
/// blocks were applied: its deployment block lies below the tip), then the events of applied
/// blocks that arrived after them.
pub fn events_arrived(client: &mut SpiClient<'_>, late_blocks: &[String]) {
    walk(client, Strictness::Strict, Budget::ALL, None);
    if let Some(number) = late::apply_late(client, late_blocks) {
        reprocess(client, &number);
    }
}
