//! The background worker: applies the blocks the triggers leave pending (async mode, or history
//! that was there before `CREATE EXTENSION`), `evp.batch_size` blocks a transaction.
//!
//! Committing backends wake it through its latch, as pg_net does: the async trigger path
//! registers a commit callback that sets the latch of the process number published here in
//! shared memory. Polling every `evp.naptime` is only the fallback.

mod status;

use crate::apply::error_report;
use crate::catchup::{catch_up, Budget};
use crate::guc::{self, Mode};
use crate::ledger::rows_waiting;
use crate::spi::{connect, lock, read, spi};
use crate::version;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, register_xact_callback, PgAtomic, PgXactCallbackEvent};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

pub use status::{WorkerState, STATUS};

/// The worker's process number (index into ProcGlobal->allProcs), -1 while it is not running.
static WORKER_PROCNO: PgAtomic<AtomicI32> = unsafe { PgAtomic::new(c"evp_worker_procno") };

/// Set in the postmaster by `_PG_init` when the library is preloaded; forked backends inherit
/// it. Without it there is no shared memory to touch.
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Registers shared memory and the worker; only possible while preloading.
pub fn init() {
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    PRELOADED.store(true, Ordering::Relaxed);
    pg_shmem_init!(WORKER_PROCNO = AtomicI32::new(-1));
    pg_shmem_init!(STATUS = status::Status::new());
    BackgroundWorkerBuilder::new("event_processor worker")
        .set_type("event_processor worker")
        .set_function("evp_worker_main")
        .set_library("event_processor")
        .enable_spi_access()
        .set_restart_time(Some(Duration::from_secs(1)))
        .load();
}

pub fn preloaded() -> bool {
    PRELOADED.load(Ordering::Relaxed)
}

thread_local! {
    /// Whether this transaction already asked for a wake-up at commit.
    static WAKE_REGISTERED: Cell<bool> = const { Cell::new(false) };
}

/// Wakes the worker when the current transaction commits (once per transaction).
pub fn wake_at_commit() {
    if !preloaded() || WAKE_REGISTERED.with(|w| w.replace(true)) {
        return;
    }
    register_xact_callback(PgXactCallbackEvent::Commit, || {
        WAKE_REGISTERED.with(|w| w.set(false));
        wake();
    });
    register_xact_callback(PgXactCallbackEvent::Abort, || {
        WAKE_REGISTERED.with(|w| w.set(false))
    });
}

fn wake() {
    let procno = WORKER_PROCNO.get().load(Ordering::Acquire);
    if procno >= 0 {
        // SAFETY: procno indexes the fixed PGPROC array; setting another process's latch is
        // what latches are for.
        unsafe {
            let proc_ = (*pg_sys::ProcGlobal).allProcs.add(procno as usize);
            pg_sys::SetLatch(&raw mut (*proc_).procLatch);
        }
    }
}

/// The worker runs as the superuser that starts it: like the SQL entry points, it resolves
/// names in pg_catalog alone, so nothing a user creates stands in for what it calls.
const PIN_SEARCH_PATH: &str =
    "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)";

/// What one batch did.
enum Batch {
    NoExtension,
    /// The extension is of another version than the library (see `crate::version`).
    OtherVersion,
    Off,
    /// The batch's budget spent (blocks, a run of empty blocks counting as one: see
    /// `Budget`), and whether block rows still wait above the tip.
    Applied(i64, bool),
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn evp_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = guc::DATABASE
        .get()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_else(|| "postgres".into());
    if !status::take_database_found() {
        wait_for_database(&database);
    }
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    status::database_found();
    // SAFETY: this process's own number in the PGPROC array, valid once connected.
    #[cfg(any(feature = "pg15", feature = "pg16"))]
    let procno = unsafe { (*pg_sys::MyProc).pgprocno };
    #[cfg(any(feature = "pg17", feature = "pg18"))]
    let procno = unsafe { pg_sys::MyProcNumber };
    WORKER_PROCNO.get().store(procno, Ordering::Release);
    status::started(unsafe { pg_sys::MyProcPid });
    log!("event_processor worker started in database {database}");
    // After an error, apply one block a transaction until the bad block is reached again, so
    // that the blocks before it are not held back.
    let mut single_step = false;
    // Since when block rows have waited without progress: once `evp.gap_wait` has passed, a
    // row whose predecessor is missing is applied over the gap (SPEC 7.3: no stall on a gap).
    let mut waiting_since: Option<Instant> = None;
    loop {
        if BackgroundWorker::sighup_received() {
            // SAFETY: the documented way for a background worker to reload its configuration.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        if BackgroundWorker::sigterm_received() {
            break;
        }
        let configured = guc::BATCH_SIZE.get();
        let batch = if single_step {
            1
        } else {
            i64::from(configured)
        };
        let gap_wait = Duration::from_millis(guc::GAP_WAIT.get() as u64);
        let over_gaps = waiting_since.is_some_and(|t| t.elapsed() >= gap_wait);
        let busy = match in_transaction(|| run_batch(batch, over_gaps)) {
            Ok(Batch::Applied(n, waiting)) => {
                single_step = false;
                waiting_since = match (waiting, n) {
                    (false, _) => None,
                    (true, 0) => waiting_since.or_else(|| Some(Instant::now())),
                    (true, _) => Some(Instant::now()),
                };
                let state = if n > 0 {
                    WorkerState::Applying
                } else {
                    WorkerState::Idle
                };
                status::set(state, configured);
                n >= batch
            }
            Ok(Batch::NoExtension) => {
                status::set(WorkerState::WaitingForExtension, configured);
                false
            }
            Ok(Batch::OtherVersion) => {
                status::set(WorkerState::WaitingForUpdate, configured);
                false
            }
            Ok(Batch::Off) => {
                status::set(WorkerState::Off, configured);
                false
            }
            Err(message) => {
                single_step = true;
                log!("event_processor worker: {message}");
                status::failed(&message);
                false
            }
        };
        report_table_statistics(!busy);
        // A full batch means there may be more: go on at once. Otherwise sleep until a commit
        // wakes us, or naptime passes.
        let naptime = Duration::from_millis(guc::NAPTIME.get() as u64);
        let nap = match waiting_since {
            _ if busy => Duration::ZERO,
            // Wake when the wait is over; once over (the batch just ran over gaps), nap as usual.
            Some(since) if since.elapsed() < gap_wait => naptime.min(gap_wait - since.elapsed()),
            _ => naptime,
        };
        if !BackgroundWorker::wait_latch(Some(nap)) {
            break;
        }
    }
    WORKER_PROCNO.get().store(-1, Ordering::Release);
    status::set(WorkerState::Stopped, guc::BATCH_SIZE.get());
    log!("event_processor worker stopped");
    exit_to_restart();
}

/// evp.database did not exist when the worker last started (its connection failed, FATAL):
/// instead of failing again at every restart, the worker waits for it here, connected to no
/// database (pg_database is shared), with one log line and a back-off of at most 30 s. Once
/// it exists the worker exits, and the postmaster starts it again, connecting to it.
fn wait_for_database(database: &str) -> ! {
    BackgroundWorker::connect_worker_to_spi(None, None);
    status::set(WorkerState::WaitingForDatabase, guc::BATCH_SIZE.get());
    log!(
        "event_processor worker: the database \"{database}\" (evp.database) does not exist; the worker \
         waits for it, and starts there once it is created"
    );
    let mut nap = Duration::from_secs(1);
    loop {
        if in_transaction(|| database_exists(database)) == Ok(true) {
            status::database_found();
            break;
        }
        if !BackgroundWorker::wait_latch(Some(nap)) {
            break;
        }
        nap = (nap * 2).min(Duration::from_secs(30));
    }
    exit_to_restart()
}

/// Ends the worker's process. Exit code 1: unless the postmaster is shutting down, it starts
/// the worker again after its restart time; a pg_terminate_backend() or DROP DATABASE … WITH
/// (FORCE) must not stop the worker for good (exit code 0 would unregister it).
#[allow(unreachable_code)] // proc_exit is declared to return on PostgreSQL 15 only
fn exit_to_restart() -> ! {
    // SAFETY: ends this process, as a background worker may.
    unsafe { pg_sys::proc_exit(1) };
    unreachable!("proc_exit does not return")
}

/// Whether database `name` exists: a scan of the shared catalog pg_database, which a process
/// connected to no database can read (its indexes it cannot), as the autovacuum launcher does.
fn database_exists(name: &str) -> bool {
    let mut found = false;
    // SAFETY: inside a transaction; pg_database is a shared catalog, nailed in the relation
    // cache; each tuple heap_getnext returns is a pg_database row until the next call.
    unsafe {
        let rel = pg_sys::table_open(pg_sys::DatabaseRelationId, pg_sys::AccessShareLock as _);
        let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
        loop {
            let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
            if tuple.is_null() {
                break;
            }
            let row = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_database>(tuple);
            if std::ffi::CStr::from_ptr((*row).datname.data.as_ptr()).to_bytes() == name.as_bytes()
            {
                found = true;
                break;
            }
        }
        pg_sys::table_endscan(scan);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as _);
    }
    found
}

/// Sends the statistics of the batches' writes to the cumulative statistics system, as a
/// backend does when it goes idle, so that pg_stat_user_tables and autovacuum see them: at
/// once when the worker goes idle, at most once a second while it is busy.
fn report_table_statistics(idle: bool) {
    // SAFETY: called outside a transaction, as PostgreSQL requires.
    unsafe { pg_sys::pgstat_report_stat(idle) };
}

fn run_batch(max_blocks: i64, over_gaps: bool) -> Batch {
    connect(|client| {
        spi(read(client, PIN_SEARCH_PATH, &[]));
        // Every batch: the extension may be dropped, created or updated meanwhile.
        match version::installed(client) {
            None => return Batch::NoExtension,
            Some(v) if v != version::LIBRARY => return Batch::OtherVersion,
            Some(_) => {}
        }
        // SAFETY: catalog lookups inside the batch's transaction.
        let extension = unsafe { pg_sys::get_extension_oid(c"event_processor".as_ptr(), true) };
        status::serving(unsafe { pg_sys::MyDatabaseId }.into(), extension.into());
        if guc::MODE.get() == Mode::Off {
            return Batch::Off;
        }
        lock();
        let budget = Budget {
            max: Some(max_blocks),
            run_as_one: true,
        };
        let walked = catch_up(client, budget, over_gaps);
        status::applied(walked.blocks, walked.events);
        Batch::Applied(
            walked.spent,
            walked.spent < max_blocks && rows_waiting(client),
        )
    })
}

/// Runs `body` in its own transaction; an error rolls the transaction back and is returned,
/// so that a bad block does not kill the worker.
fn in_transaction<R>(body: impl FnOnce() -> R + std::panic::UnwindSafe) -> Result<R, String> {
    // SAFETY: the standard transaction bracket of a background worker's main loop.
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    let result = PgTryBuilder::new(|| Ok(body()))
        .catch_others(|e| Err(error_report(&e).message().to_owned()))
        .execute();
    // SAFETY: ends the transaction started above, committing or rolling back.
    unsafe {
        if result.is_ok() {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommitTransactionCommand();
        } else {
            pg_sys::AbortCurrentTransaction();
        }
    }
    result
}
