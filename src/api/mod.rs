//! The SQL interface: thin `#[pg_extern]` wrappers over the pure modules.

mod apply;
mod decode;
mod status;

use pgrx::prelude::*;

/// Raises an ERROR with a SQLSTATE; every message starts with the extension's name.
pub(crate) fn raise(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    // ereport at ERROR level longjmps out; the compiler sees the call as diverging.
    ereport!(ERROR, code, format!("event_processor: {}", message.into()));
}
