//! Decoding: felt strings → typed Pitch Lake events (SPEC section 3). Pure Rust, no Postgres.

mod error;
mod event;
mod felt;
mod kind;

pub use crate::math::U256;
pub use error::{DecodeError, Part};
pub use event::{
    decode, Event, ForwardedFrom, Layout, LiquidityChange, VaultDeployment, VaultGeneration,
};
pub use felt::{normalize_address, Address, FeltError, FeltText, FIELD_PRIME};
pub use kind::Kind;

#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod tests;
