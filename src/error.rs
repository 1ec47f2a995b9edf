//! Errors that reach SQL callers: a SQLSTATE and a message that starts with the extension's name.

use pgrx::prelude::*;

/// Raises an ERROR with a SQLSTATE.
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    // ereport at ERROR level longjmps out; the compiler sees the call as diverging.
    ereport!(ERROR, code, format!("event_processor: {}", message.into()));
}
