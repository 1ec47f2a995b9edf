//! Apply: one block's events → the output tables, inside the calling transaction.
//!
//! `block` applies a block's events in order and handles errors, `event` decodes one event and
//! runs its transition, `statements` holds the SQL of every transition, `written` what a block
//! writes once (history, notifications, feed, bookkeeping).

mod block;
mod event;
mod statements;
mod written;

pub use block::{apply_events, error_report};
pub use event::BlockCtx;
pub use written::Batch;

/// SQL: whether the indexer's `events` table has the optional `from_address` column (asked
/// with each block's state: it may be added while the extension runs). Written out in each
/// statement: a SQL function with a subquery would be called, not inlined.
macro_rules! events_have_emitter {
    () => {
        "EXISTS (SELECT FROM pg_catalog.pg_attribute
                  WHERE attrelid = 'public.events'::regclass AND attname = 'from_address' AND NOT attisdropped)"
    };
}
pub(crate) use events_have_emitter;
