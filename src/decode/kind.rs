//! The one registry of event kinds: each kind's name, selector and, for a round event, its key
//! count. `decode_fields` (event.rs) matches on `Kind` without a catch-all and `apply_event`
//! matches on `Event` the same way, so a kind added here without its decoder, or an event
//! without its transition, does not compile.
//!
//! `keys[0]` of every event is its selector, `sn_keccak(name)`: keccak-256 of the name masked
//! to its low 250 bits. They are constants here (no hashing on the hot path); a test recomputes
//! them with a real keccak-256, and another checks `tests/event_kinds.tsv`, the copy that tests
//! and tools outside Rust read.

use super::event::Layout;

/// Declares `Kind` and its table from one list: `Name = "selector"`, with `(n)` after the name
/// of a round event that has `n` keys after its selector in the direct layout.
macro_rules! kinds {
    ($($kind:ident $(($round_keys:literal))? = $selector:literal,)*) => {
        /// An event the extension knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kind {
            $($kind,)*
        }

        impl Kind {
            /// Every kind, in the registry's order.
            pub const ALL: &'static [Kind] = &[$(Kind::$kind,)*];

            /// The event's name, as the indexer writes it in `events.event_name`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Kind::$kind => stringify!($kind),)*
                }
            }

            /// The event's selector (`keys[0]`), lower-case hex without leading zeros.
            pub fn selector(self) -> &'static str {
                match self {
                    $(Kind::$kind => $selector,)*
                }
            }

            /// For a round event (emitted by a round, so with two layouts), its key count after
            /// the selector in the direct layout; `None` for a vault event.
            fn round_keys(self) -> Option<usize> {
                match self {
                    $(Kind::$kind => kinds!(@keys $($round_keys)?),)*
                }
            }
        }
    };
    (@keys) => { None };
    (@keys $n:literal) => { Some($n) };
}

kinds! {
    Deposit = "0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2",
    Withdrawal = "0x2eed7e29b3502a726faf503ac4316b7101f3da813654e8df02c13449e03da8",
    WithdrawalQueued = "0x36a0768f9b1cc8742e7726e951a13aec0f1ee9461c6be53a80378c49299c5fb",
    StashWithdrawn = "0x14430163c5d26a17d82f2c2eda269f26b054e14a1641bb700a114b2a63bc605",
    OptionRoundDeployed = "0xd659a517d721168cbed4f7cb1abb424037bf0f34a8a22948c502429045b312",
    PricingDataSet(0) = "0x3f68cb197d4ac6576b566cd954873b6530b9eac0309487c09f9a35271533737",
    AuctionStarted(0) = "0x26a7d477600536be46a48d46dcdebf5d8c5703c5e16f6bfad368996adea83f3",
    AuctionEnded(0) = "0x369d2b1c46f2b24795aafc23c97301b1f924966a1b4fdaad2473cf4d9df23ca",
    OptionRoundSettled(0) = "0x9fadeca7092d377c750978a256f85278e6f70781e5c879baa766ca6a4db079",
    BidPlaced(1) = "0x284319dd93fe6054ee43527bfdc6c222e6b0cafdcbd3ef60c9190c70bb1d638",
    BidUpdated(1) = "0x35446d7dda93a65e80ece35b20810ab34e64178c54b8693ef635afb5c2f7ee3",
    OptionsMinted(1) = "0x1f66c9480f0238b7c61817f7e724aa3f313dac819d40d5b48a968ef27847f54",
    UnusedBidsRefunded(1) = "0x1678c5f70bd63f9239387cb96dd9fa4d6a9817a3089a0b97513f63120f92792",
    OptionsExercised(1) = "0x2d02464cd0ec035fbc5f7d9e201312f112ca0ed123ca3ae5ebd91b2364ce580",
    FossilCallbackSuccess = "0x28daf8c351269d325d0652973bd8ae38ea95c476dcc11eaf0e2495c440689cb",
    L1RequestFulfilled = "0x30c9e399edc9c4ce8745d38ea8fd2361f1aa0cf198b964d60bc49e87e193c17",
    ContractDeployed = "0x26b160f10156dea0639bec90696772c640b9706a47f5b8c52ea1abe5858b34d",
}

impl Kind {
    /// The kind an event name names; `None` for an event that is not Pitch Lake's.
    pub fn named(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Whether the event is emitted by a round (and so has two layouts).
    pub fn is_round_event(self) -> bool {
        self.round_keys().is_some()
    }

    /// Whether its transition writes every LP of the vault (SPEC 4: auction start, auction
    /// end, settlement).
    pub fn is_lp_wide(self) -> bool {
        matches!(
            self,
            Kind::AuctionStarted | Kind::AuctionEnded | Kind::OptionRoundSettled
        )
    }

    /// The layout of an event told from its key count alone (a forwarded round event has one
    /// key more). For callers that do not know the emitter, such as `evp_decode_event`.
    pub fn infer_layout<K>(self, keys: &[K]) -> Layout {
        match self.round_keys() {
            Some(direct_keys) if keys.len() == direct_keys + 2 => Layout::Forwarded,
            _ => Layout::Direct,
        }
    }
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
        for kind in Kind::ALL {
            assert_eq!(
                sn_keccak(kind.name()),
                kind.selector(),
                "selector of {kind:?}"
            );
            assert_eq!(Kind::named(kind.name()), Some(*kind));
        }
        assert_eq!(Kind::ALL.len(), 17);
        assert_eq!(Kind::named("Transfer"), None);
    }

    #[test]
    fn the_lp_wide_kinds_are_auction_start_auction_end_and_settlement() {
        let lp_wide: Vec<&str> = Kind::ALL
            .iter()
            .filter(|k| k.is_lp_wide())
            .map(|k| k.name())
            .collect();
        assert_eq!(
            lp_wide,
            ["AuctionStarted", "AuctionEnded", "OptionRoundSettled"]
        );
    }

    /// `tests/event_kinds.tsv` is the registry as tests and tools outside Rust read it: name,
    /// selector, and whether it is a round event.
    fn event_kinds_file() -> String {
        let mut file =
            String::from("# name\tselector\tround_event (generated from src/decode/kind.rs)\n");
        for kind in Kind::ALL {
            let line = format!(
                "{}\t{}\t{}\n",
                kind.name(),
                kind.selector(),
                kind.is_round_event()
            );
            file.push_str(&line);
        }
        file
    }

    const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/event_kinds.tsv");

    #[test]
    fn event_kinds_file_is_the_registry() {
        let committed = std::fs::read_to_string(FILE).unwrap_or_default();
        assert!(
            committed == event_kinds_file(),
            "{FILE} is not the registry: run `cargo test --lib write_event_kinds_file -- --ignored`"
        );
    }

    #[test]
    #[ignore = "writes tests/event_kinds.tsv"]
    fn write_event_kinds_file() {
        std::fs::write(FILE, event_kinds_file()).expect("tests/event_kinds.tsv is writable");
    }
}
