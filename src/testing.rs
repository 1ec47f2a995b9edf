//! Test support shared by the pure tests and the pgrx tests.

/// SplitMix64: small, deterministic, good enough to pick test cases.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An amount of up to 2^100 wei, often small, so that sums stay far below 2^128 (amounts
    /// above 2^128 are the scenario tests' business).
    pub fn amount(&mut self) -> u128 {
        match self.below(4) {
            0 => u128::from(self.below(1000)),
            1 => u128::from(self.next()),
            _ => (u128::from(self.next()) << 36) | u128::from(self.next()),
        }
    }
}
