//! Felts and 256-bit integers as they appear in Starknet event keys and data.
//!
//! A felt is an element of the Stark field (values below `P = 2^251 + 17·2^192 + 1`), written by
//! the indexer as `0x…` hex in any case with optional leading zeros. Amounts are `u256` values
//! split over two felts (low, high), so one 256-bit type serves both.

use crate::math::{Uint, U256};
use std::fmt;

/// The Stark field prime `P = 2^251 + 17·2^192 + 1`.
pub const FIELD_PRIME: U256 = Uint([1, 0, 0, 0x0800_0000_0000_0011]);

/// Why a felt string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeltError {
    #[error("{0:?} does not start with 0x")]
    MissingPrefix(String),
    #[error("{0:?} has no hex digits after 0x")]
    Empty(String),
    #[error("{value:?} has a non-hex character {ch:?}")]
    NonHex { value: String, ch: char },
    #[error("{0:?} is not below the field prime P = 2^251 + 17*2^192 + 1")]
    NotInField(String),
    #[error("NULL is not a felt")]
    Null,
}

/// A felt as stored: text, or NULL (an SQL array may hold NULL elements).
pub trait FeltText {
    fn felt_text(&self) -> Option<&str>;
}

impl FeltText for String {
    fn felt_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl FeltText for Option<String> {
    fn felt_text(&self) -> Option<&str> {
        self.as_deref()
    }
}

impl U256 {
    /// Parses a hex string of at most 256 bits; whether it is a felt is the caller's check.
    fn parse_hex(s: &str) -> Result<U256, FeltError> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .ok_or_else(|| FeltError::MissingPrefix(s.to_owned()))?;
        if digits.is_empty() {
            return Err(FeltError::Empty(s.to_owned()));
        }
        if let Some(ch) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(FeltError::NonHex {
                value: s.to_owned(),
                ch,
            });
        }
        let significant = digits.trim_start_matches('0');
        if significant.len() > 64 {
            return Err(FeltError::NotInField(s.to_owned()));
        }
        let mut limbs = [0u64; 4];
        // Walk 16-digit groups from the least significant end.
        let bytes = significant.as_bytes();
        for (i, chunk) in bytes.rchunks(16).enumerate() {
            let chunk = std::str::from_utf8(chunk).expect("ascii hex digits");
            limbs[i] = u64::from_str_radix(chunk, 16).expect("validated hex digits");
        }
        Ok(Uint(limbs))
    }

    /// Parses a felt: `0x` hex, any case, leading zeros allowed, value below P.
    pub fn parse_felt(s: &str) -> Result<U256, FeltError> {
        let v = Self::parse_hex(s)?;
        if v >= FIELD_PRIME {
            return Err(FeltError::NotInField(s.to_owned()));
        }
        Ok(v)
    }

    /// `P − self`, used for negative felts; the caller guarantees `self < P`.
    fn neg_mod_p(self) -> U256 {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (d, b1) = FIELD_PRIME.0[i].overflowing_sub(self.0[i]);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            *limb = d;
            borrow = b1 || b2;
        }
        Uint(out)
    }

    /// Reads the felt as a signed integer: values above (P−1)/2 are `value − P`.
    /// Returns `None` when the magnitude does not fit in an `i128`.
    pub fn to_i128(self) -> Option<i128> {
        let half: U256 = Uint([0, 0, 0x8000_0000_0000_0000, 0x0400_0000_0000_0008]); // (P − 1) / 2
        if self <= half {
            self.to_u128().and_then(|v| i128::try_from(v).ok())
        } else {
            let magnitude = self.neg_mod_p().to_u128()?;
            0i128.checked_sub_unsigned(magnitude)
        }
    }
}

/// A contract address (or any felt shown as an identifier): normalised lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub U256);

impl Address {
    pub fn parse(s: &str) -> Result<Address, FeltError> {
        U256::parse_felt(s).map(Address)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Normalises an address or hash string (`0x` + lowercase hex, no leading zeros).
pub fn normalize_address(s: &str) -> Result<String, FeltError> {
    Address::parse(s).map(|a| a.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn felt(s: &str) -> U256 {
        U256::parse_felt(s).unwrap()
    }

    #[test]
    fn parses_any_case_and_leading_zeros() {
        assert_eq!(felt("0x0"), U256::ZERO);
        assert_eq!(
            felt("0x0000000000000000000000000000000000000000000000000000000000000000"),
            U256::ZERO
        );
        assert_eq!(felt("0xFF"), U256::from_u128(255));
        assert_eq!(felt("0X00fF"), U256::from_u128(255));
        assert_eq!(felt("0x65CB8C0F").to_string(), "1707838479");
    }

    #[test]
    fn rejects_malformed_felts_with_distinct_errors() {
        assert_eq!(
            U256::parse_felt("5"),
            Err(FeltError::MissingPrefix("5".into()))
        );
        assert_eq!(
            U256::parse_felt("-0x1"),
            Err(FeltError::MissingPrefix("-0x1".into()))
        );
        assert_eq!(U256::parse_felt("0x"), Err(FeltError::Empty("0x".into())));
        assert_eq!(
            U256::parse_felt(""),
            Err(FeltError::MissingPrefix("".into()))
        );
        assert_eq!(
            U256::parse_felt("0x5g"),
            Err(FeltError::NonHex {
                value: "0x5g".into(),
                ch: 'g'
            })
        );
        assert_eq!(
            U256::parse_felt("0x 5"),
            Err(FeltError::NonHex {
                value: "0x 5".into(),
                ch: ' '
            })
        );
        // P itself and anything above it is not a felt.
        let p = "0x800000000000011000000000000000000000000000000000000000000000001";
        assert_eq!(U256::parse_felt(p), Err(FeltError::NotInField(p.into())));
        let max = format!("0x{}", "f".repeat(64));
        assert_eq!(
            U256::parse_felt(&max),
            Err(FeltError::NotInField(max.clone()))
        );
        let too_long = format!("0x1{}", "0".repeat(64));
        assert_eq!(
            U256::parse_felt(&too_long),
            Err(FeltError::NotInField(too_long.clone()))
        );
        // P − 1 is the largest felt.
        let p_minus_1 = felt("0x800000000000011000000000000000000000000000000000000000000000000");
        assert_eq!(
            p_minus_1.to_string(),
            "3618502788666131213697322783095070105623107215331596699973092056135872020480"
        );
    }

    #[test]
    fn signed_felts() {
        assert_eq!(felt("0x14d").to_i128(), Some(333));
        assert_eq!(felt("0x0").to_i128(), Some(0));
        // Negative values are P − |v| (constants computed independently with Python).
        assert_eq!(
            felt("0x800000000000011000000000000000000000000000000000000000000000000").to_i128(),
            Some(-1)
        );
        assert_eq!(
            felt("0x800000000000010ffffffffffffffffffffffffffffffffffffffffffffe2a3").to_i128(),
            Some(-7518)
        );
        assert_eq!(
            felt("0x800000000000010ffffffffffffffff80000000000000000000000000000001").to_i128(),
            Some(i128::MIN)
        );
        assert_eq!(
            felt("0x800000000000010ffffffffffffffff80000000000000000000000000000000").to_i128(),
            None
        );
        assert_eq!(
            U256::from_u128(i128::MAX as u128).to_i128(),
            Some(i128::MAX)
        );
        assert_eq!(U256::from_u128(i128::MAX as u128 + 1).to_i128(), None);
        // (P − 1) / 2 is the largest positive value, (P − 1) / 2 + 1 the most negative; neither fits.
        assert_eq!(
            felt("0x400000000000008800000000000000000000000000000000000000000000000").to_i128(),
            None
        );
        assert_eq!(
            felt("0x400000000000008800000000000000000000000000000000000000000000001").to_i128(),
            None
        );
    }
}
