//! Prepared SPI plans, cached per backend: each statement is parsed and planned once.

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::{self, PgOid};
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult, SpiTupleTable};
use std::cell::RefCell;
use std::collections::HashMap;
use std::mem::ManuallyDrop;

/// A statement parameter. Numbers travel as decimal text and are cast in the SQL (`$n::numeric`),
/// so no precision is lost between Rust and `numeric(78,0)`.
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

/// Runs a cached plan of `sql` with `params` (always the same types for the same `sql`).
pub fn run<'conn>(
    client: &mut SpiClient<'conn>,
    sql: &'static str,
    params: &[Param],
) -> SpiResult<SpiTupleTable<'conn>> {
    let plan = PLANS.with(|plans| -> SpiResult<*const OwnedPreparedStatement> {
        let mut plans = plans.borrow_mut();
        if !plans.contains_key(sql) {
            let oids: Vec<PgOid> = params.iter().map(Param::oid).collect();
            let prepared = client.prepare_mut(sql, &oids)?.keep();
            plans.insert(sql, ManuallyDrop::new(prepared));
        }
        Ok(&**plans.get(sql).expect("inserted above") as *const OwnedPreparedStatement)
    })?;
    let args: Vec<DatumWithOid> = params.iter().map(Param::datum).collect();
    // SAFETY: plans are never removed from the map, so the pointer stays valid.
    client.update(unsafe { &*plan }, None, &args)
}
