//! Applying and reverting blocks from SQL: the trigger entry points (schema `evp`) and
//! `evp_catchup()`, `evp_revert_to()`, `evp_reprocess()`, `evp_rebuild()`.
//!
//! Every entry point first takes one transaction-scoped advisory lock, so the indexer's
//! triggers and these functions never interleave: no double apply, and no deadlock, since
//! nothing touches the state tables before holding it.
//!
//! Privileges (docs/security.md): the trigger entry points are called by the
//! SECURITY DEFINER wrappers of sql/triggers.sql and by nobody else; the four SQL functions run
//! with the extension owner's rights, `search_path` pinned, and are not executable by PUBLIC
//! (sql/privileges.sql).

use crate::catchup::{catch_up, rebuild, reprocess, Budget};
use crate::error::warn_with_hint;
use crate::failure::BlockFailure;
use crate::guc::{OnError, ON_ERROR};
use crate::journal::revert_from;
use crate::ledger::hold::{hold_next, release};
use crate::spi::{connect, lock, try_lock};
use crate::subxact::attempt;
use crate::version::{earlier_update_step, other_version, refuse};
use crate::worker::wake_at_commit;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::cell::Cell;

/// Runs `f` with an SPI connection, holding the extension's lock until the transaction ends.
pub(crate) fn serialized<R>(f: impl FnOnce(&mut SpiClient<'_>) -> R) -> R {
    connect(|client| {
        lock();
        f(client)
    })
}

/// The sync path of a trigger entry point (`work`, under the extension's lock). Under
/// `evp.on_error = hold` a block that fails is held by the walk; what fails around the blocks
/// (the lock, a lock or statement timeout, the ledger's bookkeeping) must not fail the
/// indexer's transaction either: `work` is rolled back, `fallback` records what async mode
/// would (the ledger's entries), and the queue's lowest block is held with the cause.
///
/// That takes a subtransaction per statement of the indexer, and PostgreSQL keeps each one's
/// lock until the transaction ends, so each costs more than the one before. A transaction
/// that inserts more than `SYNC_STATEMENTS` block statements one by one (a backfill, not the
/// indexer's one block a transaction) has its later blocks applied after it commits, as in
/// async mode: by the worker, the next block's transaction or `evp_catchup()`.
///
/// `quick` is the common case (one empty block row after the tip, the tip's StartBlock): one
/// statement that waits for nothing once the lock is held. When the lock is free at once, it
/// runs without a subtransaction, which would cost more than it; whether it was the case.
fn sync_path(
    quick: impl FnOnce(&mut SpiClient<'_>) -> bool,
    work: impl FnOnce(&mut SpiClient<'_>),
    fallback: impl FnOnce(&mut SpiClient<'_>),
) {
    if ON_ERROR.get() != OnError::Hold {
        return serialized(|client| {
            if !quick(client) {
                work(client);
            }
        });
    }
    let taken = SYNC_TAKEN.with(|t| {
        let transaction = local_transaction();
        let (of, taken) = t.get();
        let taken = if of == transaction { taken } else { 0 };
        t.set((transaction, taken + 1));
        taken
    });
    if taken >= SYNC_STATEMENTS {
        if taken == SYNC_STATEMENTS {
            warn_with_hint(
                PgSqlErrorCode::ERRCODE_WARNING,
                format!(
                    "this transaction has written blocks in {SYNC_STATEMENTS} statements: the blocks of its later \
                     statements are applied after it commits"
                ),
                "In sync mode under evp.on_error = hold each statement's blocks are applied in a subtransaction, which \
                 costs more the more the transaction took. The worker, the next block's transaction or SELECT \
                 evp_catchup() applies them.",
            );
        }
        connect(fallback);
        wake_at_commit();
        return;
    }
    connect(|client| {
        if try_lock() && quick(client) {
            return;
        }
        BlockFailure::reset();
        let done = attempt(|| {
            lock();
            work(client);
            Ok(())
        });
        if let Err(failure) = done {
            fallback(client);
            hold_next(client, failure);
        }
    })
}

/// How many statements of one transaction the sync path applies (see `sync_path`).
const SYNC_STATEMENTS: u32 = 256;

thread_local! {
    /// The transaction (`local_transaction`) and how many statements the sync path took in it.
    static SYNC_TAKEN: Cell<(u32, u32)> = const { Cell::new((0, 0)) };
}

/// The current top-level transaction, as this backend numbers them.
fn local_transaction() -> u32 {
    // SAFETY: MyProc is this backend's own PGPROC, valid while it runs.
    #[cfg(any(feature = "pg15", feature = "pg16"))]
    let lxid = unsafe { (*pgrx::pg_sys::MyProc).lxid };
    #[cfg(any(feature = "pg17", feature = "pg18"))]
    let lxid = unsafe { (*pgrx::pg_sys::MyProc).vxid.lxid };
    lxid
}

/// As [`serialized`], for the SQL functions: they rewrite the state with this library's
/// statements, which need this version's objects (refused until the update otherwise).
fn operator<R>(name: &str, f: impl FnOnce(&mut SpiClient<'_>) -> R) -> R {
    if let Some(installed) = other_version() {
        refuse(&installed, &format!("{name} runs after the update"));
    }
    serialized(f)
}

#[pg_schema]
mod evp {
    use super::{serialized, sync_path};
    use crate::catchup::{
        empty_successor, events_arrived, on_block_rows, process_queue, queue_settled,
        record_late_blocks,
    };
    use crate::guc::{Mode, MODE};
    use crate::journal::block_reverted as revert_block_row;
    use crate::spi::{connect, value};
    use crate::version::{defer, other_version, refuse};
    use crate::worker::wake_at_commit;
    use pgrx::prelude::*;
    use pgrx::spi::Spi;

    /// Whether block $1 or a newer one is applied (0.1.0's objects answer it too).
    const APPLIED_FROM: &str =
        "SELECT EXISTS (SELECT FROM evp.applied_blocks WHERE block_number >= $1::numeric)";

    /// Called by the `starknet_blocks` insert trigger, once per statement, with the numbers of
    /// the rows it inserted: they enter the ledger; in sync mode the blocks are applied now if
    /// the ledger's rules let them go, otherwise they stay pending.
    #[pg_extern]
    fn blocks_inserted(block_numbers: Vec<AnyNumeric>) {
        let numbers: Vec<String> = block_numbers.iter().map(ToString::to_string).collect();
        if let Some(installed) = other_version() {
            // Pending, as in evp.mode = off; the update catches up.
            let what = match &numbers[..] {
                [one] => format!("block {one} is"),
                many => format!("blocks {} are", many.join(", ")),
            };
            return defer(&installed, &format!("{what} applied after the update"));
        }
        match MODE.get() {
            Mode::Sync => sync_path(
                |client| empty_successor(client, &numbers),
                |client| on_block_rows(client, &numbers, true),
                |client| on_block_rows(client, &numbers, false),
            ),
            // Only entries in the ledger: no lock, so the indexer never waits for a batch. The
            // worker is woken at commit.
            Mode::Async | Mode::Off => connect(|client| {
                on_block_rows(client, &numbers, false);
                if MODE.get() == Mode::Async {
                    wake_at_commit();
                }
            }),
        }
    }

    /// Called by the `starknet_blocks` update trigger for a row that comes back (from REVERTED,
    /// or with another hash or number), and by the insert trigger of 0.2.0 and earlier (under
    /// whose objects it defers): as `blocks_inserted` for one row.
    #[pg_extern]
    fn block_inserted(block_number: AnyNumeric) {
        blocks_inserted(vec![block_number]);
    }

    /// Called by the `events` insert trigger, which noted the new events in the ledger, with the
    /// already-applied blocks that got new events (NULL when there are none but blocks without
    /// a row may be ready: see sql/triggers.sql).
    #[pg_extern]
    fn events_inserted(block_numbers: Option<Vec<AnyNumeric>>) {
        let blocks: Vec<String> = block_numbers
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        if let Some(installed) = other_version() {
            // Noted for the catch-up, as in evp.mode = off (evp.late_blocks is 0.1.0's too).
            Spi::connect_mut(|client| record_late_blocks(client, blocks));
            return defer(&installed, "new events are applied after the update");
        }
        match MODE.get() {
            // The events are in the ledger already (noted, or their applied block marked late).
            Mode::Sync => sync_path(|_| false, |client| events_arrived(client, &blocks), |_| {}),
            // The ledger holds them for the worker (or evp_catchup()).
            Mode::Async | Mode::Off => wake_at_commit(),
        }
    }

    /// Called by the `driver_events` insert trigger (the indexer's queue): handled now in
    /// sync mode, by the worker otherwise.
    #[pg_extern]
    fn driver_events_inserted() {
        if let Some(installed) = other_version() {
            return defer(
                &installed,
                "the indexer's queue is processed after the update",
            );
        }
        match MODE.get() {
            Mode::Sync => sync_path(
                queue_settled,
                |client| {
                    process_queue(client, None);
                },
                |_| {},
            ),
            Mode::Async => wake_at_commit(),
            Mode::Off => {}
        }
    }

    /// Called when a block row is deleted or marked REVERTED: if the block is applied, it and
    /// every newer applied block are reverted, in every mode (state must never outlive its block:
    /// refused, then, until the update, unless nothing from the block up is applied).
    #[pg_extern]
    fn block_reverted(block_number: AnyNumeric, block_hash: &str) {
        if let Some(installed) = other_version() {
            let n = block_number.to_string();
            let applied = Spi::connect_mut(|client| {
                value::<bool>(client, APPLIED_FROM, &[n.as_str().into()])
            });
            if applied == Some(true) {
                refuse(
                    &installed,
                    &format!("block {n} cannot be reverted until the update"),
                );
            }
            // Nothing of it is applied; the update sorts its events out (a fork's leftovers).
            return defer(&installed, &format!("block {n} was not applied"));
        }
        serialized(|client| revert_block_row(client, &block_number.to_string(), block_hash));
    }
}

/// Applies pending blocks now, oldest first, at most `max_blocks` of them (all when NULL),
/// held blocks tried again. Returns the number of blocks applied.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn evp_catchup(max_blocks: default!(Option<i32>, "NULL")) -> i64 {
    if earlier_update_step() {
        // An older version's upgrade script, in an update that goes on to this version.
        return 0;
    }
    operator("evp_catchup()", |client| {
        let budget = Budget {
            max: max_blocks.map(i64::from),
            run_as_one: false,
        };
        release(client);
        catch_up(client, budget, true).blocks
    })
}

/// Reverts every applied block above `block`, newest first. Returns the number reverted.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn evp_revert_to(block: AnyNumeric) -> i64 {
    operator("evp_revert_to()", |client| {
        revert_from(client, &(block + AnyNumeric::from(1)).to_string())
    })
}

/// Reverts from the tip down to `from_block`, then applies the pending blocks again (a rebuild
/// when the journal no longer reaches `from_block`). Returns the events applied.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn evp_reprocess(from_block: AnyNumeric) -> i64 {
    operator("evp_reprocess()", |client| {
        release(client);
        reprocess(client, &from_block.to_string())
    })
}

/// Clears all state and applies every block again, in order. Returns the events applied.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn evp_rebuild() -> i64 {
    operator("evp_rebuild()", |client| {
        release(client);
        rebuild(client)
    })
}
