//! SPI, shared by every stage that touches tables: prepared plans cached per backend (each
//! statement is parsed and planned once), reading single values, the writers' lock, and what an
//! SPI failure means.

use crate::error::raise;
use pgrx::datum::{DatumWithOid, FromDatum, IntoDatum};
use pgrx::pg_sys::{self, PgOid};
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult, SpiTupleTable};
use std::cell::RefCell;
use std::collections::HashMap;
use std::mem::ManuallyDrop;

/// A statement parameter. Numbers travel as decimal text and are cast in the SQL (`$n::numeric`),
/// so no precision is lost between Rust and `numeric(78,0)`.
#[derive(Clone)]
pub enum Param {
    Text(Option<String>),
    TextArray(Vec<String>),
}

impl Param {
    fn oid(&self) -> PgOid {
        PgOid::from(match self {
            Param::Text(_) => pg_sys::TEXTOID,
            Param::TextArray(_) => pg_sys::TEXTARRAYOID,
        })
    }

    fn datum(&self) -> DatumWithOid<'static> {
        match self {
            Param::Text(v) => v.clone().into(),
            Param::TextArray(v) => v.clone().into(),
        }
    }
}

impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(Some(v))
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(Some(v.to_owned()))
    }
}

impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Param::Text(v)
    }
}

impl From<Vec<String>> for Param {
    fn from(v: Vec<String>) -> Self {
        Param::TextArray(v)
    }
}

thread_local! {
    // Plans live as long as the backend. ManuallyDrop: freeing SPI plans from a thread-local
    // destructor at process exit would call into a Postgres that is shutting down.
    static PLANS: RefCell<HashMap<&'static str, ManuallyDrop<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

/// The cached plan of `sql` for `params` (always the same types for the same `sql`). Every plan
/// runs with a fresh snapshot per statement (SPI's read_only = false, which pgrx gives
/// "mutating" plans): a statement after the extension's lock must see what the transaction
/// that held it committed.
fn plan(
    client: &SpiClient<'_>,
    sql: &'static str,
    params: &[Param],
) -> SpiResult<*const OwnedPreparedStatement> {
    PLANS.with(|plans| {
        let mut plans = plans.borrow_mut();
        if !plans.contains_key(sql) {
            let oids: Vec<PgOid> = params.iter().map(Param::oid).collect();
            let prepared = client.prepare_mut(sql, &oids)?.keep();
            plans.insert(sql, ManuallyDrop::new(prepared));
        }
        Ok(&**plans.get(sql).expect("inserted above") as *const OwnedPreparedStatement)
    })
}

/// Runs a cached plan of `sql`, a statement that writes, with `params`.
pub fn run<'conn>(
    client: &mut SpiClient<'conn>,
    sql: &'static str,
    params: &[Param],
) -> SpiResult<SpiTupleTable<'conn>> {
    let (plan, args) = plan_and_args(client, sql, params)?;
    client.update(plan, None, &args)
}

/// Runs a cached plan of `sql`, a statement that only reads, with `params`. Unlike `run` (pgrx's
/// `update`), it does not make the transaction take a transaction ID: a transaction that only
/// reads writes no WAL, and runs on a hot standby (`evp_status()`, the idle worker's look at
/// the queue).
pub fn read<'conn>(
    client: &SpiClient<'conn>,
    sql: &'static str,
    params: &[Param],
) -> SpiResult<SpiTupleTable<'conn>> {
    let (plan, args) = plan_and_args(client, sql, params)?;
    client.select(plan, None, &args)
}

/// The cached plan of `sql`, and `params` as its arguments.
fn plan_and_args(
    client: &SpiClient<'_>,
    sql: &'static str,
    params: &[Param],
) -> SpiResult<(&'static OwnedPreparedStatement, Vec<DatumWithOid<'static>>)> {
    let plan = plan(client, sql, params)?;
    // SAFETY: plans are never removed from the map (nor dropped), so the pointer stays valid
    // for the backend's life.
    Ok((unsafe { &*plan }, params.iter().map(Param::datum).collect()))
}

/// Runs `f` with an SPI connection: the extension's work in one call from SQL, or one batch of
/// the worker. Its statements run with `plan_cache_mode = force_generic_plan`, set as a
/// function's SET clause sets it: undone on return, or by the error's (sub)transaction
/// rollback. The plan cache would otherwise plan a
/// statement again on every call whenever its custom plan looks cheaper than the generic one
/// (array parameters, parameters that const-fold), and planning a statement of several CTEs
/// costs more than running it. Statements are written for their generic plan: each lookup a
/// step of an index, whatever the parameters (see the OFFSET 0 and scalar subqueries).
pub fn connect<R>(f: impl FnOnce(&mut SpiClient<'_>) -> R) -> R {
    // SAFETY: inside a transaction; the name and value are NUL-terminated literals, and the
    // nest level opened here is closed below (or by the abort of the transaction).
    let level = unsafe {
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"plan_cache_mode".as_ptr(),
            c"force_generic_plan".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        level
    };
    let result = Spi::connect_mut(f);
    // SAFETY: closes the nest level opened above.
    unsafe { pg_sys::AtEOXact_GUC(true, level) };
    result
}

/// Turns nested loops and JIT off for the rest of the transaction; returns the settings it
/// replaced.
const BULK_SETTINGS: &str = r#"
SELECT current_setting('enable_nestloop') AS nestloop, current_setting('jit') AS jit,
       set_config('enable_nestloop', 'off', true), set_config('jit', 'off', true)"#;
const RESTORE_SETTINGS: &str =
    "SELECT set_config('enable_nestloop', $1, true), set_config('jit', $2, true)";

/// Runs `f`, whose statement joins all of a vault's LPs to their per-round bookkeeping,
/// planned without nested loops. The apply path's tables are fresh and growing, so the
/// planner has no statistics and takes a vault's LPs for a couple of rows; its nested loop
/// then rescans them once per LP (quadratic: 45,000 rows visited for 300 LPs). A hash join is
/// linear at any size. JIT goes off too: the cost penalty of the nested loops that remain
/// (joins with one-row CTEs) would make every run compile the plan, for 300 ms. (The settings
/// are restored after; a failure rolls them back with the (sub)transaction.)
pub fn without_nested_loops<T>(
    client: &mut SpiClient<'_>,
    f: impl FnOnce(&mut SpiClient<'_>) -> T,
) -> SpiResult<T> {
    let before = run(client, BULK_SETTINGS, &[])?;
    let before = before.first();
    let nestloop = before
        .get_by_name::<String, _>("nestloop")?
        .unwrap_or_else(|| "on".to_owned());
    let jit = before
        .get_by_name::<String, _>("jit")?
        .unwrap_or_else(|| "off".to_owned());
    let result = f(client);
    run(client, RESTORE_SETTINGS, &[nestloop.into(), jit.into()])?;
    Ok(result)
}

/// The first column of the first row; `None` when the statement returned no row, or NULL.
pub fn first<T: FromDatum + IntoDatum>(table: SpiTupleTable<'_>) -> SpiResult<Option<T>> {
    match table.into_iter().next() {
        Some(row) => row.get(1),
        None => Ok(None),
    }
}

/// Runs a cached plan of a statement that only reads and returns the first column of its
/// first row (see [`first`]).
pub fn value<T: FromDatum + IntoDatum>(
    client: &SpiClient<'_>,
    sql: &'static str,
    params: &[Param],
) -> Option<T> {
    spi(read(client, sql, params).and_then(first))
}

/// pg_advisory_xact_lock key ("evp" in ASCII) that serialises every writer of the state: the
/// triggers, the SQL functions and the worker.
const LOCK_KEY: i64 = 7763568;

/// Takes the extension's lock until the transaction ends, as `pg_advisory_xact_lock(7763568)`
/// does (called directly: a statement per block would cost more than the lock); nothing may
/// touch the state tables before holding it (no double apply, no deadlock).
pub fn lock() {
    // SAFETY: a builtin taking one bigint, called inside a transaction; it returns void.
    unsafe {
        pgrx::direct_function_call_as_datum(
            pg_sys::pg_advisory_xact_lock_int8,
            &[LOCK_KEY.into_datum()],
        );
    }
}

/// Takes the extension's lock if no other transaction holds it, as
/// `pg_try_advisory_xact_lock(7763568)` does; whether it did.
pub fn try_lock() -> bool {
    // SAFETY: a builtin taking one bigint, called inside a transaction; it returns a boolean.
    let taken = unsafe {
        pgrx::direct_function_call::<bool>(
            pg_sys::pg_try_advisory_xact_lock_int8,
            &[LOCK_KEY.into_datum()],
        )
    };
    taken == Some(true)
}

/// An SPI failure here is a bug or a broken installation, not bad input.
pub fn spi<T>(r: Result<T, pgrx::spi::SpiError>) -> T {
    r.unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("SPI: {e}")))
}
