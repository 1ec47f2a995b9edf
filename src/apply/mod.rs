//! Apply: one block's events → the output tables, inside the calling transaction.
//!
//! `block` applies a block's events in order and handles errors, `event` decodes one event and
//! runs its transition, `statements` holds the SQL of every transition.

mod block;
mod event;
mod statements;

pub use block::{apply_events, error_report};
pub use event::BlockCtx;
