//! The change feed's doorbell (SPEC section 8; the feed itself, its writers and readers are in
//! sql/feed.sql and the apply path's `BLOCK_WRITTEN`): at the commit of a transaction that
//! recorded changes, one NOTIFY on `evp_changes` whose payload is the newest position.
//!
//! Every writer of the feed calls `evp.ring_at_commit(newest)`, which keeps the position in the
//! transaction's state (xact.rs): a subtransaction rolled back takes its position with it, and
//! the commit reads the last one standing. A listener that does not read fills the notification
//! queue, and a full queue fails the transaction at commit: above `evp.notify_queue_limit` the
//! doorbell stays silent (readers poll too, docs/notifications-and-feed.md).

use crate::guc::NOTIFY_QUEUE_LIMIT;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// Rings the doorbell with position `newest`, the transaction's newest change: called by the
/// transaction's hook (xact.rs) before the commit, whose own PreCommit_Notify then queues it.
pub fn ring(newest: i64) {
    if queue_usage() >= NOTIFY_QUEUE_LIMIT.get() {
        return;
    }
    // SAFETY: pg_notify(text, text), inside the committing transaction.
    unsafe {
        pgrx::direct_function_call_as_datum(
            pg_sys::pg_notify,
            &["evp_changes".into_datum(), newest.to_string().into_datum()],
        );
    }
}

/// The share of the notification queue in use, as `pg_notification_queue_usage()`.
fn queue_usage() -> f64 {
    // SAFETY: a builtin without arguments, called inside a transaction.
    unsafe { pgrx::direct_function_call::<f64>(pg_sys::pg_notification_queue_usage, &[]) }
        .unwrap_or(0.0)
}
