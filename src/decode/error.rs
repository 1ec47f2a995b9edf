//! Decoding errors. Each names the event, the felt's position and the field, and says why.

use super::felt::FeltError;
use std::fmt;

/// Which array of the event a felt sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Keys,
    Data,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Keys => "keys",
            Part::Data => "data",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event name {0:?}")]
    UnknownEvent(String),
    #[error("{event}: keys is empty; keys[0] must be the selector {expected}")]
    NoSelector {
        event: &'static str,
        expected: &'static str,
    },
    #[error("{event}: keys[0] = {found} is not the selector of {event} ({expected})")]
    WrongSelector {
        event: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("{event}: {part}[{index}] ({field}) is missing: {part} has {len} felts")]
    Missing {
        event: &'static str,
        part: Part,
        index: usize,
        field: String,
        len: usize,
    },
    #[error("{event}: {part} has {len} felts, {} more than the layout's {used}", len - used)]
    Extra {
        event: &'static str,
        part: Part,
        used: usize,
        len: usize,
    },
    #[error("{event}: {part}[{index}] ({field}): {source}")]
    Felt {
        event: &'static str,
        part: Part,
        index: usize,
        field: String,
        source: FeltError,
    },
    #[error("{event}: {part}[{index}] ({field}) = {value} is out of range for {ty}")]
    OutOfRange {
        event: &'static str,
        part: Part,
        index: usize,
        field: String,
        value: String,
        ty: &'static str,
    },
    #[error("{event}: vault constructor calldata_len = {len}; expected 10 (current vaults), 9 (consolidated vaults) or 8 (early vaults)")]
    UnknownVaultGeneration { event: &'static str, len: u64 },
    #[error("{event}: bid_tree_nonce_now = 0 leaves the bid without a tree nonce")]
    ZeroTreeNonce { event: &'static str },
}
