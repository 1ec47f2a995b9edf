//! Exact arithmetic and the auction outcome. Pure Rust, no Postgres.
//!
//! LP shares (⌊x·s/S⌋ over every LP of a vault) are set-based SQL over `numeric` with `div()`
//! in `apply/statements.rs`: one statement for all LPs is what keeps a 100k-LP vault cheap.

mod auction;
mod uint;

pub use auction::{clear_auction, AuctionError, Bid, BuyerOutcome, Outcome};
pub use uint::{Uint, U256, U512};
