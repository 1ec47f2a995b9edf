//! The change feed's doorbell (SPEC section 8; the feed itself, its writers and readers are in
//! sql/feed.sql and the apply path's `BLOCK_WRITTEN`): at the commit of a transaction that
//! recorded changes, one NOTIFY on `evp_changes` whose payload is the newest position.
//!
//! Every writer of the feed calls `evp.ring_at_commit(newest)`, which keeps the position in a
//! transaction-local setting: a subtransaction rolled back takes its position with it, and the
//! commit reads the last one standing. A listener that does not read fills the notification
//! queue, and a full queue fails the transaction at commit: above `evp.notify_queue_limit` the
//! doorbell stays silent (readers poll too, README).

use crate::guc::NOTIFY_QUEUE_LIMIT;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{c_void, CStr};

/// The transaction-local setting that holds the newest position recorded.
const NEWEST: &CStr = c"evp.feed_newest";

/// Registers the commit hook; once per backend, when the library is loaded.
pub fn init() {
    // SAFETY: called from _PG_init; the callback is a static function that lives as long as
    // the library.
    unsafe { pg_sys::RegisterXactCallback(Some(at_commit), std::ptr::null_mut()) };
}

#[pg_guard]
unsafe extern "C-unwind" fn at_commit(event: pg_sys::XactEvent::Type, _arg: *mut c_void) {
    if event != pg_sys::XactEvent::XACT_EVENT_PRE_COMMIT {
        return;
    }
    // SAFETY: a lookup of a setting by a NUL-terminated name, in a transaction; the value is
    // copied before anything can change it.
    let newest = unsafe {
        let value = pg_sys::GetConfigOption(NEWEST.as_ptr(), true, false);
        if value.is_null() {
            return;
        }
        CStr::from_ptr(value).to_string_lossy().into_owned()
    };
    if newest.is_empty() || queue_usage() >= NOTIFY_QUEUE_LIMIT.get() {
        return;
    }
    // SAFETY: pg_notify(text, text), called before the commit's own PreCommit_Notify, which
    // then queues it.
    unsafe {
        pgrx::direct_function_call_as_datum(
            pg_sys::pg_notify,
            &["evp_changes".into_datum(), newest.as_str().into_datum()],
        );
    }
}

/// The share of the notification queue in use, as `pg_notification_queue_usage()`.
fn queue_usage() -> f64 {
    // SAFETY: a builtin without arguments, called inside a transaction.
    unsafe { pgrx::direct_function_call::<f64>(pg_sys::pg_notification_queue_usage, &[]) }
        .unwrap_or(0.0)
}

#[pg_schema]
mod evp {
    use super::NEWEST;
    use pgrx::pg_sys;
    use pgrx::prelude::*;
    use std::ffi::CString;

    /// Rings the doorbell with position `newest` at commit (nothing for NULL: nothing recorded).
    #[pg_extern]
    fn ring_at_commit(newest: Option<i64>) {
        let Some(newest) = newest else { return };
        let value = CString::new(newest.to_string()).unwrap_or_default();
        // SAFETY: as set_config(name, value, true) does, inside a transaction.
        unsafe {
            pg_sys::set_config_option(
                NEWEST.as_ptr(),
                value.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_LOCAL,
                true,
                0,
                false,
            );
        }
    }
}
