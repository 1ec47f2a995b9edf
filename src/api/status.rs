//! For `evp_status()` (sql/status.sql): `evp.worker_status()`, the background worker's
//! shared-memory state, and `evp.waiting_for()`, what the ledger's rules say waits; and
//! `evp.wake_worker()`, called by the install script.

use crate::guc::{Mode, MODE};
use crate::ledger::candidate;
use crate::ledger::rules::{self, ModeSeen};
use crate::worker::{preloaded, wake_at_commit, WorkerState, STATUS};
use pgrx::prelude::*;
use pgrx::spi::Spi;

/// Whether this server is a hot standby (in recovery): it applies nothing, and its worker
/// starts on promotion.
fn standby() -> bool {
    // SAFETY: a read of the shared recovery state, valid in any backend.
    unsafe { pgrx::pg_sys::RecoveryInProgress() }
}

#[pg_schema]
mod evp {
    use super::*;

    /// Wakes the worker when the transaction commits. The install script calls it, so that
    /// history already in the indexer's tables is applied as soon as CREATE EXTENSION
    /// commits, not up to `evp.naptime` later.
    #[pg_extern]
    fn wake_worker() {
        wake_at_commit();
    }

    /// What the lowest block not applied yet waits for, and the call that moves on (see
    /// `ledger::rules::waiting_for`); NULL when nothing waits.
    #[pg_extern]
    fn waiting_for() -> Option<String> {
        let mode = match MODE.get() {
            _ if standby() => ModeSeen::Standby,
            Mode::Sync => ModeSeen::Sync,
            Mode::Async => ModeSeen::Async,
            Mode::Off => ModeSeen::Off,
        };
        Spi::connect_mut(|client| {
            candidate(client, None).and_then(|q| rules::waiting_for(&q.candidate, mode))
        })
    }

    /// One row: whether the library is preloaded, and the worker's pid, state, counters and
    /// last error (NULLs when it is not preloaded).
    #[pg_extern]
    #[allow(clippy::type_complexity)]
    fn worker_status() -> TableIterator<
        'static,
        (
            name!(preloaded, bool),
            name!(pid, Option<i32>),
            name!(state, String),
            name!(blocks_applied, Option<i64>),
            name!(events_applied, Option<i64>),
            name!(errors, Option<i64>),
            name!(last_error, Option<String>),
            name!(batch_size, Option<i32>),
        ),
    > {
        let row = if preloaded() {
            let s = *STATUS.share();
            let (pid, state) = if standby() {
                (None, "standby: the worker starts on promotion")
            } else {
                (
                    (s.state != WorkerState::NotRunning).then_some(s.pid),
                    s.state.name(),
                )
            };
            (
                true,
                pid,
                state.to_owned(),
                Some(s.blocks_applied),
                Some(s.events_applied),
                Some(s.errors),
                s.last_error(),
                Some(s.batch_size),
            )
        } else {
            (
                false,
                None,
                "not started: add event_processor to shared_preload_libraries".to_owned(),
                None,
                None,
                None,
                None,
                None,
            )
        };
        TableIterator::once(row)
    }
}
