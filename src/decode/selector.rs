//! Event selectors: `keys[0]` of every event is `sn_keccak(name)`, keccak-256 of the event name
//! masked to its low 250 bits. They are constants here (no hashing on the hot path): eleven as
//! SPEC section 3 prints them, the other six computed; a test recomputes all of them with a real
//! keccak-256.

/// Every event the extension knows, with its selector.
pub const SELECTORS: &[(&str, &str)] = &[
    (
        "Deposit",
        "0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2",
    ),
    (
        "Withdrawal",
        "0x2eed7e29b3502a726faf503ac4316b7101f3da813654e8df02c13449e03da8",
    ),
    (
        "WithdrawalQueued",
        "0x36a0768f9b1cc8742e7726e951a13aec0f1ee9461c6be53a80378c49299c5fb",
    ),
    (
        "StashWithdrawn",
        "0x14430163c5d26a17d82f2c2eda269f26b054e14a1641bb700a114b2a63bc605",
    ),
    (
        "OptionRoundDeployed",
        "0xd659a517d721168cbed4f7cb1abb424037bf0f34a8a22948c502429045b312",
    ),
    (
        "PricingDataSet",
        "0x3f68cb197d4ac6576b566cd954873b6530b9eac0309487c09f9a35271533737",
    ),
    (
        "AuctionStarted",
        "0x26a7d477600536be46a48d46dcdebf5d8c5703c5e16f6bfad368996adea83f3",
    ),
    (
        "AuctionEnded",
        "0x369d2b1c46f2b24795aafc23c97301b1f924966a1b4fdaad2473cf4d9df23ca",
    ),
    (
        "OptionRoundSettled",
        "0x9fadeca7092d377c750978a256f85278e6f70781e5c879baa766ca6a4db079",
    ),
    (
        "BidPlaced",
        "0x284319dd93fe6054ee43527bfdc6c222e6b0cafdcbd3ef60c9190c70bb1d638",
    ),
    (
        "BidUpdated",
        "0x35446d7dda93a65e80ece35b20810ab34e64178c54b8693ef635afb5c2f7ee3",
    ),
    (
        "OptionsMinted",
        "0x1f66c9480f0238b7c61817f7e724aa3f313dac819d40d5b48a968ef27847f54",
    ),
    (
        "UnusedBidsRefunded",
        "0x1678c5f70bd63f9239387cb96dd9fa4d6a9817a3089a0b97513f63120f92792",
    ),
    (
        "OptionsExercised",
        "0x2d02464cd0ec035fbc5f7d9e201312f112ca0ed123ca3ae5ebd91b2364ce580",
    ),
    (
        "FossilCallbackSuccess",
        "0x28daf8c351269d325d0652973bd8ae38ea95c476dcc11eaf0e2495c440689cb",
    ),
    (
        "L1RequestFulfilled",
        "0x30c9e399edc9c4ce8745d38ea8fd2361f1aa0cf198b964d60bc49e87e193c17",
    ),
    (
        "ContractDeployed",
        "0x26b160f10156dea0639bec90696772c640b9706a47f5b8c52ea1abe5858b34d",
    ),
];

/// The selector of a known event name.
pub fn selector_of(name: &str) -> Option<&'static str> {
    SELECTORS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_keccak::{Hasher, Keccak};

    fn sn_keccak(name: &str) -> String {
        let mut out = [0u8; 32];
        let mut k = Keccak::v256();
        k.update(name.as_bytes());
        k.finalize(&mut out);
        out[0] &= 0x03; // keep the low 250 bits
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        format!("0x{}", hex.trim_start_matches('0'))
    }

    #[test]
    fn every_selector_is_sn_keccak_of_its_name() {
        for (name, selector) in SELECTORS {
            assert_eq!(&sn_keccak(name), selector, "selector of {name}");
        }
        assert_eq!(SELECTORS.len(), 17);
        assert_eq!(selector_of("Transfer"), None);
    }
}
