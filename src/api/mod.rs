//! The SQL interface: thin `#[pg_extern]` wrappers over the pure modules.

mod apply;
#[cfg(any(test, feature = "pg_test"))]
mod boundary_tests;
mod decode;
mod status;
