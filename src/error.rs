//! Errors that reach SQL callers: a SQLSTATE, a message that starts with the extension's name
//! and says the cause, and a hint where an action helps.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

/// Raises an ERROR with a SQLSTATE.
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    // ereport at ERROR level longjmps out; the compiler sees the call as diverging.
    ereport!(ERROR, code, format!("event_processor: {}", message.into()));
}

/// Raises an ERROR with a SQLSTATE, its cause and what to do about it.
pub fn raise_with_hint(
    code: PgSqlErrorCode,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> ! {
    report(PgLogLevel::ERROR, code, message, hint);
    unreachable!("an ERROR report does not return")
}

/// Sends a WARNING with a SQLSTATE, its cause and what to do about it.
pub fn warn_with_hint(code: PgSqlErrorCode, message: impl Into<String>, hint: impl Into<String>) {
    report(PgLogLevel::WARNING, code, message, hint);
}

fn report(
    level: PgLogLevel,
    code: PgSqlErrorCode,
    message: impl Into<String>,
    hint: impl Into<String>,
) {
    ErrorReport::new(
        code,
        format!("event_processor: {}", message.into()),
        "event_processor",
    )
    .set_hint(hint)
    .report(level);
}
