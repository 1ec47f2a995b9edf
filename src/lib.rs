//! `event_processor`: Pitch Lake vault state from Starknet events, inside PostgreSQL.
//!
//! The pipeline, one folder a stage:
//! - [`decode`]: felts and event layouts → typed events (pure Rust, unit-tested without Postgres);
//! - [`math`]: wide integers and the auction outcome (pure Rust);
//! - `ledger`: the block ledger (`evp.blocks`) and its rules: which block goes next, and what a
//!   block waits for;
//! - `apply`: one block's events → output tables through cached SPI plans, in the calling
//!   transaction;
//! - `journal`: reverting applied blocks from the undo journal kept by `sql/journal.sql`;
//! - `catchup`: walking the ledger's queue as its rules say: block rows, blocks without a row,
//!   late events, the indexer's `driver_events` queue, replays;
//! - `worker`: the background worker for async mode and catch-up, woken by a latch at commit;
//! - `api`: the SQL functions and trigger entry points, thin wrappers over the stages above;
//! - `spi`, `subxact`, `error`, `guc`, `version`: cached plans and SPI helpers, subtransactions,
//!   errors for SQL callers, the `evp.*` settings, the library's version against the database's
//!   extension;
//! - `feed`: the change feed's doorbell at commit (the feed is `sql/feed.sql`);
//! - `xact`: the transaction's state that the apply path, the revert and the feed share;
//! - `sql/`: the tables (`schema.sql`), the undo journal (`journal.sql`), the change feed
//!   (`feed.sql`), the triggers on the indexer's tables (`triggers.sql`), the subscriber's DDL
//!   (`replication.sql`) and the privileges (`privileges.sql`) of the install script.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

pub mod decode;
pub mod math;

mod api;
mod apply;
mod catchup;
mod error;
mod failure;
mod feed;
mod guc;
mod journal;
mod ledger;
mod spi;
mod subxact;
#[cfg(any(test, feature = "pg_test"))]
mod testing;
mod version;
mod worker;
mod xact;

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
// The notification and feed triggers' WHEN calls evp.applying(), and evp.enabled() (SQL, so
// checked when created) evp.setting(): they must exist first.
pgrx::extension_sql_file!(
    "../sql/journal.sql",
    name = "journal",
    requires = ["schema", xact::evp::applying, guc::evp::setting]
);
pgrx::extension_sql_file!("../sql/feed.sql", name = "feed", requires = ["journal"]);
pgrx::extension_sql_file!(
    "../sql/status.sql",
    name = "status",
    requires = ["feed", guc::evp::setting]
);
pgrx::extension_sql_file!(
    "../sql/replication.sql",
    name = "replication",
    requires = ["schema"]
);
pgrx::extension_sql_file!(
    "../sql/triggers.sql",
    name = "triggers",
    requires = ["journal"]
);
// Last in the install script: privileges, once every function exists; the worker's wake-up.
pgrx::extension_sql_file!("../sql/privileges.sql", name = "privileges", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::init();
    xact::init();
    worker::init();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
