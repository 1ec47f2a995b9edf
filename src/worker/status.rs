//! The worker's state in shared memory, for `evp_status()`.

use pgrx::{PGRXSharedMemory, PgLwLock};

/// What the worker is doing.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum WorkerState {
    NotRunning,
    Starting,
    WaitingForDatabase,
    WaitingForExtension,
    WaitingForUpdate,
    Idle,
    Applying,
    Off,
    Error,
    Stopped,
}

impl WorkerState {
    pub fn name(self) -> &'static str {
        match self {
            WorkerState::NotRunning => "not running",
            WorkerState::Starting => "starting",
            WorkerState::WaitingForDatabase => "waiting for the database evp.database",
            WorkerState::WaitingForExtension => "waiting for CREATE EXTENSION",
            WorkerState::WaitingForUpdate => "waiting for ALTER EXTENSION UPDATE",
            WorkerState::Idle => "idle",
            WorkerState::Applying => "applying",
            WorkerState::Off => "off (evp.mode)",
            WorkerState::Error => "error",
            WorkerState::Stopped => "stopped",
        }
    }
}

const ERROR_BYTES: usize = 1024;

#[derive(Copy, Clone)]
pub struct Status {
    pub pid: i32,
    pub state: WorkerState,
    /// evp.batch_size as the worker last read it (it reloads on SIGHUP).
    pub batch_size: i32,
    /// Whether the worker's next start may connect to evp.database: false after a start
    /// that tried and failed (the database does not exist), until it is seen to exist.
    database_found: bool,
    /// The database and extension (their OIDs) the counters below count for: what the worker
    /// applied and the errors it met there since the extension was created, or since the
    /// server started, whichever is later.
    serving: (u32, u32),
    pub blocks_applied: i64,
    pub events_applied: i64,
    pub errors: i64,
    error_len: usize,
    error: [u8; ERROR_BYTES],
}

// SAFETY: plain old data, no pointers.
unsafe impl PGRXSharedMemory for Status {}

impl Status {
    pub const fn new() -> Self {
        Status {
            pid: 0,
            state: WorkerState::NotRunning,
            batch_size: 0,
            database_found: true,
            serving: (0, 0),
            blocks_applied: 0,
            events_applied: 0,
            errors: 0,
            error_len: 0,
            error: [0; ERROR_BYTES],
        }
    }

    /// The last error, if any since the worker started.
    pub fn last_error(&self) -> Option<String> {
        (self.error_len > 0)
            .then(|| String::from_utf8_lossy(&self.error[..self.error_len]).into_owned())
    }
}

pub static STATUS: PgLwLock<Status> = unsafe { PgLwLock::new(c"evp_worker_status") };

pub(super) fn started(pid: i32) {
    let mut s = STATUS.exclusive();
    s.pid = pid;
    s.state = WorkerState::Starting;
}

/// Whether this start may connect to evp.database; the next one may not, unless this one
/// connects (`connected`) or sees the database exist.
pub(super) fn take_database_found() -> bool {
    std::mem::replace(&mut STATUS.exclusive().database_found, false)
}

/// evp.database exists: the worker's next start connects to it.
pub(super) fn database_found() {
    STATUS.exclusive().database_found = true;
}

/// The worker serves extension `extension` in database `database`: the counters start again
/// when either is new (the database or the extension dropped and created again).
pub(super) fn serving(database: u32, extension: u32) {
    let mut s = STATUS.exclusive();
    if s.serving != (database, extension) {
        s.serving = (database, extension);
        s.blocks_applied = 0;
        s.events_applied = 0;
        s.errors = 0;
        s.error_len = 0;
    }
}

pub(super) fn set(state: WorkerState, batch_size: i32) {
    let mut s = STATUS.exclusive();
    s.state = state;
    s.batch_size = batch_size;
}

pub(super) fn applied(blocks: i64, events: i64) {
    let mut s = STATUS.exclusive();
    s.blocks_applied += blocks;
    s.events_applied += events;
}

pub(super) fn failed(message: &str) {
    let mut s = STATUS.exclusive();
    s.state = WorkerState::Error;
    s.errors += 1;
    // Truncate on a character boundary.
    let mut end = message.len().min(ERROR_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    s.error[..end].copy_from_slice(&message.as_bytes()[..end]);
    s.error_len = end;
}
