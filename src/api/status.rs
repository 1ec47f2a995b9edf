//! `evp.worker_status()`: the background worker's shared-memory state, for `evp_status()`
//! (sql/status.sql); `evp.wake_worker()`, called by the install script.

use crate::worker::{preloaded, wake_at_commit, WorkerState, STATUS};
use pgrx::prelude::*;

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
            let pid = (s.state != WorkerState::NotRunning).then_some(s.pid);
            (
                true,
                pid,
                s.state.name().to_owned(),
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
