//! Fixed-width unsigned integers for exact on-chain arithmetic: `U256` for felts and uint256
//! amounts, `U512` for their products (amount · price reaches 2^512).

use std::cmp::Ordering;
use std::fmt;

/// An unsigned integer of `L` 64-bit limbs, least significant first.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uint<const L: usize>(pub(crate) [u64; L]);

pub type U256 = Uint<4>;
pub type U512 = Uint<8>;

impl<const L: usize> Default for Uint<L> {
    fn default() -> Self {
        Self::ZERO
    }
}

impl<const L: usize> Uint<L> {
    pub const ZERO: Self = Uint([0; L]);

    pub fn from_u128(v: u128) -> Self {
        let mut limbs = [0; L];
        limbs[0] = v as u64;
        limbs[1] = (v >> 64) as u64;
        Uint(limbs)
    }

    pub fn is_zero(self) -> bool {
        self == Self::ZERO
    }

    /// The value if it fits in 128 bits.
    pub fn to_u128(self) -> Option<u128> {
        self.0[2..]
            .iter()
            .all(|l| *l == 0)
            .then(|| u128::from(self.0[0]) | u128::from(self.0[1]) << 64)
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.limbwise(other, u64::overflowing_add)
    }

    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.limbwise(other, u64::overflowing_sub)
    }

    /// `op` limb by limb from the lowest, each carry (or borrow) into the next; `None` if one
    /// is left over.
    fn limbwise(self, other: Self, op: fn(u64, u64) -> (u64, bool)) -> Option<Self> {
        let mut out = [0; L];
        let mut carry = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (v, c1) = op(self.0[i], other.0[i]);
            let (v, c2) = op(v, u64::from(carry));
            *limb = v;
            carry = c1 || c2;
        }
        (!carry).then_some(Uint(out))
    }

    /// The full product, `L + M` limbs wide: it cannot overflow.
    pub fn widening_mul<const M: usize, const N: usize>(self, other: Uint<M>) -> Uint<N> {
        assert_eq!(N, L + M, "widening_mul needs an output of L + M limbs");
        let mut out = [0u64; N];
        for (i, a) in self.0.iter().enumerate() {
            let mut carry: u128 = 0;
            for (j, b) in other.0.iter().enumerate() {
                let cur = u128::from(*a) * u128::from(*b) + u128::from(out[i + j]) + carry;
                out[i + j] = cur as u64;
                carry = cur >> 64;
            }
            out[i + M] = carry as u64;
        }
        Uint(out)
    }

    /// Zero-extends to a wider integer.
    pub fn widen<const M: usize>(self) -> Uint<M> {
        assert!(M >= L, "widen cannot narrow");
        let mut out = [0u64; M];
        out[..L].copy_from_slice(&self.0);
        Uint(out)
    }

    /// Parses a decimal string, as `numeric(78,0)` columns print; `None` on anything else or
    /// on overflow.
    pub fn from_dec_str(s: &str) -> Option<Self> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut acc = Self::ZERO;
        for chunk in s.as_bytes().chunks(19) {
            let digits = std::str::from_utf8(chunk).ok()?;
            let scale = 10u64.pow(digits.len() as u32);
            acc = acc.mul_small_add(scale, digits.parse().ok()?)?;
        }
        Some(acc)
    }

    fn mul_small_add(self, factor: u64, addend: u64) -> Option<Self> {
        let mut out = [0u64; L];
        let mut carry = u128::from(addend);
        for (i, limb) in out.iter_mut().enumerate() {
            let cur = u128::from(self.0[i]) * u128::from(factor) + carry;
            *limb = cur as u64;
            carry = cur >> 64;
        }
        (carry == 0).then_some(Uint(out))
    }

    /// Divides in place by a small divisor and returns the remainder.
    fn div_rem_small(&mut self, divisor: u64) -> u64 {
        let mut rem: u128 = 0;
        for limb in self.0.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*limb);
            *limb = (cur / u128::from(divisor)) as u64;
            rem = cur % u128::from(divisor);
        }
        rem as u64
    }

    /// Normalised hex: `0x` + lowercase digits without leading zeros (`0x0` for zero).
    pub fn to_hex(self) -> String {
        let mut out = String::from("0x");
        let mut started = false;
        for limb in self.0.iter().rev() {
            if started {
                out.push_str(&format!("{limb:016x}"));
            } else if *limb != 0 {
                out.push_str(&format!("{limb:x}"));
                started = true;
            }
        }
        if !started {
            out.push('0');
        }
        out
    }
}

impl<const L: usize> Ord for Uint<L> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

impl<const L: usize> PartialOrd for Uint<L> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Decimal, as stored in `numeric(78,0)` columns.
impl<const L: usize> fmt::Display for Uint<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CHUNK: u64 = 10_000_000_000_000_000_000; // 10^19, the largest power of ten in a u64
        let mut rest = *self;
        let mut chunks = Vec::new();
        loop {
            chunks.push(rest.div_rem_small(CHUNK));
            if rest.is_zero() {
                break;
            }
        }
        let mut iter = chunks.iter().rev();
        if let Some(first) = iter.next() {
            write!(f, "{first}")?;
        }
        for chunk in iter {
            write!(f, "{chunk:019}")?;
        }
        Ok(())
    }
}

impl<const L: usize> fmt::Debug for Uint<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl<const L: usize> serde::Serialize for Uint<L> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl U256 {
    /// `low + high · 2^128`.
    pub fn from_halves(low: u128, high: u128) -> U256 {
        Uint([
            low as u64,
            (low >> 64) as u64,
            high as u64,
            (high >> 64) as u64,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_U256: &str =
        "115792089237316195423570985008687907853269984665640564039457584007913129639935";

    #[test]
    fn decimal_round_trip_at_the_edges() {
        assert_eq!(U256::ZERO.to_string(), "0");
        assert_eq!(
            U256::from_u128(u128::MAX).to_string(),
            "340282366920938463463374607431768211455"
        );
        assert_eq!(
            U256::from_halves(0, 1).to_string(),
            "340282366920938463463374607431768211456"
        );
        assert_eq!(
            U256::from_halves(u128::MAX, u128::MAX).to_string(),
            MAX_U256
        );
        assert_eq!(
            U256::from_u128(10_000_000_000_000_000_000).to_string(),
            "10000000000000000000"
        );
        assert_eq!(
            U256::from_u128(10_000_000_000_000_000_001).to_string(),
            "10000000000000000001"
        );
        for s in [
            "0",
            "1",
            "9999999999999999999",
            "10000000000000000000",
            MAX_U256,
        ] {
            assert_eq!(
                U256::from_dec_str(s).map(|v| v.to_string()),
                Some(s.to_owned())
            );
        }
        assert_eq!(
            U256::from_dec_str(
                "115792089237316195423570985008687907853269984665640564039457584007913129639936"
            ),
            None
        );
        assert_eq!(U256::from_dec_str(""), None);
        assert_eq!(U256::from_dec_str("-1"), None);
        assert_eq!(U256::from_dec_str("1.5"), None);
    }

    #[test]
    fn hex_is_normalised() {
        assert_eq!(U256::ZERO.to_hex(), "0x0");
        assert_eq!(
            U256::from_halves(1, 1).to_hex(),
            "0x100000000000000000000000000000001"
        );
    }

    #[test]
    fn add_sub_detect_overflow() {
        let max = U256::from_halves(u128::MAX, u128::MAX);
        assert_eq!(max.checked_add(U256::from_u128(1)), None);
        assert_eq!(U256::ZERO.checked_sub(U256::from_u128(1)), None);
        assert_eq!(
            U256::from_halves(0, 1).checked_sub(U256::from_u128(1)),
            Some(U256::from_u128(u128::MAX))
        );
        assert_eq!(
            U256::from_u128(u128::MAX).checked_add(U256::from_u128(1)),
            Some(U256::from_halves(0, 1))
        );
    }

    #[test]
    fn widening_mul_is_exact_up_to_2_pow_512() {
        let max = U256::from_halves(u128::MAX, u128::MAX);
        // (2^256 − 1)^2 = 2^512 − 2^257 + 1, checked with Python.
        let sq: U512 = max.widening_mul(max);
        assert_eq!(
            sq.to_string(),
            "13407807929942597099574024998205846127479365820592393377723561443721764030073315392623399665776056285720014482370779510884422601683867654778417822746804225"
        );
        let p: U512 = U256::from_u128(3).widening_mul(U256::from_halves(0, 1));
        assert_eq!(p.to_string(), "1020847100762815390390123822295304634368");
        assert!(U256::from_halves(0, 1) > U256::from_halves(u128::MAX, 0));
        assert_eq!(U256::from_u128(7).widen::<8>(), U512::from_u128(7));
    }
}
