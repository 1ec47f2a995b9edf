//! Every event in both layouts with realistic values, and every malformed case.

use super::*;
use serde_json::json;

const VAULT: &str = "0x18a456a0eb7e20b7688276559b2268cffa19cc0b06fc5538ce2aef88c6ce80a";
const ROUND: &str = "0x38ecb3676fc20083d9a0b4c9052b268157cc6c3f33279233f95a1085dd6bb1";
const ALICE: &str = "0x10e9b14150d48f07d3650f71e6267caacdffcfcdf453dc9568fb4dbe3c39071";

/// A value above 2^255: high half 2^127 + 5, low half 7.
const HUGE_LOW: &str = "0x7";
const HUGE_HIGH: &str = "0x80000000000000000000000000000005";
const HUGE: &str = "57896044618658097711785492504343953928336404167424974337045665041115405877255";
/// A value just above 2^128: high 1, low 3.
const WIDE: &str = "340282366920938463463374607431768211459";

fn sel(name: &str) -> String {
    Kind::named(name).unwrap().selector().to_owned()
}

fn keys(name: &str, rest: &[&str]) -> Vec<String> {
    std::iter::once(sel(name))
        .chain(rest.iter().map(|s| s.to_string()))
        .collect()
}

fn data(felts: &[&str]) -> Vec<String> {
    felts.iter().map(|s| s.to_string()).collect()
}

fn json_of(name: &str, keys: &[String], data: &[String], layout: Layout) -> serde_json::Value {
    serde_json::to_value(decode(name, keys, data, layout).unwrap()).unwrap()
}

#[test]
fn deposit_and_withdrawal() {
    for name in ["Deposit", "Withdrawal"] {
        // Upper case and zero padding must be accepted and normalised.
        let k = keys(
            name,
            &["0x0010E9B14150D48F07D3650F71E6267CAACDFFCFCDF453DC9568FB4DBE3C39071"],
        );
        let d = data(&["0x5", "0x0", HUGE_LOW, HUGE_HIGH, "0x3", "0x1"]);
        assert_eq!(
            json_of(name, &k, &d, Layout::Direct),
            json!({"event": name, "account": ALICE, "amount": "5",
                   "account_unlocked_balance_now": HUGE, "vault_unlocked_balance_now": WIDE})
        );
    }
}

#[test]
fn withdrawal_queued() {
    let k = keys("WithdrawalQueued", &[ALICE]);
    let d = data(&["0x2710", "0x3", "0x10", "0x0", "0x0", "0x0", "0x3", "0x1"]);
    assert_eq!(
        json_of("WithdrawalQueued", &k, &d, Layout::Direct),
        json!({"event": "WithdrawalQueued", "account": ALICE, "bps": "10000", "round_id": "3",
               "account_queued_liquidity_before": "16", "account_queued_liquidity_now": "0",
               "vault_queued_liquidity_now": WIDE})
    );
}

#[test]
fn stash_withdrawn() {
    let k = keys("StashWithdrawn", &[ALICE]);
    let d = data(&["0x3", "0x1", "0x0", "0x0"]);
    assert_eq!(
        json_of("StashWithdrawn", &k, &d, Layout::Direct),
        json!({"event": "StashWithdrawn", "account": ALICE, "amount": WIDE, "vault_stashed_balance_now": "0"})
    );
}

#[test]
fn option_round_deployed() {
    // From the forwarded-reorgs fixture, block 606360.
    let k = keys("OptionRoundDeployed", &[]);
    let d = data(&[
        "0x01",
        ROUND,
        "0x00065cb88b2",
        "0x65cb8a9e",
        "0x65CB8C0F",
        "0x0",
        "0x0",
        "0x0000000000000000000000000000000000000000000000000000000000000000",
        "0x00",
        "0x0",
    ]);
    assert_eq!(
        json_of("OptionRoundDeployed", &k, &d, Layout::Direct),
        json!({"event": "OptionRoundDeployed", "round_id": "1", "address": ROUND,
               "auction_start_date": "1707837618", "auction_end_date": "1707838110",
               "option_settlement_date": "1707838479", "strike_price": "0", "cap_level": "0",
               "reserve_price": "0"})
    );
}

#[test]
fn fossil_callback_and_l1_request() {
    let d = data(&[
        "0x3b9aca00",
        "0x0",
        "0x1388",
        "0xffffffffffffffffffffffffffffffff",
        "0x0",
        "0x65cb8a9e",
    ]);
    assert_eq!(
        json_of(
            "FossilCallbackSuccess",
            &keys("FossilCallbackSuccess", &[]),
            &d,
            Layout::Direct
        ),
        json!({"event": "FossilCallbackSuccess", "twap": "1000000000", "max_return": "5000",
               "reserve_price": "340282366920938463463374607431768211455", "timestamp": "1707838110"})
    );
    let k = keys("L1RequestFulfilled", &["0x0ABC", ALICE]);
    assert_eq!(
        json_of("L1RequestFulfilled", &k, &data(&[]), Layout::Direct),
        json!({"event": "L1RequestFulfilled", "id": "0xabc", "caller": ALICE})
    );
}

/// `ContractDeployed` of a current vault (calldata_len 10), taken from the forwarded-reorgs
/// fixture, with the salt after the calldata.
#[test]
fn contract_deployed_current_vault() {
    let k = keys("ContractDeployed", &[]);
    let d = data(&[
        VAULT,
        "0x49afb980830b05710e2007515850b47f4247b1d0185ca2fdf7f1b33aef701e9",
        "0x1",
        "0x689ac82d6ace48b7138770ae02e56cab3bf8c53f233818f88c0a391588414e7",
        "0xa",
        "0x19b5d0ccae5384eeca615032dc7f552af8e80a223ebbd09a3393fc5cacfdbc7",
        "0x2de90dbec89b7a68a0ac984f71ab247e88b759131db6e32d8dcb35f94c662ce",
        "0x3af5a29cf2b74cf9afe43edc6443e5e9c2086e1b4aa5c88ad02f17e1e6e6653",
        "0x9c4",
        "0x014d",
        "0x124",
        "0x1ec",
        "0x171",
        "0x50495443485f4c414b455f5631",
        "0x0000000000000000000000000000000000000000000000000000000000000007",
        "0x13b7b9deff03cf747b5a88d173376b253dbf073d312896fadd72a334756f35d",
    ]);
    assert_eq!(
        json_of("ContractDeployed", &k, &d, Layout::Direct),
        json!({"event": "ContractDeployed", "address": VAULT,
               "deployer": "0x49afb980830b05710e2007515850b47f4247b1d0185ca2fdf7f1b33aef701e9",
               "class_hash": "0x689ac82d6ace48b7138770ae02e56cab3bf8c53f233818f88c0a391588414e7",
               "generation": "current",
               "fossil_client_address": "0x19b5d0ccae5384eeca615032dc7f552af8e80a223ebbd09a3393fc5cacfdbc7",
               "eth_address": "0x2de90dbec89b7a68a0ac984f71ab247e88b759131db6e32d8dcb35f94c662ce",
               "option_round_class_hash": "0x3af5a29cf2b74cf9afe43edc6443e5e9c2086e1b4aa5c88ad02f17e1e6e6653",
               "alpha": "2500", "strike_level": "333", "minimum_cap_level": null,
               "round_transition_period": "292", "auction_duration": "492", "round_duration": "369",
               "program_id": "0x50495443485f4c414b455f5631", "proving_delay": "7"})
    );
}

/// An early vault (calldata_len 8): no minimum cap level, program id or proving delay.
#[test]
fn contract_deployed_early_vault() {
    let k = keys("ContractDeployed", &[]);
    let d = data(&[
        VAULT, "0x1", "0x0", "0x2", "0x8", "0x3", "0x4", "0x5", "0x2710", "0x0", "0x3e8", "0x64",
        "0xc8", "0x5a17",
    ]);
    let Event::ContractDeployed(v) = decode("ContractDeployed", &k, &d, Layout::Direct).unwrap()
    else {
        panic!("not a ContractDeployed");
    };
    assert_eq!(v.generation, VaultGeneration::Early);
    assert_eq!(v.fossil_client_address.to_string(), "0x3");
    assert_eq!(
        (v.alpha, v.strike_level, v.minimum_cap_level),
        (10000, 0, None)
    );
    assert_eq!(
        (
            v.round_transition_period,
            v.auction_duration,
            v.round_duration
        ),
        (1000, 100, 200)
    );
    assert_eq!((v.program_id, v.proving_delay), (None, None));
}

/// A consolidated-generation vault (calldata_len 9) with a negative strike level.
#[test]
fn contract_deployed_consolidated_vault() {
    let k = keys("ContractDeployed", &[]);
    let d = data(&[
        VAULT,
        "0x1",
        "0x0",
        "0x2",
        "0x9",
        "0x3",
        "0x4",
        "0x5",
        "0x1950",
        "0x800000000000010ffffffffffffffffffffffffffffffffffffffffffffe2a3",
        "0x3e8",
        "0x64",
        "0xc8",
        "0x12c",
    ]);
    let Event::ContractDeployed(v) = decode("ContractDeployed", &k, &d, Layout::Direct).unwrap()
    else {
        panic!("not a ContractDeployed");
    };
    assert_eq!(v.generation, VaultGeneration::Consolidated);
    assert_eq!(v.fossil_client_address.to_string(), "0x3");
    assert_eq!(
        (v.alpha, v.strike_level, v.minimum_cap_level),
        (6480, -7518, Some(1000))
    );
    assert_eq!(
        (
            v.round_transition_period,
            v.auction_duration,
            v.round_duration
        ),
        (100, 200, 300)
    );
    assert_eq!((v.program_id, v.proving_delay), (None, None));
}

/// Direct and forwarded layouts of every round event: the forwarded one has the round id as an
/// extra last key and the round address as an extra last data felt.
#[test]
fn round_events_in_both_layouts() {
    let cases: Vec<(&str, Vec<&str>, Vec<&str>, serde_json::Value)> = vec![
        (
            "PricingDataSet",
            vec![],
            vec!["0x3b9aca00", "0x0", "0x1388", HUGE_LOW, HUGE_HIGH],
            json!({"strike_price": "1000000000", "cap_level": "5000", "reserve_price": HUGE}),
        ),
        (
            "AuctionStarted",
            vec![],
            vec![HUGE_LOW, HUGE_HIGH, "0x3", "0x1"],
            json!({"starting_liquidity": HUGE, "options_available": WIDE}),
        ),
        (
            "AuctionEnded",
            vec![],
            vec!["0x64", "0x0", "0x3", "0x1", "0x0", "0x0", "0x4"],
            json!({"options_sold": "100", "clearing_price": WIDE, "unsold_liquidity": "0",
                   "clearing_bid_tree_nonce": "4"}),
        ),
        (
            "OptionRoundSettled",
            vec![],
            vec!["0x2540be400", "0x0", "0x0", "0x0"],
            json!({"settlement_price": "10000000000", "payout_per_option": "0"}),
        ),
        (
            "OptionsMinted",
            vec![ALICE],
            vec!["0x3", "0x1"],
            json!({"account": ALICE, "minted_amount": WIDE}),
        ),
        (
            "UnusedBidsRefunded",
            vec![ALICE],
            vec![HUGE_LOW, HUGE_HIGH],
            json!({"account": ALICE, "refunded_amount": HUGE}),
        ),
        (
            "OptionsExercised",
            vec![ALICE],
            vec!["0xa", "0x0", "0x4", "0x0", HUGE_LOW, HUGE_HIGH],
            json!({"account": ALICE, "total_options_exercised": "10", "mintable_options_exercised": "4",
                   "exercised_amount": HUGE}),
        ),
    ];
    for (name, k, d, fields) in cases {
        let mut expected = fields.as_object().unwrap().clone();
        expected.insert("event".into(), json!(name));
        let direct = json_of(name, &keys(name, &k), &data(&d), Layout::Direct);
        assert_eq!(
            direct,
            serde_json::Value::Object(expected.clone()),
            "{name} direct"
        );

        let mut fk = k.clone();
        fk.push("0x3");
        let mut fd = d.clone();
        fd.push("0x0038ECB3676FC20083D9A0B4C9052B268157CC6C3F33279233F95A1085DD6BB1");
        expected.insert("round_id".into(), json!("3"));
        expected.insert("round_address".into(), json!(ROUND));
        let forwarded = json_of(name, &keys(name, &fk), &data(&fd), Layout::Forwarded);
        assert_eq!(
            forwarded,
            serde_json::Value::Object(expected),
            "{name} forwarded"
        );
        assert_eq!(
            Kind::named(name).unwrap().infer_layout(&keys(name, &fk)),
            Layout::Forwarded,
            "{name}"
        );
        assert_eq!(
            Kind::named(name).unwrap().infer_layout(&keys(name, &k)),
            Layout::Direct,
            "{name}"
        );
        assert!(Kind::named(name).unwrap().is_round_event());
    }
}

#[test]
fn bid_tree_nonces_in_both_layouts() {
    let placed = data(&["0xB1D", "0x5", "0x0", "0x3b9aca00", "0x0", "0x7"]);
    for (layout, k) in [
        (Layout::Direct, keys("BidPlaced", &[ALICE])),
        (Layout::Forwarded, keys("BidPlaced", &[ALICE, "0x2"])),
    ] {
        let mut d = placed.clone();
        if layout == Layout::Forwarded {
            d.push(ROUND.into());
        }
        let Event::BidPlaced {
            bid_id,
            amount,
            price,
            bid_tree_nonce_now,
            tree_nonce,
            round,
            ..
        } = decode("BidPlaced", &k, &d, layout).unwrap()
        else {
            panic!("not a BidPlaced");
        };
        assert_eq!(
            (bid_id.to_string(), amount.to_string(), price.to_string()),
            ("0xb1d".into(), "5".into(), "1000000000".into())
        );
        assert_eq!(
            (bid_tree_nonce_now, tree_nonce),
            (7, 6),
            "BidPlaced: now − 1 in both layouts"
        );
        assert_eq!(round.is_some(), layout == Layout::Forwarded);
    }
    // BidUpdated: direct → now − 1, forwarded → now.
    let updated = data(&["0xb1d", "0x10", "0x0", "0x6", "0x9"]);
    let direct = decode(
        "BidUpdated",
        &keys("BidUpdated", &[ALICE]),
        &updated,
        Layout::Direct,
    )
    .unwrap();
    let mut fd = updated.clone();
    fd.push(ROUND.into());
    let forwarded = decode(
        "BidUpdated",
        &keys("BidUpdated", &[ALICE, "0x2"]),
        &fd,
        Layout::Forwarded,
    )
    .unwrap();
    for (event, expected) in [(direct, 8), (forwarded, 9)] {
        let Event::BidUpdated {
            price_increase,
            bid_tree_nonce_before,
            tree_nonce,
            ..
        } = event
        else {
            panic!("not a BidUpdated");
        };
        assert_eq!(
            (
                price_increase.to_string(),
                bid_tree_nonce_before,
                tree_nonce
            ),
            ("16".into(), 6, expected)
        );
    }
}

fn err(name: &str, k: &[String], d: &[String], layout: Layout) -> String {
    decode(name, k, d, layout).unwrap_err().to_string()
}

/// A Deposit whose data felt `i` is NULL, as an SQL array may hold.
fn null_err(k: &[String], i: usize) -> String {
    let mut d: Vec<Option<String>> = data(&["0x5", "0x0", "0x5", "0x0", "0x5", "0x0"])
        .into_iter()
        .map(Some)
        .collect();
    d[i] = None;
    decode("Deposit", k, &d, Layout::Direct)
        .unwrap_err()
        .to_string()
}

/// Every malformed input gives its own readable message naming the event, position and field.
#[test]
fn malformed_events_give_distinct_errors() {
    let dep_keys = keys("Deposit", &[ALICE]);
    let good = ["0x5", "0x0", "0x5", "0x0", "0x5", "0x0"];
    let with = |i: usize, v: &str| {
        let mut d = data(&good);
        d[i] = v.into();
        d
    };
    let cases = vec![
        (err("Transfer", &keys("Deposit", &[]), &[], Layout::Direct), r#"unknown event name "Transfer""#),
        (err("Deposit", &[], &data(&good), Layout::Direct),
         "Deposit: keys is empty; keys[0] must be the selector 0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2"),
        (err("Deposit", &keys("Withdrawal", &[ALICE]), &data(&good), Layout::Direct),
         "Deposit: keys[0] = 0x2eed7e29b3502a726faf503ac4316b7101f3da813654e8df02c13449e03da8 is not the selector of Deposit (0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2)"),
        (err("Deposit", &keys("Deposit", &[]), &data(&good), Layout::Direct),
         "Deposit: keys[1] (account) is missing: keys has 1 felts"),
        (err("Deposit", &keys("Deposit", &[ALICE, "0x1"]), &data(&good), Layout::Direct),
         "Deposit: keys has 3 felts, 1 more than the layout's 2"),
        (err("Deposit", &dep_keys, &data(&good[..5]), Layout::Direct),
         "Deposit: data[5] (vault_unlocked_balance_now.high) is missing: data has 5 felts"),
        (err("Deposit", &dep_keys, &[data(&good), data(&["0x0"])].concat(), Layout::Direct),
         "Deposit: data has 7 felts, 1 more than the layout's 6"),
        (err("Deposit", &dep_keys, &with(0, "0x5g"), Layout::Direct),
         r#"Deposit: data[0] (amount.low): "0x5g" has a non-hex character 'g'"#),
        (err("Deposit", &dep_keys, &with(0, "5"), Layout::Direct),
         r#"Deposit: data[0] (amount.low): "5" does not start with 0x"#),
        (err("Deposit", &dep_keys, &with(2, "-0x1"), Layout::Direct),
         r#"Deposit: data[2] (account_unlocked_balance_now.low): "-0x1" does not start with 0x"#),
        (err("Deposit", &dep_keys, &with(1, "0x"), Layout::Direct),
         r#"Deposit: data[1] (amount.high): "0x" has no hex digits after 0x"#),
        (err("Deposit", &dep_keys, &with(0, "0x800000000000011000000000000000000000000000000000000000000000001"), Layout::Direct),
         r#"Deposit: data[0] (amount.low): "0x800000000000011000000000000000000000000000000000000000000000001" is not below the field prime P = 2^251 + 17*2^192 + 1"#),
        (err("Deposit", &dep_keys, &with(0, "0x100000000000000000000000000000000"), Layout::Direct),
         "Deposit: data[0] (amount.low) = 340282366920938463463374607431768211456 is out of range for u128"),
        (err("Deposit", &dep_keys, &with(5, "0x100000000000000000000000000000000"), Layout::Direct),
         "Deposit: data[5] (vault_unlocked_balance_now.high) = 340282366920938463463374607431768211456 is out of range for u128"),
        (err("WithdrawalQueued", &keys("WithdrawalQueued", &[ALICE]),
             &data(&["0x1", "0x10000000000000000", "0x0", "0x0", "0x0", "0x0", "0x0", "0x0"]), Layout::Direct),
         "WithdrawalQueued: data[1] (round_id) = 18446744073709551616 is out of range for u64"),
        (err("BidPlaced", &keys("BidPlaced", &[ALICE]), &data(&["0x1", "0x1", "0x0", "0x1", "0x0", "0x0"]), Layout::Direct),
         "BidPlaced: bid_tree_nonce_now = 0 leaves the bid without a tree nonce"),
        (err("BidPlaced", &keys("BidPlaced", &[ALICE]), &data(&["0x1", "0x1", "0x0", "0x1", "0x0", "0x1"]), Layout::Forwarded),
         "BidPlaced: keys[2] (round_id) is missing: keys has 2 felts"),
        (err("ContractDeployed", &keys("ContractDeployed", &[]), &data(&[VAULT, "0x1", "0x0", "0x2", "0x7"]), Layout::Direct),
         "ContractDeployed: vault constructor calldata_len = 7; expected 10 (current vaults), 9 (consolidated vaults) or 8 (early vaults)"),
        (err("ContractDeployed", &keys("ContractDeployed", &[]),
             &data(&[VAULT, "0x1", "0x0", "0x2", "0x9", "0x3", "0x4", "0x5", "0x1", "0x800000000000010ffffffffffffffff80000000000000000000000000000000"]), Layout::Direct),
         "ContractDeployed: data[9] (strike_level) = 3618502788666131213697322783095070105452966031871127468241404752419987914752 is out of range for i128"),
        (err("ContractDeployed", &keys("ContractDeployed", &[]), &data(&[VAULT, "0x1", "0x0", "0x2", "0xa", "0x3"]), Layout::Direct),
         "ContractDeployed: data[6] (eth_address) is missing: data has 6 felts"),
        (null_err(&dep_keys, 3), "Deposit: data[3] (account_unlocked_balance_now.high): NULL is not a felt"),
    ];
    let mut seen = std::collections::HashSet::new();
    for (got, want) in &cases {
        assert_eq!(got, want);
        assert!(seen.insert(got.clone()), "duplicate message {got}");
    }
}
