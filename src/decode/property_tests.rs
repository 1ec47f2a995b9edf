//! Property tests of the decoder against SPEC section 3, written out here as the oracle: random
//! felt strings (prefixes, cases, lengths, leading zeros, stray characters, values around P)
//! against the felt rule, and random events of every name in both layouts against their
//! layouts. A valid event decodes to the values it was built from; each mutation a layout
//! forbids (another selector, a felt missing or extra, a field out of its type's range, a
//! string that is not a felt, a zero tree nonce where the nonce before is taken) is rejected;
//! nothing panics.

use super::*;
use crate::math::Uint;
use crate::testing::Rng;
use serde_json::Value;

/// P = 2^251 + 17·2^192 + 1, as 64 hex digits.
const P_HEX: &str = "0800000000000011000000000000000000000000000000000000000000000001";

/// SPEC 3's felt: `0x` (in either case) and at least one hex digit, any case, leading zeros
/// allowed, value below P. Told from the digits as text.
fn is_felt(s: &str) -> bool {
    let Some(digits) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) else {
        return false;
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let significant = digits.trim_start_matches('0').to_ascii_lowercase();
    significant.len() <= 64 && format!("{significant:0>64}").as_str() < P_HEX
}

/// The normalised form of a valid felt string.
fn normalised(s: &str) -> String {
    let significant = s[2..].trim_start_matches('0').to_ascii_lowercase();
    format!(
        "0x{}",
        if significant.is_empty() {
            "0"
        } else {
            &significant
        }
    )
}

/// Writes hex digits as an indexer might: either case, some leading zeros.
fn spell(rng: &mut Rng, hex: &str) -> String {
    let digits: String = hex
        .chars()
        .map(|c| {
            if rng.chance(30) {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    let zeros = if rng.chance(20) {
        rng.below(8) as usize
    } else {
        0
    };
    let prefix = if rng.chance(10) { "0X" } else { "0x" };
    format!("{prefix}{}{digits}", "0".repeat(zeros))
}

fn random_felt_string(rng: &mut Rng) -> String {
    const HEX: &[u8] = b"0123456789abcdefABCDEF";
    let digits: String = match rng.below(6) {
        // Around P and around the 64-digit limit.
        0 => [
            "800000000000011000000000000000000000000000000000000000000000000",
            "800000000000011000000000000000000000000000000000000000000000001",
            "800000000000011000000000000000000000000000000000000000000000002",
            "7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ][rng.below(5) as usize]
            .to_string(),
        _ => (0..rng.below(70))
            .map(|_| HEX[rng.below(HEX.len() as u64) as usize] as char)
            .collect(),
    };
    let mut s = match rng.below(12) {
        0 => digits,
        1 => format!("x{digits}"),
        2 => format!("-0x{digits}"),
        3 => format!(" 0x{digits}"),
        4 => format!("0x0x{digits}"),
        5 => format!("0X{digits}"),
        _ => format!("0x{}{digits}", "0".repeat(rng.below(4) as usize)),
    };
    if rng.chance(10) && s.len() > 2 {
        let at = 2 + rng.below((s.len() - 2) as u64) as usize;
        let stray = ['g', 'G', ' ', '_', '.', '+', 'é', '\n'][rng.below(8) as usize];
        s.insert(at, stray);
    }
    s
}

#[test]
fn felt_strings_are_felts_exactly_when_spec_says() {
    let mut rng = Rng(3);
    let (mut valid, mut invalid) = (0, 0);
    for _ in 0..20_000 {
        let s = random_felt_string(&mut rng);
        let parsed = U256::parse_felt(&s);
        assert_eq!(parsed.is_ok(), is_felt(&s), "{s:?}: {parsed:?}");
        match parsed {
            Ok(v) => {
                assert_eq!(v.to_hex(), normalised(&s), "{s:?}");
                valid += 1;
            }
            Err(_) => invalid += 1,
        }
    }
    assert!(
        valid > 5_000 && invalid > 5_000,
        "{valid} valid, {invalid} invalid"
    );
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldType {
    Felt,
    U64,
    U128,
    /// A u256: two felts, low then high.
    Wide,
    I128,
}
use FieldType::*;

/// SPEC 3's layouts (direct; a forwarded round event adds the key round_id and the data felt
/// round_address): keys after the selector, then data.
type Fields = &'static [(&'static str, FieldType)];
const LAYOUTS: &[(&str, Fields, Fields)] = &[
    ("Deposit", &[("account", Felt)], LIQUIDITY),
    ("Withdrawal", &[("account", Felt)], LIQUIDITY),
    (
        "WithdrawalQueued",
        &[("account", Felt)],
        &[
            ("bps", U128),
            ("round_id", U64),
            ("account_queued_liquidity_before", Wide),
            ("account_queued_liquidity_now", Wide),
            ("vault_queued_liquidity_now", Wide),
        ],
    ),
    (
        "StashWithdrawn",
        &[("account", Felt)],
        &[("amount", Wide), ("vault_stashed_balance_now", Wide)],
    ),
    (
        "OptionRoundDeployed",
        &[],
        &[
            ("round_id", U64),
            ("address", Felt),
            ("auction_start_date", U64),
            ("auction_end_date", U64),
            ("option_settlement_date", U64),
            ("strike_price", Wide),
            ("cap_level", U128),
            ("reserve_price", Wide),
        ],
    ),
    (
        "FossilCallbackSuccess",
        &[],
        &[
            ("twap", Wide),
            ("max_return", U128),
            ("reserve_price", Wide),
            ("timestamp", U64),
        ],
    ),
    ("L1RequestFulfilled", &[("id", Felt), ("caller", Felt)], &[]),
    (
        "PricingDataSet",
        &[],
        &[
            ("strike_price", Wide),
            ("cap_level", U128),
            ("reserve_price", Wide),
        ],
    ),
    (
        "AuctionStarted",
        &[],
        &[("starting_liquidity", Wide), ("options_available", Wide)],
    ),
    (
        "AuctionEnded",
        &[],
        &[
            ("options_sold", Wide),
            ("clearing_price", Wide),
            ("unsold_liquidity", Wide),
            ("clearing_bid_tree_nonce", U64),
        ],
    ),
    (
        "OptionRoundSettled",
        &[],
        &[("settlement_price", Wide), ("payout_per_option", Wide)],
    ),
    (
        "BidPlaced",
        &[("account", Felt)],
        &[
            ("bid_id", Felt),
            ("amount", Wide),
            ("price", Wide),
            ("bid_tree_nonce_now", U64),
        ],
    ),
    (
        "BidUpdated",
        &[("account", Felt)],
        &[
            ("bid_id", Felt),
            ("price_increase", Wide),
            ("bid_tree_nonce_before", U64),
            ("bid_tree_nonce_now", U64),
        ],
    ),
    (
        "OptionsMinted",
        &[("account", Felt)],
        &[("minted_amount", Wide)],
    ),
    (
        "UnusedBidsRefunded",
        &[("account", Felt)],
        &[("refunded_amount", Wide)],
    ),
    (
        "OptionsExercised",
        &[("account", Felt)],
        &[
            ("total_options_exercised", Wide),
            ("mintable_options_exercised", Wide),
            ("exercised_amount", Wide),
        ],
    ),
];
const LIQUIDITY: Fields = &[
    ("amount", Wide),
    ("account_unlocked_balance_now", Wide),
    ("vault_unlocked_balance_now", Wide),
];
/// ContractDeployed's calldata after calldata_len, by its length: current and consolidated vaults.
const CURRENT_VAULT: Fields = &[
    ("fossil_client_address", Felt),
    ("eth_address", Felt),
    ("option_round_class_hash", Felt),
    ("alpha", U128),
    ("strike_level", I128),
    ("round_transition_period", U64),
    ("auction_duration", U64),
    ("round_duration", U64),
    ("program_id", Felt),
    ("proving_delay", U64),
];
const CONSOLIDATED_VAULT: Fields = &[
    ("fossil_client_address", Felt),
    ("eth_address", Felt),
    ("option_round_class_hash", Felt),
    ("alpha", U128),
    ("strike_level", I128),
    ("minimum_cap_level", U128),
    ("round_transition_period", U64),
    ("auction_duration", U64),
    ("round_duration", U64),
];

/// A field's felts and the decimal or hex form the decoder reports it in.
struct Field {
    name: &'static str,
    kind: FieldType,
    felts: Vec<String>,
    reported: String,
}

fn random_u128(rng: &mut Rng, bits: u32) -> u128 {
    let v = (u128::from(rng.next()) << 64) | u128::from(rng.next());
    match rng.below(5) {
        0 => 0,
        1 => (1u128 << (bits - 1)) - 1 + (1u128 << (bits - 1)), // the type's largest
        // At most `bits` bits, often fewer.
        _ => v >> (127 - rng.below(u64::from(bits)) as u32),
    }
}

fn field(rng: &mut Rng, name: &'static str, kind: FieldType) -> Field {
    let (felts, reported) = match kind {
        Felt => {
            // Below P: at most 251 bits.
            let v = Uint([
                rng.next(),
                rng.next(),
                rng.next(),
                rng.next() >> (5 + rng.below(59)),
            ]);
            (vec![spell(rng, &v.to_hex()[2..])], v.to_hex())
        }
        U64 => {
            let v = random_u128(rng, 64) as u64;
            (vec![spell(rng, &format!("{v:x}"))], v.to_string())
        }
        U128 => {
            let v = random_u128(rng, 128);
            (vec![spell(rng, &format!("{v:x}"))], v.to_string())
        }
        Wide => {
            let (low, high) = (random_u128(rng, 128), random_u128(rng, 128));
            (
                vec![
                    spell(rng, &format!("{low:x}")),
                    spell(rng, &format!("{high:x}")),
                ],
                U256::from_halves(low, high).to_string(),
            )
        }
        I128 => {
            let v = random_u128(rng, 127) as i128 * if rng.chance(50) { -1 } else { 1 };
            let felt = if v < 0 {
                FIELD_PRIME
                    .checked_sub(U256::from_u128(v.unsigned_abs()))
                    .expect("below P")
            } else {
                U256::from_u128(v as u128)
            };
            (vec![spell(rng, &felt.to_hex()[2..])], v.to_string())
        }
    };
    Field {
        name,
        kind,
        felts,
        reported,
    }
}

/// A valid event: its keys (selector first), data and fields, in the layout asked for.
struct Built {
    name: &'static str,
    layout: Layout,
    keys: Vec<Field>,
    data: Vec<Field>,
}

impl Built {
    fn keys(&self) -> Vec<String> {
        std::iter::once(
            super::Kind::named(self.name)
                .expect("a known event")
                .selector()
                .to_owned(),
        )
        .chain(self.keys.iter().flat_map(|f| f.felts.clone()))
        .collect()
    }

    fn data(&self) -> Vec<String> {
        self.data.iter().flat_map(|f| f.felts.clone()).collect()
    }
}

fn build(rng: &mut Rng, name: &'static str, keys: Fields, data: Fields, layout: Layout) -> Built {
    let mut built = Built {
        name,
        layout,
        keys: keys.iter().map(|&(n, k)| field(rng, n, k)).collect(),
        data: data.iter().map(|&(n, k)| field(rng, n, k)).collect(),
    };
    if layout == Layout::Forwarded {
        built.keys.push(field(rng, "round_id", U64));
        built.data.push(field(rng, "round_address", Felt));
    }
    // The tree nonce before BidPlaced's (and a direct BidUpdated's) is taken: nonce now ≥ 1.
    for f in &mut built.data {
        if f.name == "bid_tree_nonce_now" && f.reported == "0" {
            *f = Field {
                name: f.name,
                kind: U64,
                felts: vec!["0x1".into()],
                reported: "1".into(),
            };
        }
    }
    built
}

fn build_contract_deployed(rng: &mut Rng) -> Built {
    let calldata = if rng.chance(50) {
        CURRENT_VAULT
    } else {
        CONSOLIDATED_VAULT
    };
    let mut data: Vec<Field> = ["address", "deployer", "unique", "class_hash"]
        .iter()
        .map(|n| field(rng, n, Felt))
        .collect();
    let len = calldata.len().to_string();
    data.push(Field {
        name: "calldata_len",
        kind: U64,
        felts: vec![format!("0x{:x}", calldata.len())],
        reported: len,
    });
    data.extend(calldata.iter().map(|&(n, k)| field(rng, n, k)));
    data.push(field(rng, "salt", Felt));
    Built {
        name: "ContractDeployed",
        layout: Layout::Direct,
        keys: vec![],
        data,
    }
}

fn is_ok(b: &Built, keys: &[String], data: &[String]) -> bool {
    decode(b.name, keys, data, b.layout).is_ok()
}

/// Every field of a valid event is reported as built (the derived tree_nonce aside).
fn check_values(b: &Built) {
    let decoded = decode(b.name, &b.keys(), &b.data(), b.layout)
        .unwrap_or_else(|e| panic!("{} {:?} did not decode: {e}", b.name, b.layout));
    let json = serde_json::to_value(&decoded).expect("serialisable");
    if b.name == "ContractDeployed" {
        return;
    }
    for f in b.keys.iter().chain(&b.data) {
        assert_eq!(
            json.get(f.name),
            Some(&Value::String(f.reported.clone())),
            "{} {:?} {}",
            b.name,
            b.layout,
            f.name
        );
    }
}

/// The mutations SPEC 3 forbids, each of which must be rejected.
fn check_mutations(rng: &mut Rng, b: &Built) {
    let (keys, data) = (b.keys(), b.data());
    let what = format!("{} {:?}", b.name, b.layout);
    // Another event's selector.
    let all = super::Kind::ALL;
    let other =
        all[(all.iter().position(|k| k.name() == b.name).unwrap() + 1) % all.len()].selector();
    let mut k = keys.clone();
    k[0] = other.to_owned();
    assert!(!is_ok(b, &k, &data), "{what}: another selector");
    // A felt missing.
    if keys.len() > 1 {
        assert!(
            !is_ok(b, &keys[..keys.len() - 1], &data),
            "{what}: a key missing"
        );
    }
    if !data.is_empty() && b.name != "ContractDeployed" {
        assert!(
            !is_ok(b, &keys, &data[..data.len() - 1]),
            "{what}: a data felt missing"
        );
    }
    if b.name == "ContractDeployed" {
        // Up to the calldata's end every felt is read; only what follows (the salt) may go.
        let without_salt = &data[..data.len() - 1];
        assert!(is_ok(b, &keys, without_salt), "{what}: without the salt");
        assert!(
            !is_ok(b, &keys, &without_salt[..without_salt.len() - 1]),
            "{what}: calldata cut short"
        );
    }
    // A felt extra, where the layout is fixed.
    let mut k = keys.clone();
    k.push("0x1".into());
    assert!(!is_ok(b, &k, &data), "{what}: an extra key");
    if b.name != "ContractDeployed" {
        let mut d = data.clone();
        d.push("0x1".into());
        assert!(!is_ok(b, &keys, &d), "{what}: an extra data felt");
    }
    // A field out of its type's range, or a felt that is not one.
    let fields: Vec<(bool, usize, &Field)> = {
        let (mut at_key, mut at_data) = (1, 0);
        let mut out = vec![];
        for f in &b.keys {
            out.push((true, at_key, f));
            at_key += f.felts.len();
        }
        for f in &b.data {
            out.push((false, at_data, f));
            at_data += f.felts.len();
        }
        out
    };
    // (ContractDeployed's salt is not the decoder's to check: SPEC 3 reads it by position.)
    let fields: Vec<_> = fields
        .into_iter()
        .filter(|(_, _, f)| f.name != "salt")
        .collect();
    let (in_keys, at, f) = fields[rng.below(fields.len() as u64) as usize];
    let high_half = usize::from(f.kind == Wide && rng.chance(50));
    let replace = |felt: &str| {
        let (mut k, mut d) = (keys.clone(), data.clone());
        let target = if in_keys { &mut k } else { &mut d };
        target[at + high_half] = felt.to_owned();
        (k, d)
    };
    let too_big = match f.kind {
        U64 => Some("0x10000000000000000"),
        U128 | Wide => Some("0x100000000000000000000000000000000"),
        I128 => Some("0x100000000000000000000000000000000000000000000000000"),
        Felt => None,
    };
    if let Some(big) = too_big {
        let (k, d) = replace(big);
        assert!(!is_ok(b, &k, &d), "{what}: {} = {big}", f.name);
    }
    let (k, d) = replace(P_HEX);
    assert!(!is_ok(b, &k, &d), "{what}: {} = P", f.name);
    let bad = loop {
        let s = random_felt_string(rng);
        if !is_felt(&s) {
            break s;
        }
    };
    let (k, d) = replace(&bad);
    assert!(!is_ok(b, &k, &d), "{what}: {} = {bad:?}", f.name);
}

#[test]
fn events_decode_exactly_as_their_layouts_say() {
    let mut rng = Rng(11);
    let mut checked = 0;
    for _ in 0..300 {
        for &(name, keys, data) in LAYOUTS {
            let layouts: &[Layout] = if super::Kind::named(name).unwrap().is_round_event() {
                &[Layout::Direct, Layout::Forwarded]
            } else {
                &[Layout::Direct]
            };
            for &layout in layouts {
                let b = build(&mut rng, name, keys, data, layout);
                check_values(&b);
                check_mutations(&mut rng, &b);
                checked += 1;
            }
        }
        let b = build_contract_deployed(&mut rng);
        check_values(&b);
        check_mutations(&mut rng, &b);
        checked += 1;
    }
    assert_eq!(checked, 300 * (LAYOUTS.len() + 9 + 1));
}

#[test]
fn a_zero_tree_nonce_is_rejected_where_the_nonce_before_is_taken() {
    let mut rng = Rng(5);
    for (name, layout, ok) in [
        ("BidPlaced", Layout::Direct, false),
        ("BidPlaced", Layout::Forwarded, false),
        ("BidUpdated", Layout::Direct, false),
        ("BidUpdated", Layout::Forwarded, true),
    ] {
        let &(_, keys, data) = LAYOUTS.iter().find(|(n, ..)| *n == name).unwrap();
        let mut b = build(&mut rng, name, keys, data, layout);
        let f = b
            .data
            .iter_mut()
            .find(|f| f.name == "bid_tree_nonce_now")
            .unwrap();
        f.felts = vec!["0x0".into()];
        assert_eq!(is_ok(&b, &b.keys(), &b.data()), ok, "{name} {layout:?}");
    }
}
