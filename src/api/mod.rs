//! The SQL interface: thin `#[pg_extern]` wrappers over the pure modules.

mod apply;
mod decode;
mod status;
