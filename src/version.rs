//! The library and the database's extension objects must be of one version. Between installing
//! a new package and `ALTER EXTENSION event_processor UPDATE` (docs/upgrades.md), a backend
//! loads the new library under the old version's tables and functions, whose statements would
//! fail: the entry points defer what can wait and refuse what cannot (`api`), the worker waits.

use crate::error::{raise_with_hint, warn_with_hint};
use crate::spi::value;
use pgrx::prelude::*;
use pgrx::spi::{Spi, SpiClient};
use pgrx::{register_xact_callback, PgXactCallbackEvent};
use std::cell::Cell;

/// This library's version, the one whose objects its statements need.
pub const LIBRARY: &str = env!("CARGO_PKG_VERSION");

const INSTALLED: &str =
    "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'event_processor'";

thread_local! {
    // Once the versions match in a committed transaction they stay matched (an update only
    // moves forward), so the catalog is read until then, not on every block.
    static MATCHED: Cell<bool> = const { Cell::new(false) };
    // Whether the versions matched in this transaction, which sets MATCHED when it commits.
    static AT_COMMIT: Cell<bool> = const { Cell::new(false) };
}

/// The extension's version in this database; `None` when it is not installed.
pub fn installed(client: &mut SpiClient<'_>) -> Option<String> {
    value::<String>(client, INSTALLED, &[])
}

/// The extension's version in this database when it is not the library's. For the entry points
/// that its triggers call: no query once the versions have matched in this transaction or a
/// committed one of this backend.
pub fn other_version() -> Option<String> {
    if MATCHED.get() || AT_COMMIT.get() {
        return None;
    }
    match Spi::connect_mut(installed) {
        Some(v) if v == LIBRARY => {
            remember_at_commit();
            None
        }
        v => Some(v.unwrap_or_else(|| "not installed".into())),
    }
}

/// Whether this runs in an earlier step of an update through several versions (0.1.0 to 0.3.0
/// runs 0.1.0--0.2.0's script, then 0.2.0--0.3.0's): PostgreSQL sets the extension's version to
/// each step's target before it runs the step's script, so a script before the last meets
/// another version than the library's. What such a script asks of the library, its closing
/// catch-up, is left to the last step's script, which runs under the library's version.
pub fn earlier_update_step() -> bool {
    // SAFETY: a plain read of a backend global, which PostgreSQL sets while it runs an
    // extension's script.
    let in_script = unsafe { pg_sys::creating_extension };
    in_script && other_version().is_some()
}

/// At commit, not now: the match may be the update's own, in its script's catch-up or later
/// in its transaction, which can still roll back.
fn remember_at_commit() {
    AT_COMMIT.set(true);
    register_xact_callback(PgXactCallbackEvent::Commit, || {
        AT_COMMIT.set(false);
        MATCHED.set(true);
    });
    register_xact_callback(PgXactCallbackEvent::Abort, || AT_COMMIT.set(false));
}

const HINT: &str = "ALTER EXTENSION event_processor UPDATE brings the extension to the \
                    library's version (docs/upgrades.md)";

fn mismatch(installed: &str, what: &str) -> String {
    format!("the library is version {LIBRARY} and this database's extension {installed}: {what}")
}

/// Raises SQLSTATE 55000 (object not in prerequisite state) for what cannot wait.
pub fn refuse(installed: &str, what: &str) -> ! {
    raise_with_hint(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        mismatch(installed, what),
        HINT,
    )
}

/// A WARNING for what waits until the update.
pub fn defer(installed: &str, what: &str) {
    warn_with_hint(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        mismatch(installed, what),
        HINT,
    );
}
