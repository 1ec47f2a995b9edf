//! Transaction state: what the apply path, the revert and the change feed tell one another
//! within a transaction. It lives here, not in settings, so that the `evp` prefix can be
//! reserved. As `set_config(…, true)` would, it ends with the transaction, and a subtransaction
//! that rolls back takes its changes with it (the walk holds a block by rolling one back).

use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::RefCell;
use std::ffi::c_void;

/// The state of the current transaction.
#[derive(Clone, Default)]
struct State {
    /// The apply path is writing a block, which notifies and records itself: the notification
    /// and feed triggers stay off.
    applying: bool,
    /// The notification round (sql/journal.sql, `evp.notify_padding()`): `None` until the
    /// transaction notifies.
    notify_round: Option<u32>,
    /// The block a revert is undoing (number, hash): the change feed records its changes with it.
    reverting: Option<(AnyNumeric, String)>,
    /// The newest change-feed position recorded: the doorbell rings with it at commit (feed.rs).
    feed_newest: Option<i64>,
}

thread_local! {
    static CURRENT: RefCell<State> = RefCell::new(State::default());
    /// The state as each open subtransaction found it, innermost last.
    static SAVED: RefCell<Vec<(pg_sys::SubTransactionId, State)>> = const { RefCell::new(Vec::new()) };
}

/// Registers the transaction and subtransaction hooks; once per backend, from `_PG_init`. The
/// transaction's hook also rings the change feed's doorbell before the commit.
pub fn init() {
    // SAFETY: called from _PG_init; the callbacks are static functions that live as long as the
    // library.
    unsafe {
        pg_sys::RegisterXactCallback(Some(at_xact_event), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(at_subxact_event), std::ptr::null_mut());
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn at_xact_event(event: pg_sys::XactEvent::Type, _arg: *mut c_void) {
    use pg_sys::XactEvent::*;
    if event == XACT_EVENT_PRE_COMMIT {
        if let Some(newest) = CURRENT.with_borrow(|s| s.feed_newest) {
            crate::feed::ring(newest);
        }
    } else if matches!(
        event,
        XACT_EVENT_COMMIT
            | XACT_EVENT_ABORT
            | XACT_EVENT_PREPARE
            | XACT_EVENT_PARALLEL_COMMIT
            | XACT_EVENT_PARALLEL_ABORT
    ) {
        CURRENT.take();
        SAVED.take();
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn at_subxact_event(
    event: pg_sys::SubXactEvent::Type,
    subid: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut c_void,
) {
    use pg_sys::SubXactEvent::*;
    match event {
        SUBXACT_EVENT_START_SUB => {
            let state = CURRENT.with_borrow(State::clone);
            SAVED.with_borrow_mut(|saved| saved.push((subid, state)));
        }
        SUBXACT_EVENT_COMMIT_SUB | SUBXACT_EVENT_ABORT_SUB => {
            // A subtransaction opened before the library was loaded has nothing saved.
            let Some((_, state)) = SAVED.with_borrow_mut(|saved| {
                saved
                    .last()
                    .is_some_and(|(id, _)| *id == subid)
                    .then(|| saved.pop())?
            }) else {
                return;
            };
            if event == SUBXACT_EVENT_ABORT_SUB {
                CURRENT.set(state);
            }
        }
        _ => {}
    }
}

/// Marks the apply path as writing a block (or done with it).
pub fn set_applying(applying: bool) {
    CURRENT.with_borrow_mut(|s| s.applying = applying);
}

#[pg_schema]
mod evp {
    use super::CURRENT;
    use pgrx::prelude::*;

    /// Whether the apply path is writing a block: the notification and feed triggers' WHEN.
    #[pg_extern(parallel_restricted)]
    fn applying() -> bool {
        CURRENT.with_borrow(|s| s.applying)
    }

    /// The padding of this transaction's notification round (sql/journal.sql): round r ends
    /// each payload in r spaces. Round 0 starts at the transaction's first notification.
    #[pg_extern(parallel_restricted)]
    fn notify_padding() -> String {
        let round = CURRENT.with_borrow_mut(|s| *s.notify_round.get_or_insert(0));
        " ".repeat(round as usize)
    }

    /// A revert starts a new notification round, if the transaction has notified.
    #[pg_extern(parallel_restricted)]
    fn notify_next_round() {
        CURRENT.with_borrow_mut(|s| {
            if let Some(round) = &mut s.notify_round {
                *round += 1;
            }
        });
    }

    /// The revert of block (`blk`, `hash`) begins (`NULL`s: it ended): the change feed records
    /// the changes that follow with that block.
    #[pg_extern(parallel_restricted)]
    fn set_reverting(blk: Option<AnyNumeric>, hash: Option<String>) {
        CURRENT.with_borrow_mut(|s| s.reverting = blk.zip(hash));
    }

    /// The number of the block being reverted, if one is.
    #[pg_extern(parallel_restricted)]
    fn reverting_block() -> Option<AnyNumeric> {
        CURRENT.with_borrow(|s| s.reverting.as_ref().map(|(blk, _)| blk.clone()))
    }

    /// The hash of the block being reverted, if one is.
    #[pg_extern(parallel_restricted)]
    fn reverting_hash() -> Option<String> {
        CURRENT.with_borrow(|s| s.reverting.as_ref().map(|(_, hash)| hash.clone()))
    }

    /// Rings the change feed's doorbell with position `newest` at commit (nothing for NULL:
    /// nothing recorded).
    #[pg_extern(parallel_restricted)]
    fn ring_at_commit(newest: Option<i64>) {
        if let Some(newest) = newest {
            CURRENT.with_borrow_mut(|s| s.feed_newest = Some(newest));
        }
    }
}
