//! Property test for reorgs: random chains of several vaults (LPs, bidders, full rounds) with
//! random fork points and depths, reverted by DELETE or by status REVERTED (events deleted
//! before, after or not at all), continued on an alternative fork. After every revert the state
//! of every table, bookkeeping and journal included, must equal what it was when the fork
//! point was the tip; at the end, the state must equal a fresh replay of the canonical chain.
//!
//! Seeds are printed on failure; `EVP_REORG_SEEDS=7,8` replays chosen seeds.

use pgrx::prelude::*;
use std::collections::HashMap;

/// SplitMix64: small, deterministic, good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An amount of up to 2^100 wei, often small, so that sums stay far below 2^128 (amounts
    /// above 2^128 are the scenario tests' business).
    fn amount(&mut self) -> u128 {
        match self.below(4) {
            0 => u128::from(self.below(1000)),
            1 => u128::from(self.next()),
            _ => (u128::from(self.next()) << 36) | u128::from(self.next()),
        }
    }
}

const VAULTS: [&str; 3] = ["0xa1", "0xa2", "0xa3"];
const LPS: [&str; 4] = ["0x11", "0x12", "0x13", "0x14"];
const BUYERS: [&str; 3] = ["0x21", "0x22", "0x23"];

fn hex(v: u128) -> String {
    format!("0x{v:x}")
}

fn u256(v: u128) -> Vec<String> {
    vec![hex(v), "0x0".into()]
}

/// A single value as an integer; no row or NULL is 0.
fn num(sql: &str) -> u128 {
    let v = text(sql).unwrap_or_else(|| "0".into());
    v.parse().unwrap_or_else(|_| panic!("{sql} returned {v}"))
}

/// A single value, `None` for no row or NULL.
fn text(sql: &str) -> Option<String> {
    Spi::get_one::<String>(&format!("SELECT ({sql})")).expect("query")
}

/// Everything the extension writes, as one digest.
fn state_digest() -> String {
    text("SELECT evp.state_digest()").unwrap_or_default()
}

struct Chain {
    rng: Rng,
    direct: bool,
    fork: u64,
    tip: u64,
    /// Digest of the state right after each block was applied (and its late events).
    digests: HashMap<u64, String>,
    forks_checked: u64,
}

impl Chain {
    fn hash(&self, block: u64) -> String {
        format!("0x{:x}", block * 1_000_003 + self.fork)
    }

    fn emit(
        &mut self,
        block: u64,
        vault: &str,
        name: &str,
        keys: &[String],
        data: &[String],
        round: Option<(u64, &str)>,
    ) {
        // The next nonce after the vault's events in canonical blocks and in the block being built.
        let nonce = num(&format!(
            "SELECT coalesce(max(e.event_nonce), 0)::text FROM events e
              WHERE e.vault_address = '{vault}'
                AND (e.block_hash = '{h}' OR EXISTS (SELECT FROM starknet_blocks b WHERE b.block_number = e.block_number
                                                        AND b.block_hash = e.block_hash AND b.status = 'MINED'))",
            h = self.hash(block)
        )) + 1;
        // Transfer (an option token's ERC20 event) is not a Pitch Lake event.
        let selector = crate::decode::selector_of(name)
            .unwrap_or("0x99cd8bde557814842a3121e8ddfd433a539b8c9f14bf31ebf108d12e6196e9");
        let mut keys: Vec<String> = std::iter::once(selector.to_string())
            .chain(keys.iter().cloned())
            .collect();
        let mut data = data.to_vec();
        let mut emitter = vault.to_string();
        if let Some((round_id, round_addr)) = round {
            if self.direct {
                emitter = round_addr.to_string();
            } else {
                keys.push(hex(u128::from(round_id)));
                data.push(round_addr.to_string());
            }
        }
        let arr = |v: &[String]| {
            format!(
                "ARRAY[{}]::varchar[]",
                v.iter()
                    .map(|s| format!("'{s}'"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let from = if self.direct {
            format!(", '{emitter}'")
        } else {
            String::new()
        };
        let from_col = if self.direct { ", from_address" } else { "" };
        Spi::run(&format!(
            "INSERT INTO events (event_nonce, block_number, block_hash, vault_address, event_name, event_keys, event_data,
                                 transaction_hash{from_col})
             VALUES ({nonce}, {block}, '{h}', '{vault}', '{name}', {k}, {d}, '0x1'{from})",
            h = self.hash(block),
            k = arr(&keys),
            d = if data.is_empty() { "ARRAY[]::varchar[]".into() } else { arr(&data) },
        ))
        .expect("insert event");
    }

    /// One state-dependent event for `vault`, read from the state at the end of the last block.
    fn vault_event(&mut self, block: u64, vault: &str) {
        let round_id = text(&format!(
            r#"SELECT current_round::text FROM "VaultStates" WHERE address = '{vault}'"#
        ));
        let Some(round_id) = round_id.and_then(|r| r.parse::<u64>().ok()) else {
            // A new vault: the constructor deploys round 1, then the deployer reports the vault.
            self.emit(
                block,
                vault,
                "OptionRoundDeployed",
                &[],
                &round_deployed(1, &round_address(vault, 1)),
                None,
            );
            let data: Vec<String> = [
                vault, "0xde", "0x1", "0xc1a55", "0xa", "0xf0551", "0xe7", "0xc1a55", "0x9c4",
                "0x14d", "0x12c", "0x258", "0x384", "0x7", "0x5", "0x5a17",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            self.emit(block, vault, "ContractDeployed", &[], &data, None);
            return;
        };
        let round = round_address(vault, round_id);
        let r = Some((round_id, round.as_str()));
        let state = text(&format!(
            r#"SELECT state FROM "Option_Rounds" WHERE address = '{round}'"#
        ))
        .unwrap_or_default();
        let lp = LPS[self.rng.below(4) as usize];
        let buyer = BUYERS[self.rng.below(3) as usize];
        let lp_unlocked = num(&format!(
            r#"SELECT unlocked_balance::text FROM "Liquidity_Providers" WHERE address = '{lp}' AND vault_address = '{vault}'"#
        ));
        let vault_unlocked = num(&format!(
            r#"SELECT unlocked_balance::text FROM "VaultStates" WHERE address = '{vault}'"#
        ));
        let choice = self.rng.below(10);
        // Deposits and withdrawals happen in every phase.
        if choice < 3 {
            let amount = self.rng.amount();
            let data = [
                u256(amount),
                u256(lp_unlocked + amount),
                u256(vault_unlocked + amount),
            ]
            .concat();
            return self.emit(block, vault, "Deposit", &[lp.into()], &data, None);
        }
        if choice == 3 && lp_unlocked > 0 {
            let amount = u128::from(self.rng.next()) % lp_unlocked + 1;
            let data = [
                u256(amount),
                u256(lp_unlocked - amount),
                u256(vault_unlocked.saturating_sub(amount)),
            ]
            .concat();
            return self.emit(block, vault, "Withdrawal", &[lp.into()], &data, None);
        }
        if choice == 4 {
            let stashed = num(&format!(
                r#"SELECT stashed_balance::text FROM "Liquidity_Providers" WHERE address = '{lp}' AND vault_address = '{vault}'"#
            ));
            let vault_stashed = num(&format!(
                r#"SELECT stashed_balance::text FROM "VaultStates" WHERE address = '{vault}'"#
            ));
            let data = [u256(stashed), u256(vault_stashed.saturating_sub(stashed))].concat();
            return self.emit(block, vault, "StashWithdrawn", &[lp.into()], &data, None);
        }
        if choice == 5 {
            // Not a Pitch Lake event: skipped and counted.
            return self.emit(
                block,
                vault,
                "Transfer",
                &[buyer.into(), lp.into()],
                &u256(1),
                None,
            );
        }
        match state.as_str() {
            "Open" => {
                if self.rng.chance(50) {
                    let data = [
                        u256(self.rng.amount()),
                        vec![hex(5000)],
                        u256(self.rng.amount()),
                    ]
                    .concat();
                    self.emit(block, vault, "PricingDataSet", &[], &data, r);
                } else {
                    let data = [
                        u256(vault_unlocked),
                        u256(u128::from(self.rng.below(1000) + 1)),
                    ]
                    .concat();
                    self.emit(block, vault, "AuctionStarted", &[], &data, r);
                }
            }
            "Auctioning" => self.auctioning(block, vault, &round, round_id, lp, buyer),
            "Running" => self.running(block, vault, &round, round_id, buyer),
            _ => {}
        }
    }

    fn auctioning(
        &mut self,
        block: u64,
        vault: &str,
        round: &str,
        round_id: u64,
        lp: &str,
        buyer: &str,
    ) {
        let r = Some((round_id, round));
        let next_tree = text(&format!(
            r#"SELECT (max(tree_nonce) + 1)::text FROM "Bids" WHERE round_address = '{round}'"#
        ))
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0);
        match self.rng.below(4) {
            0 => {
                let bid_id = hex(u128::from(self.rng.next() >> 8));
                let price = u128::from(self.rng.below(5)) * 1_000_000_000 + 1;
                let amount = u128::from(self.rng.below(500)) + 1;
                let data = [
                    vec![bid_id],
                    u256(amount),
                    u256(price),
                    vec![hex(u128::from(next_tree + 1))],
                ]
                .concat();
                self.emit(block, vault, "BidPlaced", &[buyer.into()], &data, r);
            }
            1 => {
                let Some(row) = text(&format!(
                    r#"SELECT bid_id || ',' || buyer_address || ',' || tree_nonce FROM "Bids" WHERE round_address = '{round}'
                       ORDER BY bid_id OFFSET {} LIMIT 1"#,
                    self.rng.below(4)
                )) else {
                    return;
                };
                let parts: Vec<&str> = row.split(',').collect();
                let now = if self.direct {
                    next_tree + 1
                } else {
                    next_tree
                };
                let data = [
                    vec![parts[0].to_string()],
                    u256(u128::from(self.rng.below(3)) * 1_000_000_000),
                    vec![hex(parts[2].parse().unwrap_or(0)), hex(u128::from(now))],
                ]
                .concat();
                self.emit(block, vault, "BidUpdated", &[parts[1].into()], &data, r);
            }
            2 => {
                // Queue part of the LP's starting liquidity s; the vault total follows.
                let s = num(&format!(
                    "SELECT starting_liquidity::text FROM evp.lp_round_liquidity WHERE round_address = '{round}' AND lp_address = '{lp}'"
                ));
                let bps = u128::from(self.rng.below(10_001));
                let q = s / 10_000 * bps;
                let before = num(&format!(
                    r#"SELECT queued_liquidity::text FROM "Queued_Liquidity" WHERE round_address = '{round}' AND address = '{lp}'"#
                ));
                let total = num(&format!(
                    r#"SELECT coalesce(queued_liquidity, 0)::text FROM "Option_Rounds" WHERE address = '{round}'"#
                ));
                let data = [
                    vec![hex(bps), hex(u128::from(round_id))],
                    u256(before),
                    u256(q),
                    u256(total - before + q),
                ]
                .concat();
                self.emit(block, vault, "WithdrawalQueued", &[lp.into()], &data, None);
            }
            _ => self.end_auction(block, vault, round, round_id),
        }
    }

    /// AuctionEnded consistent with the bids: sell a random number of the options asked for;
    /// the clearing bid is where the walk by price desc, tree nonce asc runs out.
    fn end_auction(&mut self, block: u64, vault: &str, round: &str, round_id: u64) {
        let bids = text(&format!(
            r#"SELECT string_agg(amount || ':' || price || ':' || tree_nonce, ',' ORDER BY price DESC, tree_nonce)
                 FROM "Bids" WHERE round_address = '{round}' AND amount > 0"#
        ))
        .unwrap_or_default();
        let bids: Vec<[u128; 3]> = bids
            .split(',')
            .filter(|b| !b.is_empty())
            .map(|b| {
                let v: Vec<u128> = b.split(':').map(|x| x.parse().unwrap_or(0)).collect();
                [v[0], v[1], v[2]]
            })
            .collect();
        let total: u128 = bids.iter().map(|b| b[0]).sum();
        let sold = if total == 0 {
            0
        } else {
            u128::from(self.rng.next()) % total + 1
        };
        let (mut left, mut price, mut nonce) = (sold, 0, 0);
        for b in &bids {
            if left == 0 {
                break;
            }
            if b[0] >= left {
                (price, nonce) = (b[1], b[2]);
                left = 0;
            } else {
                left -= b[0];
            }
        }
        let s = num(&format!(
            r#"SELECT starting_liquidity::text FROM "Option_Rounds" WHERE address = '{round}'"#
        ));
        let unsold = if s == 0 {
            0
        } else {
            u128::from(self.rng.next()) % (s + 1)
        };
        let data = [u256(sold), u256(price), u256(unsold), vec![hex(nonce)]].concat();
        self.emit(
            block,
            vault,
            "AuctionEnded",
            &[],
            &data,
            Some((round_id, round)),
        );
    }

    fn running(&mut self, block: u64, vault: &str, round: &str, round_id: u64, buyer: &str) {
        let r = Some((round_id, round));
        match self.rng.below(4) {
            0 => self.emit(block, vault, "OptionsMinted", &[buyer.into()], &u256(1), r),
            1 => self.emit(
                block,
                vault,
                "UnusedBidsRefunded",
                &[buyer.into()],
                &u256(1),
                r,
            ),
            2 => self.emit(
                block,
                vault,
                "OptionsExercised",
                &[buyer.into()],
                &[u256(1), u256(1), u256(1)].concat(),
                r,
            ),
            _ => {
                // Settle with a payout that leaves R = S − U − payout·sold ≥ 0, then deploy the next round.
                let s = num(&format!(
                    r#"SELECT starting_liquidity::text FROM "Option_Rounds" WHERE address = '{round}'"#
                ));
                let u = num(&format!(
                    r#"SELECT unsold_liquidity::text FROM "Option_Rounds" WHERE address = '{round}'"#
                ));
                let sold = num(&format!(
                    r#"SELECT sold_options::text FROM "Option_Rounds" WHERE address = '{round}'"#
                ));
                let payout = if sold == 0 || self.rng.chance(30) {
                    0
                } else {
                    u128::from(self.rng.next()) % ((s - u) / sold + 1)
                };
                self.emit(
                    block,
                    vault,
                    "OptionRoundSettled",
                    &[],
                    &[u256(1), u256(payout)].concat(),
                    r,
                );
                let next = round_address(vault, round_id + 1);
                self.emit(
                    block,
                    vault,
                    "OptionRoundDeployed",
                    &[],
                    &round_deployed(round_id + 1, &next),
                    None,
                );
            }
        }
    }

    fn block(&mut self) {
        let block = self.tip + 1;
        let vaults = self.rng.below(3) + 1;
        for v in VAULTS.iter().take(vaults as usize) {
            self.vault_event(block, v);
        }
        Spi::run(&format!(
            "INSERT INTO starknet_blocks VALUES ({block}, '{}', '{}', {}, 'MINED')",
            self.hash(block),
            self.hash(block - 1),
            1_700_000_000 + block * 12
        ))
        .expect("insert block");
        // Sometimes an event arrives after its block: it belongs to that block.
        if self.rng.chance(15) {
            let v = VAULTS[self.rng.below(3) as usize];
            if text(&format!(
                r#"SELECT address FROM "VaultStates" WHERE address = '{v}'"#
            ))
            .is_some()
            {
                let lp = LPS[0];
                let unlocked = num(&format!(
                    r#"SELECT unlocked_balance::text FROM "Liquidity_Providers" WHERE address = '{lp}' AND vault_address = '{v}'"#
                ));
                let vault = num(&format!(
                    r#"SELECT unlocked_balance::text FROM "VaultStates" WHERE address = '{v}'"#
                ));
                self.emit(
                    block,
                    v,
                    "Deposit",
                    &[lp.into()],
                    &[u256(3), u256(unlocked + 3), u256(vault + 3)].concat(),
                    None,
                );
            }
        }
        let applied = Spi::get_one::<bool>(&format!(
            "SELECT EXISTS (SELECT FROM evp.applied_blocks WHERE block_number = {block})"
        ));
        assert_eq!(
            applied.expect("query"),
            Some(true),
            "block {block} was not applied"
        );
        self.tip = block;
        self.digests.insert(block, state_digest());
    }

    /// Reverts the last `depth` blocks in one of the ways an indexer does it, then checks that
    /// the state is what it was when block tip − depth was the tip.
    fn reorg(&mut self, seed: u64, depth: u64) {
        let k = self.tip - depth;
        let how = self.rng.below(5);
        let events_first = self.rng.chance(50);
        if events_first && how != 4 {
            Spi::run(&format!("DELETE FROM events WHERE block_number > {k}"))
                .expect("delete events");
        }
        match how {
            0 | 4 => Spi::run(&format!(
                "DELETE FROM starknet_blocks WHERE block_number > {k}"
            )),
            1 => {
                for b in (k + 1..=self.tip).rev() {
                    Spi::run(&format!(
                        "DELETE FROM starknet_blocks WHERE block_number = {b}"
                    ))
                    .expect("delete block");
                }
                Ok(())
            }
            2 => Spi::run(&format!(
                "UPDATE starknet_blocks SET status = 'REVERTED' WHERE block_number = {}",
                k + 1
            )),
            _ => Spi::run(&format!(
                "UPDATE starknet_blocks SET status = 'REVERTED' WHERE block_number > {k}"
            )),
        }
        .expect("revert");
        let digest = state_digest();
        assert_eq!(
            Some(&digest),
            self.digests.get(&k),
            "seed {seed}: after reverting blocks {}..={} (way {how}, events deleted first: {events_first}), \
             the state differs from the state at block {k}",
            k + 1,
            self.tip
        );
        // The indexer then removes the reverted rows (and, if still there, maybe their events).
        if !events_first && self.rng.chance(50) {
            Spi::run(&format!("DELETE FROM events WHERE block_number > {k}"))
                .expect("delete events");
        }
        Spi::run(&format!(
            "DELETE FROM starknet_blocks WHERE block_number > {k}"
        ))
        .expect("delete reverted rows");
        for b in k + 1..=self.tip {
            self.digests.remove(&b);
        }
        self.tip = k;
        self.fork += 1;
        self.forks_checked += 1;
    }
}

fn round_address(vault: &str, round_id: u64) -> String {
    format!("{vault}{round_id:04x}")
}

fn round_deployed(round_id: u64, address: &str) -> Vec<String> {
    let t = 1_700_000_000 + round_id * 1000;
    [
        vec![
            hex(u128::from(round_id)),
            address.into(),
            hex(u128::from(t)),
            hex(u128::from(t + 600)),
            hex(u128::from(t + 900)),
        ],
        u256(0),
        vec!["0x0".into()],
        u256(0),
    ]
    .concat()
}

/// Runs one seed: a chain of `blocks` block insertions with reorgs; returns the fork points checked.
pub fn run_seed(seed: u64, blocks: u64) -> u64 {
    // A clean slate: no blocks, no events, no state.
    Spi::run("TRUNCATE starknet_blocks, events").expect("truncate");
    Spi::run("SELECT evp_rebuild()").expect("clear state");
    let mut rng = Rng(seed);
    let direct = rng.chance(50);
    if direct {
        Spi::run("ALTER TABLE events ADD COLUMN IF NOT EXISTS from_address varchar(66)")
            .expect("alter");
    }
    let mut chain = Chain {
        rng,
        direct,
        fork: 0,
        tip: 1000,
        digests: HashMap::new(),
        forks_checked: 0,
    };
    for _ in 0..blocks {
        chain.block();
        if chain.tip > 1002 && chain.rng.chance(12) {
            let depth = chain.rng.below((chain.tip - 1001).min(6)) + 1;
            chain.reorg(seed, depth);
        }
    }
    // Finally: the state equals a fresh replay of the canonical chain, once events of
    // reverted forks are gone (they must never have been applied).
    Spi::run(
        "DELETE FROM events e WHERE NOT EXISTS (SELECT FROM starknet_blocks b
            WHERE b.block_number = e.block_number AND b.block_hash = e.block_hash AND b.status = 'MINED')",
    )
    .expect("delete stale events");
    let before = state_digest();
    Spi::run("SELECT evp_rebuild()").expect("rebuild");
    assert_eq!(
        before,
        state_digest(),
        "seed {seed}: the state differs from a fresh replay of the canonical chain"
    );
    let coverage = text(
        "SELECT string_agg(event_name || ' ' || n, ', ' ORDER BY event_name)
           FROM (SELECT event_name, count(*) AS n FROM events GROUP BY 1) c",
    );
    pgrx::info!(
        "seed {seed} ({} layout): {} forks; canonical events: {}",
        if chain.direct { "direct" } else { "forwarded" },
        chain.forks_checked,
        coverage.unwrap_or_default()
    );
    chain.forks_checked
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// Sixteen seeds of 200 blocks each; together they check a few hundred fork points.
    #[pg_test]
    fn reorgs_leave_no_trace() {
        let seeds: Vec<u64> = match std::env::var("EVP_REORG_SEEDS") {
            Ok(s) => s.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
            Err(_) => (1..=16).collect(),
        };
        let mut forks = 0;
        for seed in &seeds {
            forks += super::run_seed(*seed, 200);
        }
        pgrx::info!(
            "reorg property test: {} seeds, {forks} fork points checked",
            seeds.len()
        );
        assert!(forks >= 300, "only {forks} fork points were checked");
    }
}
