//! One event: decode it in the layout its emitter implies, then run its transition.

use super::statements as sql;
use crate::decode::{decode, Address, DecodeError, Event, ForwardedFrom, Kind, Layout};
use crate::math::{clear_auction, AuctionError, Bid, U256};
use crate::spi::{read, run, without_nested_loops, Param};
use pgrx::spi::{SpiClient, SpiError};
use std::collections::HashMap;
use std::fmt::Display;

/// An `events` row, as the apply path reads it.
pub struct EventRow {
    pub vault_raw: String,
    pub nonce: i64,
    pub name: String,
    /// A NULL element is a decoding error of its event, not of the block.
    pub keys: Vec<Option<String>>,
    pub data: Vec<Option<String>>,
    /// `events.from_address` when the column exists and is set.
    pub emitter: Option<String>,
}

impl EventRow {
    /// Its vault, normalised when it parses (else as written: the event fails on it).
    pub fn vault(&self) -> String {
        crate::decode::normalize_address(&self.vault_raw).unwrap_or_else(|_| self.vault_raw.clone())
    }
}

/// The block being applied.
pub struct BlockCtx {
    pub number: String,
    pub hash: String,
    /// The block row's timestamp; `None` for a block without a row (SPEC 7.1: a vault's
    /// deployment block, the indexer's catch-up blocks), whose deployment dates are derived.
    pub timestamp: Option<String>,
    /// Whether the indexer's `events` table has the optional `from_address` column.
    pub events_have_emitter: bool,
    /// The events are late: they arrived after the block was applied, which wrote its history.
    pub late: bool,
}

pub enum Applied {
    /// A state transition ran (or the event changes nothing, like FossilCallbackSuccess).
    Applied,
    /// Not a Pitch Lake event (an option token's Transfer, say): skipped and counted.
    Ignored,
}

/// Why an event could not be applied; SQL errors raised inside a statement are Postgres
/// errors and travel separately (see `block.rs`).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("{0}")]
    Auction(#[from] AuctionError),
    #[error("{0}")]
    Inconsistent(String),
    #[error("SPI: {0}")]
    Spi(#[from] SpiError),
}

/// Which round a round event belongs to, and so whether its layout is direct or forwarded.
fn layout_and_round(vault: &Address, emitter: Option<&Address>) -> (Layout, Option<String>) {
    match emitter {
        Some(e) if e != vault => (Layout::Direct, Some(e.to_string())),
        _ => (Layout::Forwarded, None),
    }
}

/// The round of a round event: the forwarded round address, or the emitter (`direct_round`).
fn round_address(forwarded: &Option<ForwardedFrom>, direct_round: &Option<String>) -> String {
    match forwarded {
        Some(f) => f.round_address.to_string(),
        None => direct_round.clone().unwrap_or_default(),
    }
}

/// An event row, decoded in the layout its emitter implies: its vault, the event, and the
/// round a direct-layout round event came from; `None` for an event that is not Pitch Lake's.
fn read_event(row: &EventRow) -> Result<Option<(Address, Event, Option<String>)>, ApplyError> {
    let vault = Address::parse(&row.vault_raw)
        .map_err(|e| ApplyError::Inconsistent(format!("events.vault_address: {e}")))?;
    let emitter = match &row.emitter {
        Some(raw) => Some(
            Address::parse(raw)
                .map_err(|e| ApplyError::Inconsistent(format!("events.from_address: {e}")))?,
        ),
        None => None,
    };
    let (layout, direct_round) = if Kind::named(&row.name).is_some_and(Kind::is_round_event) {
        layout_and_round(&vault, emitter.as_ref())
    } else {
        (Layout::Direct, None)
    };
    match decode(&row.name, &row.keys, &row.data, layout) {
        Ok(event) => Ok(Some((vault, event, direct_round))),
        Err(DecodeError::UnknownEvent(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn apply_event(
    client: &mut SpiClient<'_>,
    block: &BlockCtx,
    row: &EventRow,
) -> Result<Applied, ApplyError> {
    let Some((vault, event, direct_round)) = read_event(row)? else {
        return Ok(Applied::Ignored);
    };
    let v = &vault;
    let b = &block.number;
    let round = |forwarded: &Option<ForwardedFrom>| round_address(forwarded, &direct_round);
    match event {
        e @ (Event::Deposit(_)
        | Event::Withdrawal(_)
        | Event::WithdrawalQueued { .. }
        | Event::BidPlaced { .. }) => {
            // A run of one.
            let mut run = Run::default();
            if let Some(member) = Member::of(vault, e, direct_round) {
                run.push(0, member);
            }
            run.apply(client, block)?;
        }
        Event::StashWithdrawn {
            account,
            vault_stashed_balance_now: vs,
            ..
        } => {
            exec(client, sql::STASH_WITHDRAWN, params(&[v, &account, &vs, b]))?;
        }
        Event::OptionRoundDeployed {
            round_id,
            address,
            auction_start_date: start,
            auction_end_date: end,
            option_settlement_date: settle,
            strike_price: k,
            cap_level: cap,
            reserve_price: reserve,
        } => {
            let mut p = params(&[
                v, &address, &round_id, &start, &end, &settle, &k, &cap, &reserve, b,
            ]);
            p.push(block.timestamp.clone().into());
            exec(client, sql::ROUND_DEPLOYED, p)?;
        }
        Event::ContractDeployed(d) => {
            if d.address != vault {
                return Err(ApplyError::Inconsistent(format!(
                    "ContractDeployed deploys {} but the event is filed under vault {v}",
                    d.address
                )));
            }
            let mut p = params(&[
                v,
                b,
                &d.fossil_client_address,
                &d.eth_address,
                &d.option_round_class_hash,
                &d.alpha,
                &d.strike_level,
                &d.round_transition_period,
                &d.auction_duration,
                &d.round_duration,
            ]);
            p.push(block.timestamp.clone().into());
            exec(client, sql::CONTRACT_DEPLOYED, p)?;
        }
        Event::FossilCallbackSuccess { .. } | Event::L1RequestFulfilled { .. } => {}
        Event::PricingDataSet {
            round: f,
            strike_price: k,
            cap_level: cap,
            reserve_price: reserve,
        } => {
            let r = round(&f);
            expect_row(
                client,
                sql::PRICING_SET,
                params(&[v, &r, &k, &cap, &reserve, b]),
                || unknown_round(&r),
            )?;
        }
        Event::AuctionStarted {
            round: f,
            starting_liquidity: s,
            options_available: n,
        } => {
            let r = round(&f);
            expect_row(
                client,
                sql::AUCTION_STARTED,
                params(&[v, &r, &s, &n, b]),
                || unknown_round(&r),
            )?;
        }
        Event::AuctionEnded {
            round: f,
            options_sold: sold,
            clearing_price: price,
            unsold_liquidity: u,
            clearing_bid_tree_nonce,
        } => {
            let r = round(&f);
            // The bidders' outcome first: an inconsistent event fails before anything is written.
            let outcome = clear_auction(round_bids(client, &r)?, sold, price)?;
            outcome.check_clearing_nonce(sold, clearing_bid_tree_nonce)?;
            let p = params(&[v, &r, &price, &sold, &u, b]);
            without_nested_loops(client, |c| {
                expect_row(c, sql::AUCTION_ENDED, p, || unknown_round(&r))
            })??;
            if !outcome.buyers.is_empty() {
                let (mut buyers, mut mintable, mut refundable) = (vec![], vec![], vec![]);
                for (buyer, o) in outcome.buyers {
                    buyers.push(buyer);
                    mintable.push(o.mintable.to_string());
                    refundable.push(o.refundable.to_string());
                }
                exec(
                    client,
                    sql::BUYERS_CLEARED,
                    vec![
                        r.into(),
                        buyers.into(),
                        mintable.into(),
                        refundable.into(),
                        b.as_str().into(),
                    ],
                )?;
            }
        }
        Event::OptionRoundSettled {
            round: f,
            settlement_price: price,
            payout_per_option: payout,
        } => {
            let r = round(&f);
            let p = params(&[v, &r, &price, &payout, b]);
            without_nested_loops(client, |c| {
                expect_row(c, sql::ROUND_SETTLED, p, || unknown_round(&r))
            })??;
        }
        Event::BidUpdated {
            round: f,
            account,
            bid_id,
            price_increase,
            tree_nonce,
            ..
        } => {
            let r = round(&f);
            let p = params(&[v, &r, &bid_id, &account, &price_increase, &tree_nonce, b]);
            expect_row(client, sql::BID_UPDATED, p, || {
                format!("round {r} of this vault has no bid {bid_id} by {account}")
            })?;
        }
        Event::OptionsMinted {
            round: f, account, ..
        }
        | Event::OptionsExercised {
            round: f, account, ..
        } => {
            let r = round(&f);
            let p = params(&[v, &r, &account, &true, &false, b]);
            expect_row(client, sql::BUYER_SETTLED, p, || unknown_round(&r))?;
        }
        Event::UnusedBidsRefunded {
            round: f, account, ..
        } => {
            let r = round(&f);
            let p = params(&[v, &r, &account, &false, &true, b]);
            expect_row(client, sql::BUYER_SETTLED, p, || unknown_round(&r))?;
        }
    }
    Ok(Applied::Applied)
}

/// An event that can join a run (see `Run`), decoded; `None` for any other event, and for one
/// that does not decode (it is applied alone, and reports its error).
pub fn run_member(row: &EventRow) -> Option<Member> {
    if !matches!(
        Kind::named(&row.name),
        Some(Kind::Deposit | Kind::Withdrawal | Kind::WithdrawalQueued | Kind::BidPlaced)
    ) {
        return None;
    }
    let (vault, event, direct_round) = read_event(row).ok()??;
    Member::of(vault, event, direct_round)
}

/// What an event of a run does: the key of the run it joins, and its values.
pub struct Member {
    key: RunKey,
    /// The account (the bid, for a BidPlaced) and its values after the event.
    entry: (String, Vec<String>),
    /// The vault's unlocked balance (liquidity) or queued liquidity (queue) after the event.
    vault_now: String,
}

impl Member {
    /// The member an event makes, if it is of a kind that runs; `direct_round` is the round of
    /// a round event in the direct layout (its emitter).
    fn of(vault: Address, event: Event, direct_round: Option<String>) -> Option<Member> {
        Some(match event {
            Event::Deposit(c) | Event::Withdrawal(c) => Member {
                key: RunKey::Liquidity(vault),
                entry: (
                    c.account.to_string(),
                    vec![c.account_unlocked_balance_now.to_string()],
                ),
                vault_now: c.vault_unlocked_balance_now.to_string(),
            },
            Event::WithdrawalQueued {
                account,
                bps,
                round_id,
                account_queued_liquidity_now,
                vault_queued_liquidity_now,
                ..
            } => Member {
                key: RunKey::Queue(vault, round_id),
                entry: (
                    account.to_string(),
                    vec![bps.to_string(), account_queued_liquidity_now.to_string()],
                ),
                vault_now: vault_queued_liquidity_now.to_string(),
            },
            Event::BidPlaced {
                round: f,
                account,
                bid_id,
                amount,
                price,
                tree_nonce,
                ..
            } => Member {
                key: RunKey::Bids(vault, round_address(&f, &direct_round)),
                entry: (
                    bid_id.to_string(),
                    vec![
                        account.to_string(),
                        tree_nonce.to_string(),
                        amount.to_string(),
                        price.to_string(),
                    ],
                ),
                vault_now: String::new(),
            },
            _ => return None,
        })
    }
}

/// What a run is of: a vault's Deposits and Withdrawals, the WithdrawalQueued of a vault's
/// round (by id), or the BidPlaced of a vault's round (by address).
#[derive(PartialEq, Eq)]
enum RunKey {
    Liquidity(Address),
    Queue(Address, u64),
    Bids(Address, String),
}

/// Consecutive events of one key (`RunKey`), applied by one statement whose triggers fire once
/// instead of once per event. Each Deposit, Withdrawal and WithdrawalQueued carries the state
/// after it, so the run's outcome is each account's after its last event and the vault's after
/// the run's last; each BidPlaced adds its bid (a bid placed twice makes the statement fail,
/// as its second insert alone would). Readers get one notification per row the run changed,
/// with the state after the run.
#[derive(Default)]
pub struct Run {
    key: Option<RunKey>,
    entries: Vec<(String, Vec<String>)>,
    position: HashMap<String, usize>,
    vault_now: String,
    /// The run's events, as indices into the block's event rows.
    pub rows: Vec<usize>,
}

impl Run {
    /// Whether `member` continues this run.
    pub fn continues(&self, member: &Member) -> bool {
        self.key.as_ref().is_none_or(|k| *k == member.key)
    }

    pub fn push(&mut self, row: usize, member: Member) {
        let (name, values) = member.entry;
        match self.position.get(&name) {
            Some(&i) if !matches!(member.key, RunKey::Bids(..)) => self.entries[i].1 = values,
            _ => {
                self.position.insert(name.clone(), self.entries.len());
                self.entries.push((name, values));
            }
        }
        self.vault_now = member.vault_now;
        self.key = Some(member.key);
        self.rows.push(row);
    }

    /// The run's column `i`: the entries' names (0) or their values (1, 2, …).
    fn column(&self, i: usize) -> Param {
        let values: Vec<String> = self
            .entries
            .iter()
            .map(|(name, values)| match i {
                0 => name.clone(),
                _ => values.get(i - 1).cloned().unwrap_or_default(),
            })
            .collect();
        values.into()
    }

    pub fn apply(&self, client: &mut SpiClient<'_>, block: &BlockCtx) -> Result<(), ApplyError> {
        let vault_now = || Param::from(self.vault_now.clone());
        match &self.key {
            None => Ok(()),
            Some(RunKey::Liquidity(vault)) => {
                let p = vec![
                    vault.to_string().into(),
                    self.column(0),
                    self.column(1),
                    vault_now(),
                    block.number.clone().into(),
                ];
                exec(client, sql::LIQUIDITY_CHANGED, p)
            }
            Some(RunKey::Queue(vault, round_id)) => {
                let mut p = params(&[vault, round_id]);
                p.extend([self.column(0), self.column(1), self.column(2), vault_now()]);
                p.push(block.number.clone().into());
                expect_row(client, sql::WITHDRAWALS_QUEUED, p, || {
                    format!("the vault has no round {round_id}")
                })
            }
            Some(RunKey::Bids(vault, round)) => {
                let mut p = params(&[vault, round]);
                p.extend((0..5).map(|i| self.column(i)));
                p.push(block.number.clone().into());
                expect_row(client, sql::BIDS_PLACED, p, || unknown_round(round))
            }
        }
    }
}

/// Statement parameters from anything printable: addresses print as normalised hex, numbers
/// as decimal (cast to numeric in the SQL), booleans as true/false.
fn params(values: &[&dyn Display]) -> Vec<Param> {
    values.iter().map(|v| Param::from(v.to_string())).collect()
}

fn unknown_round(round: &str) -> String {
    format!("round {round} is not a round of this vault")
}

fn exec(
    client: &mut SpiClient<'_>,
    statement: &'static str,
    params: Vec<Param>,
) -> Result<(), ApplyError> {
    run(client, statement, &params)?;
    Ok(())
}

/// Runs a statement that returns `count(*)` of the rounds (or bids) it matched; none is an error.
fn expect_row(
    client: &mut SpiClient<'_>,
    statement: &'static str,
    params: Vec<Param>,
    missing: impl FnOnce() -> String,
) -> Result<(), ApplyError> {
    let matched = run(client, statement, &params)?
        .first()
        .get_one::<i64>()?
        .unwrap_or(0);
    if matched == 0 {
        return Err(ApplyError::Inconsistent(missing()));
    }
    Ok(())
}

fn round_bids(client: &mut SpiClient<'_>, round: &str) -> Result<Vec<Bid>, ApplyError> {
    let table = read(client, sql::ROUND_BIDS, &[round.into()])?;
    let mut bids = Vec::new();
    for row in table {
        let field = |name: &str| -> Result<String, ApplyError> {
            row.get_by_name::<String, _>(name)?.ok_or_else(|| {
                ApplyError::Inconsistent(format!("a bid of round {round} has no {name}"))
            })
        };
        let (buyer, nonce, amount, price) = (
            field("buyer_address")?,
            field("tree_nonce")?,
            field("amount")?,
            field("price")?,
        );
        let bad = |what: &str, v: &str| {
            ApplyError::Inconsistent(format!("a bid of round {round} has {what} {v}"))
        };
        bids.push(Bid {
            buyer,
            tree_nonce: nonce.parse().map_err(|_| bad("tree_nonce", &nonce))?,
            amount: U256::from_dec_str(&amount).ok_or_else(|| bad("amount", &amount))?,
            price: U256::from_dec_str(&price).ok_or_else(|| bad("price", &price))?,
        });
    }
    Ok(bids)
}
