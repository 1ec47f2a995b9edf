//! Apply: a block's events → the output tables, inside the inserting transaction.
//!
//! `block` decides which block may go next and handles errors, `event` decodes one event and
//! runs its transition, `statements` holds the SQL of every transition, `plans` caches them,
//! `driver` serves the legacy indexer's `driver_events` queue.

mod block;
mod driver;
mod event;
mod plans;
mod statements;

pub use block::{
    apply_block, apply_late_events, apply_pending, catch_up, error_report, lock,
    record_late_blocks, spi, BlockOutcome,
};
pub use driver::process_driver_events;
pub use plans::run;
