//! Property test for reorgs: random chains of several vaults (LPs, bidders, full rounds) with
//! random fork points and depths, continued on an alternative fork, written in one of two
//! styles. SPEC sections 1–6: reverted by DELETE or by status REVERTED (events deleted before,
//! after or not at all), the reverted rows removed before the new fork. The Pitch Lake indexer
//! (SPEC 7.1): a REVERTED row and a RevertBlock notice per block from the tip down, nothing
//! deleted, the new fork inserted at the same numbers, a StartBlock notice per block,
//! COUNT(*) + 1 nonces, and a new vault's deployment block without a row (the block before the
//! one that first uses the vault, or, for a vault registered late, below every row). After every
//! revert the state of every table, bookkeeping and journal included, must equal what it was
//! when the fork point was the tip; at the end, the state must equal a replay from scratch
//! (`evp_rebuild()`) with the events of every reverted fork still in the table.
//!
//! Seeds are printed on failure; `EVP_REORG_SEEDS=7,8` replays chosen seeds (in both styles).

use crate::testing::Rng;
use pgrx::prelude::*;
use std::collections::HashMap;

const VAULTS: [&str; 3] = ["0xa1", "0xa2", "0xa3"];
/// The vault that the indexer style registers late: its deployment block lies below every row.
const LATE_VAULT: &str = VAULTS[2];
/// A vault the indexer style deploys mid-chain (from block `MID_CHAIN`), within reach of reorgs.
const MID_CHAIN_VAULT: &str = "0xa4";
const MID_CHAIN: u64 = 1040;
const LATE_DEPLOYMENT_BLOCK: u64 = 900;
/// The tip before a chain's first block.
const FIRST_TIP: u64 = 1000;

/// How the indexer writes blocks, reorgs and new vaults (see the module comment).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Spec,
    Indexer,
}
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
    style: Style,
    direct: bool,
    fork: u64,
    tip: u64,
    /// The hash of each block of the chain being built (a block keeps the hash of the fork it
    /// was built on).
    hashes: HashMap<u64, String>,
    /// Digest of the state right after each block was applied (and its late events).
    digests: HashMap<u64, String>,
    /// The numbers of the chain's blocks without a row.
    rowless: Vec<u64>,
    forks_checked: u64,
    /// What the indexer style exercised.
    seen: Seen,
}

/// Counts of the indexer style's cases, so that the test shows it exercised each.
#[derive(Default, Debug)]
struct Seen {
    rowless_blocks: u64,
    late_registrations: u64,
    rowless_reverted: u64,
    rows_replaced: u64,
}

impl std::ops::AddAssign for Seen {
    fn add_assign(&mut self, other: Seen) {
        self.rowless_blocks += other.rowless_blocks;
        self.late_registrations += other.late_registrations;
        self.rowless_reverted += other.rowless_reverted;
        self.rows_replaced += other.rows_replaced;
    }
}

impl Chain {
    fn hash(&mut self, block: u64) -> String {
        let fork = self.fork;
        self.hashes
            .entry(block)
            .or_insert_with(|| format!("0x{:x}", block * 1_000_003 + fork))
            .clone()
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
        let hash = self.hash(block);
        // SPEC style: the next nonce after the vault's events in canonical blocks and in the
        // block being built. The indexer's: one more than the vault's rows, reverted ones too.
        let nonce = match self.style {
            Style::Spec => num(&format!(
                "SELECT coalesce(max(e.event_nonce), 0)::text FROM events e
                  WHERE e.vault_address = '{vault}'
                    AND (e.block_hash = '{h}' OR EXISTS (SELECT FROM starknet_blocks b WHERE b.block_number = e.block_number
                                                            AND b.block_hash = e.block_hash AND b.status = 'MINED'))",
                h = hash
            )),
            Style::Indexer => num(&format!(
                "SELECT count(*)::text FROM events WHERE vault_address = '{vault}'"
            )),
        } + 1;
        // Transfer (an option token's ERC20 event) is not a Pitch Lake event.
        let selector = crate::decode::Kind::named(name)
            .map(crate::decode::Kind::selector)
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
             VALUES ({nonce}, {block}, '{hash}', '{vault}', '{name}', {k}, {d}, '0x1'{from})",
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
            return self.deploy(block, vault);
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

    /// A new vault: the constructor deploys round 1, then the deployer reports the vault.
    fn deploy(&mut self, block: u64, vault: &str) {
        self.emit(
            block,
            vault,
            "OptionRoundDeployed",
            &[],
            &round_deployed(1, &round_address(vault, 1)),
            None,
        );
        let data: Vec<String> = [
            vault, "0xde", "0x1", "0xc1a55", "0xa", "0xf0551", "0xe7", "0xc1a55", "0x9c4", "0x14d",
            "0x12c", "0x258", "0x384", "0x7", "0x5", "0x5a17",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        self.emit(block, vault, "ContractDeployed", &[], &data, None);
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
        let mut block = self.tip + 1;
        let vaults = self.rng.below(3) + 1;
        let mut chosen: Vec<&str> = VAULTS.iter().take(vaults as usize).copied().collect();
        if self.style == Style::Indexer {
            if self.tip >= MID_CHAIN && self.rng.chance(30) {
                chosen.push(MID_CHAIN_VAULT);
            }
            // New vaults are deployed in blocks without a row: the late one below every row
            // (applied at once, after the blocks above it, so the fork points recorded so far
            // no longer hold), the others in the block before this one.
            let mut rowless = Vec::new();
            for v in chosen.iter().copied() {
                let known = text(&format!(
                    r#"SELECT address FROM "VaultStates" WHERE address = '{v}'"#
                ));
                if known.is_some() {
                    continue;
                }
                if v == LATE_VAULT && self.tip > FIRST_TIP {
                    self.deploy(LATE_DEPLOYMENT_BLOCK, v);
                    self.digests.clear();
                    self.seen.late_registrations += 1;
                } else {
                    rowless.push(v);
                }
            }
            if !rowless.is_empty() {
                for v in &rowless {
                    self.deploy(block, v);
                }
                chosen.retain(|v| !rowless.contains(v));
                self.rowless.push(block);
                self.seen.rowless_blocks += 1;
                block += 1;
            }
        }
        for v in chosen {
            self.vault_event(block, v);
        }
        let (hash, parent) = (self.hash(block), self.hash(block - 1));
        if text(&format!(
            "SELECT status FROM starknet_blocks WHERE block_number = {block} AND status = 'REVERTED'"
        ))
        .is_some()
        {
            self.seen.rows_replaced += 1;
        }
        Spi::run(&format!(
            "INSERT INTO starknet_blocks VALUES ({block}, '{hash}', '{parent}', {}, 'MINED')",
            1_700_000_000 + block * 12
        ))
        .expect("insert block");
        if self.style == Style::Indexer {
            self.notice("StartBlock", block);
        }
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

    /// The indexer's notice of block `block` in `driver_events`.
    fn notice(&mut self, kind: &str, block: u64) {
        let hash = self.hash(block);
        Spi::run(&format!(
            "INSERT INTO driver_events (sequence_index, type, block_hash) VALUES (nextval('driver_events_sequence'), '{kind}', '{hash}')"
        ))
        .expect("insert driver event");
    }

    /// Reverts the last `depth` blocks in one of the ways an indexer does it, then checks that
    /// the state is what it was when block tip − depth was the tip. The fork point is the
    /// nearest block at or above tip − depth whose state was recorded (not a block without a
    /// row); none, no reorg.
    fn reorg(&mut self, seed: u64, depth: u64) {
        let Some(k) = (self.tip - depth..self.tip).find(|b| self.digests.contains_key(b)) else {
            return;
        };
        if self.style == Style::Indexer {
            // From the tip down, a transaction each in the indexer: the row marked REVERTED
            // (none for a block without a row), then the notice. Nothing is deleted.
            for b in (k + 1..=self.tip).rev() {
                if self.rowless.contains(&b) {
                    self.seen.rowless_reverted += 1;
                }
                let hash = self.hash(b);
                Spi::run(&format!(
                    "UPDATE starknet_blocks SET status = 'REVERTED' WHERE block_number = {b} AND block_hash = '{hash}'"
                ))
                .expect("revert");
                self.notice("RevertBlock", b);
            }
            self.check_fork_point(seed, k, "the indexer's way");
            self.forked(k);
            return;
        }
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
        self.check_fork_point(
            seed,
            k,
            &format!("way {how}, events deleted first: {events_first}"),
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
        self.forked(k);
    }

    fn check_fork_point(&self, seed: u64, k: u64, how: &str) {
        assert_eq!(
            Some(&state_digest()),
            self.digests.get(&k),
            "seed {seed} ({:?} style): after reverting blocks {}..={} ({how}), the state differs from the state at block {k}",
            self.style,
            k + 1,
            self.tip
        );
    }

    /// The chain goes on from block `k` on a new fork.
    fn forked(&mut self, k: u64) {
        for b in k + 1..=self.tip {
            self.digests.remove(&b);
            self.hashes.remove(&b);
        }
        self.rowless.retain(|&b| b <= k);
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

/// The indexer's queue, as its migrations create it before CREATE EXTENSION, and the trigger
/// CREATE EXTENSION then puts on it (the test database has the extension already).
const DRIVER_EVENTS: &str = r#"
CREATE SEQUENCE IF NOT EXISTS driver_events_sequence;
CREATE TABLE IF NOT EXISTS driver_events (id serial PRIMARY KEY, sequence_index bigint NOT NULL, type varchar(50) NOT NULL,
    timestamp timestamptz NOT NULL DEFAULT now(), is_processed boolean DEFAULT false, block_hash varchar(66),
    start_block_hash varchar(66), end_block_hash varchar(66), vault_address varchar(66));
CREATE OR REPLACE TRIGGER evp_driver_events AFTER INSERT ON driver_events
    FOR EACH STATEMENT EXECUTE FUNCTION evp.on_driver_events_insert();
TRUNCATE driver_events"#;

/// Runs one seed: a chain of `blocks` block insertions with reorgs; returns the fork points
/// checked and what the indexer style exercised.
fn run_seed(seed: u64, blocks: u64, style: Style) -> (u64, Seen) {
    // A clean slate: no blocks, no events, no state, nothing known of earlier chains.
    Spi::run("TRUNCATE starknet_blocks, events, evp.blocks, evp.held_blocks, evp.event_copies")
        .expect("truncate");
    Spi::run("SELECT evp_rebuild()").expect("clear state");
    let mut rng = Rng(seed);
    // The indexer stores the forwarded layout only, in a table without from_address.
    let direct = rng.chance(50) && style == Style::Spec;
    let column = if direct {
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS from_address varchar(66)"
    } else {
        "ALTER TABLE events DROP COLUMN IF EXISTS from_address"
    };
    Spi::run(column).expect("alter");
    if style == Style::Indexer {
        Spi::run(DRIVER_EVENTS).expect("driver_events");
    }
    let mut chain = Chain {
        rng,
        style,
        direct,
        fork: 0,
        tip: FIRST_TIP,
        hashes: HashMap::new(),
        digests: HashMap::new(),
        rowless: Vec::new(),
        forks_checked: 0,
        seen: Seen::default(),
    };
    for _ in 0..blocks {
        chain.block();
        if chain.tip > 1002 && chain.rng.chance(12) {
            let depth = chain.rng.below((chain.tip - 1001).min(6)) + 1;
            chain.reorg(seed, depth);
        }
    }
    // Finally: the state equals a replay from scratch, with the events of reverted forks still
    // in the table (they must never be applied).
    let before = state_digest();
    Spi::run("SELECT evp_rebuild()").expect("rebuild");
    assert_eq!(
        before,
        state_digest(),
        "seed {seed} ({style:?} style): the state differs from a replay from scratch"
    );
    let coverage = text(
        "SELECT string_agg(event_name || ' ' || n, ', ' ORDER BY event_name)
           FROM (SELECT event_name, count(*) AS n FROM events GROUP BY 1) c",
    );
    pgrx::info!(
        "seed {seed} ({style:?} style, {} layout): {} forks, {:?}; events: {}",
        if chain.direct { "direct" } else { "forwarded" },
        chain.forks_checked,
        chain.seen,
        coverage.unwrap_or_default()
    );
    (chain.forks_checked, chain.seen)
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// Sixteen seeds of 200 blocks each, in each style; together they check several hundred
    /// fork points. All in the test's one transaction: under evp.on_error = abort, so that
    /// every block is applied by its own statement (under hold, the sync path applies the
    /// blocks of a transaction's first statements only: api::sync_path).
    #[pg_test]
    fn reorgs_leave_no_trace() {
        Spi::run("SET LOCAL evp.on_error = abort").expect("set evp.on_error");
        let seeds: Vec<u64> = match std::env::var("EVP_REORG_SEEDS") {
            Ok(s) => s.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
            Err(_) => (1..=16).collect(),
        };
        for style in [super::Style::Spec, super::Style::Indexer] {
            let (mut forks, mut seen) = (0, super::Seen::default());
            for &seed in &seeds {
                let (f, s) = super::run_seed(seed, 200, style);
                forks += f;
                seen += s;
            }
            pgrx::info!(
                "reorg property test, {style:?} style: {} seeds, {forks} fork points checked, {seen:?}",
                seeds.len()
            );
            assert!(
                forks >= 20 * seeds.len() as u64,
                "{style:?} style: only {forks} fork points were checked"
            );
            if style == super::Style::Indexer && seeds.len() >= 16 {
                assert!(
                    seen.rowless_blocks > 0
                        && seen.late_registrations > 0
                        && seen.rowless_reverted > 0
                        && seen.rows_replaced > 0,
                    "the indexer style missed a case: {seen:?}"
                );
            }
        }
    }
}
