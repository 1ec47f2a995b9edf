//! `event_processor`: Pitch Lake vault state from Starknet events, inside PostgreSQL.
//!
//! The pipeline, one folder a stage:
//! - [`decode`]: felts and event layouts → typed events (pure Rust, unit-tested without Postgres);
//! - `api`: the SQL functions, thin wrappers over the stages above;
//! - `sql/schema.sql`: the tables, NOTIFY and history triggers the extension installs.

::pgrx::pg_module_magic!(name, version);

pub mod decode;

mod api;

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
