//! Configuration: the `evp.*` settings of SPEC section 6.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting, PostgresGucEnum};
use std::ffi::CString;

/// Where blocks are applied.
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// In the inserting transaction, by the triggers.
    #[name = c"sync"]
    Sync,
    /// By the background worker; the triggers only record that work is pending.
    #[name = c"async"]
    Async,
    /// Not at all: blocks stay pending until `evp_catchup()`.
    #[name = c"off"]
    Off,
}

/// What a block that cannot be applied does (a bad event, a lock or statement timeout).
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum OnError {
    /// Hold the block, not applied, with its cause in `evp.held_blocks`; the blocks above it
    /// wait; the inserting transaction commits (SPEC 7.3: an indexer that never retries loses
    /// nothing). `evp_catchup()` tries again.
    #[name = c"hold"]
    Hold,
    /// Fail the transaction with an error naming block, vault, nonce, event and reason.
    #[name = c"abort"]
    Abort,
    /// Record the event in `evp.failed_events` and apply the rest.
    #[name = c"skip"]
    Skip,
}

pub static MODE: GucSetting<Mode> = GucSetting::<Mode>::new(Mode::Sync);
pub static ON_ERROR: GucSetting<OnError> = GucSetting::<OnError>::new(OnError::Hold);
pub static NOTIFY: GucSetting<bool> = GucSetting::<bool>::new(true);
/// The database the background worker serves (postmaster start only).
pub static DATABASE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"postgres"));
/// Blocks the worker applies in one transaction.
pub static BATCH_SIZE: GucSetting<i32> = GucSetting::<i32>::new(100);
/// Milliseconds the worker sleeps when idle, unless a commit wakes it first.
pub static NAPTIME: GucSetting<i32> = GucSetting::<i32>::new(1000);
/// How long the worker lets a row wait for a missing predecessor before it applies over the gap.
pub static GAP_WAIT: GucSetting<i32> = GucSetting::<i32>::new(1000);
/// Whether inserting a block row at the number of a REVERTED row removes that row first
/// (SPEC 7.3). Read by the trigger of sql/triggers.sql through `evp.setting()`.
pub static REPLACE_REVERTED: GucSetting<bool> = GucSetting::<bool>::new(true);
/// The share of PostgreSQL's notification queue above which notifications are skipped (SPEC
/// 7.3). Read by sql/journal.sql through `evp.setting()`, and by the feed's doorbell.
pub static NOTIFY_QUEUE_LIMIT: GucSetting<f64> = GucSetting::<f64>::new(0.5);
/// Blocks of undo journal kept behind the newest applied block.
pub static JOURNAL_HORIZON: GucSetting<i32> = GucSetting::<i32>::new(10_000);
/// The change feed (sql/feed.sql): read there through `evp.setting()`; only a superuser, or
/// the server's configuration, sets them.
static FEED: GucSetting<bool> = GucSetting::<bool>::new(true);
static FEED_RETENTION: GucSetting<i32> = GucSetting::<i32>::new(10_000);
static FEED_MAX_LAG: GucSetting<i32> = GucSetting::<i32>::new(100_000);

pub fn init() {
    // A postmaster-context setting can only be defined while preloading; without preloading
    // there is no worker for it to configure.
    if unsafe { pgrx::pg_sys::process_shared_preload_libraries_in_progress } {
        GucRegistry::define_string_guc(
            c"evp.database",
            c"The database the event_processor background worker serves.",
            c"Read at server start; the worker waits there until CREATE EXTENSION event_processor.",
            &DATABASE,
            GucContext::Postmaster,
            GucFlags::default(),
        );
    }
    GucRegistry::define_enum_guc(
        c"evp.mode",
        c"Where Pitch Lake blocks are applied: sync, async or off.",
        c"sync: in the transaction that inserts the block; async: by the background worker; off: only by evp_catchup().",
        &MODE,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"evp.on_error",
        c"What a block that cannot be applied does: hold it, abort the transaction, or skip the bad event.",
        c"hold (for an indexer that never retries) keeps the block, not applied, in evp.held_blocks with its cause, lets the transaction commit, and evp_catchup() tries again; abort fails the transaction; skip records the event and the reason in evp.failed_events and applies the rest of the block.",
        &ON_ERROR,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"evp.batch_size",
        c"Blocks the background worker applies in one transaction.",
        c"A run of empty blocks counts as one (it is recorded by one statement). Reloadable (SIGHUP).",
        &BATCH_SIZE,
        1,
        1_000_000,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"evp.naptime",
        c"How long the idle background worker sleeps before looking for pending blocks.",
        c"A commit that leaves work pending wakes it at once; this is the fallback. Reloadable (SIGHUP).",
        &NAPTIME,
        10,
        3_600_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"evp.gap_wait",
        c"How long the background worker lets a block row wait for a missing predecessor.",
        c"The predecessor may be in flight in another session; after this the worker applies over the gap. Reloadable (SIGHUP).",
        &GAP_WAIT,
        0,
        3_600_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"evp.journal_horizon",
        c"Blocks of undo journal kept behind the newest applied block.",
        c"A reorg deeper than this cannot be reverted from the journal; evp_reprocess() below it rebuilds instead.",
        &JOURNAL_HORIZON,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"evp.replace_reverted_blocks",
        c"Let a block row be inserted at the number of a REVERTED row by removing that row first.",
        c"The Pitch Lake indexer inserts the new fork of a reorg at the numbers of the rows it marked REVERTED; off leaves the INSERT to fail on the table's key.",
        &REPLACE_REVERTED,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"evp.notify",
        c"Send NOTIFY on vault_update, lp_update, or_update, ob_update and bids_update.",
        c"Notifications are delivered at commit; off silences them.",
        &NOTIFY,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"evp.notify_queue_limit",
        c"Share of the notification queue above which notifications are skipped, not sent.",
        c"A listener that stops reading fills the queue, and a full queue fails the NOTIFYing transaction at commit; skipped notifications are counted in evp_status().",
        &NOTIFY_QUEUE_LIMIT,
        0.0,
        1.0,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"evp.feed",
        c"Record every change to the output tables in the change feed (evp_changes()).",
        c"Off, changes are not recorded, and a reader of the feed misses them: it must read the tables again.",
        &FEED,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"evp.feed_retention",
        c"Blocks of changes the feed keeps behind the applied tip, whether or not a consumer holds them.",
        c"Rows are pruned with the journal, when no consumer that is not lost holds them.",
        &FEED_RETENTION,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"evp.feed_max_lag",
        c"Blocks a consumer of the feed may fall behind the applied tip before it is marked lost.",
        c"A lost consumer holds no rows: the disk never fills for a reader that vanished.",
        &FEED_MAX_LAG,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    // Every evp.* name is one of the above: `SET evp.notfy = off` is an error, not a
    // placeholder that nothing reads.
    // SAFETY: a NUL-terminated prefix, from _PG_init.
    unsafe { pgrx::pg_sys::MarkGUCPrefixReserved(c"evp".as_ptr()) };
}

#[pgrx::pg_schema]
mod evp {
    use pgrx::prelude::*;
    use std::ffi::{CStr, CString};

    /// The value of setting `name`, as `current_setting(name)` shows it. The SQL of the
    /// extension reads its settings through this function: calling it loads the library, which
    /// defines the settings and their defaults (a trigger may run in a backend that has not
    /// loaded it yet). An unknown name is an error.
    #[pg_extern(stable, parallel_safe)]
    fn setting(name: &str) -> String {
        let name = CString::new(name).unwrap_or_default();
        // SAFETY: a lookup by a NUL-terminated name, inside a transaction; with missing_ok
        // false, an unknown name raises an error. A string setting without a value comes back
        // as NULL, shown as "" (as current_setting shows it). The value is copied at once.
        unsafe {
            let value = pgrx::pg_sys::GetConfigOption(name.as_ptr(), false, false);
            if value.is_null() {
                return String::new();
            }
            CStr::from_ptr(value).to_string_lossy().into_owned()
        }
    }
}
