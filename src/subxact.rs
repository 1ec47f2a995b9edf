//! Subtransactions, as PL/pgSQL's EXCEPTION blocks use them: a piece of work that happens whole
//! or leaves nothing, its error returned instead of raised (skipped events, held blocks).

use pgrx::pg_sys::panic::CaughtError;
use pgrx::pg_sys::{self, PgTryBuilder};
use std::panic::AssertUnwindSafe;

/// Runs `f` in a subtransaction: kept when it returns `Ok`; rolled back when it returns `Err`
/// or raises, the error then returned (`E` from the caught error).
pub fn attempt<T, E: From<CaughtError>>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let subxact = SubTransaction::begin();
    let result = PgTryBuilder::new(AssertUnwindSafe(f))
        .catch_others(|e| Err(E::from(e)))
        .execute();
    if result.is_ok() {
        subxact.release();
    } else {
        subxact.rollback();
    }
    result
}

/// An internal subtransaction, as PL/pgSQL uses for an EXCEPTION block.
struct SubTransaction {
    memory: pg_sys::MemoryContext,
    owner: pg_sys::ResourceOwner,
}

impl SubTransaction {
    fn begin() -> Self {
        // SAFETY: called inside a transaction; memory context and resource owner are restored
        // when the subtransaction ends.
        unsafe {
            let memory = pg_sys::CurrentMemoryContext;
            let owner = pg_sys::CurrentResourceOwner;
            pg_sys::BeginInternalSubTransaction(std::ptr::null());
            pg_sys::MemoryContextSwitchTo(memory);
            SubTransaction { memory, owner }
        }
    }

    fn release(self) {
        // SAFETY: this subtransaction is the current one.
        unsafe {
            pg_sys::ReleaseCurrentSubTransaction();
            self.restore();
        }
    }

    fn rollback(self) {
        // SAFETY: this subtransaction is the current one, possibly failed.
        unsafe {
            pg_sys::MemoryContextSwitchTo(self.memory);
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            self.restore();
        }
    }

    unsafe fn restore(&self) {
        pg_sys::MemoryContextSwitchTo(self.memory);
        pg_sys::CurrentResourceOwner = self.owner;
    }
}
