//! One event: decode it in the layout its emitter implies, then run its transition.

use super::plans::{run, Param};
use super::statements as sql;
use crate::decode::{decode, is_round_event, Address, DecodeError, Event, Layout, LiquidityChange};
use crate::math::{clear_auction, AuctionError, Bid, U256};
use pgrx::spi::{SpiClient, SpiError};

/// An `events` row, as the apply path reads it.
pub struct EventRow {
    pub vault_raw: String,
    pub nonce: i64,
    pub name: String,
    pub keys: Vec<String>,
    pub data: Vec<String>,
    /// `events.from_address` when the column exists and is set.
    pub emitter: Option<String>,
}

/// The block being applied.
pub struct BlockCtx {
    pub number: String,
    pub hash: String,
    pub timestamp: String,
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

pub fn apply_event(
    client: &mut SpiClient<'_>,
    block: &BlockCtx,
    row: &EventRow,
) -> Result<Applied, ApplyError> {
    let vault = Address::parse(&row.vault_raw)
        .map_err(|e| ApplyError::Inconsistent(format!("events.vault_address: {e}")))?;
    let emitter = match &row.emitter {
        Some(raw) => Some(
            Address::parse(raw)
                .map_err(|e| ApplyError::Inconsistent(format!("events.from_address: {e}")))?,
        ),
        None => None,
    };
    let (layout, direct_round) = if is_round_event(&row.name) {
        layout_and_round(&vault, emitter.as_ref())
    } else {
        (Layout::Direct, None)
    };
    let event = match decode(&row.name, &row.keys, &row.data, layout) {
        Ok(event) => event,
        Err(DecodeError::UnknownEvent(_)) => return Ok(Applied::Ignored),
        Err(e) => return Err(e.into()),
    };
    let v = vault.to_string();
    let b = block.number.clone();
    // The round of a round event: the emitter (direct) or the forwarded round address.
    let round = |forwarded: &Option<crate::decode::ForwardedFrom>| -> String {
        match forwarded {
            Some(f) => f.round_address.to_string(),
            None => direct_round.clone().unwrap_or_default(),
        }
    };
    match event {
        Event::Deposit(c) | Event::Withdrawal(c) => {
            let LiquidityChange {
                account,
                account_unlocked_balance_now,
                vault_unlocked_balance_now,
                ..
            } = c;
            exec(
                client,
                sql::LIQUIDITY_CHANGED,
                vec![
                    v.into(),
                    account.to_string().into(),
                    account_unlocked_balance_now.to_string().into(),
                    vault_unlocked_balance_now.to_string().into(),
                    b.into(),
                ],
            )?;
        }
        Event::WithdrawalQueued {
            account,
            bps,
            round_id,
            account_queued_liquidity_now,
            vault_queued_liquidity_now,
            ..
        } => {
            let params = vec![
                v.into(),
                account.to_string().into(),
                round_id.to_string().into(),
                bps.to_string().into(),
                vault_queued_liquidity_now.to_string().into(),
                account_queued_liquidity_now.to_string().into(),
            ];
            expect_round(client, sql::WITHDRAWAL_QUEUED, params, || {
                format!("the vault has no round {round_id}")
            })?;
        }
        Event::StashWithdrawn {
            account,
            vault_stashed_balance_now,
            ..
        } => {
            exec(
                client,
                sql::STASH_WITHDRAWN,
                vec![
                    v.into(),
                    account.to_string().into(),
                    vault_stashed_balance_now.to_string().into(),
                    b.into(),
                ],
            )?;
        }
        Event::OptionRoundDeployed {
            round_id,
            address,
            auction_start_date,
            auction_end_date,
            option_settlement_date,
            strike_price,
            cap_level,
            reserve_price,
        } => {
            exec(
                client,
                sql::ROUND_DEPLOYED,
                vec![
                    v.into(),
                    address.to_string().into(),
                    round_id.to_string().into(),
                    auction_start_date.to_string().into(),
                    auction_end_date.to_string().into(),
                    option_settlement_date.to_string().into(),
                    block.timestamp.clone().into(),
                    strike_price.to_string().into(),
                    cap_level.to_string().into(),
                    reserve_price.to_string().into(),
                    b.into(),
                ],
            )?;
        }
        Event::ContractDeployed(d) => {
            if d.address != vault {
                return Err(ApplyError::Inconsistent(format!(
                    "ContractDeployed deploys {} but the event is filed under vault {v}",
                    d.address
                )));
            }
            exec(
                client,
                sql::CONTRACT_DEPLOYED,
                vec![
                    v.into(),
                    b.into(),
                    block.timestamp.clone().into(),
                    d.fossil_client_address.to_string().into(),
                    d.eth_address.to_string().into(),
                    d.option_round_class_hash.to_string().into(),
                    d.alpha.to_string().into(),
                    d.strike_level.to_string().into(),
                    d.round_transition_period.to_string().into(),
                    d.auction_duration.to_string().into(),
                    d.round_duration.to_string().into(),
                ],
            )?;
        }
        Event::FossilCallbackSuccess { .. } | Event::L1RequestFulfilled { .. } => {}
        Event::PricingDataSet {
            round: f,
            strike_price,
            cap_level,
            reserve_price,
        } => {
            let r = round(&f);
            let params = vec![
                v.into(),
                r.clone().into(),
                strike_price.to_string().into(),
                cap_level.to_string().into(),
                reserve_price.to_string().into(),
            ];
            expect_round(client, sql::PRICING_SET, params, || unknown_round(&r))?;
        }
        Event::AuctionStarted {
            round: f,
            starting_liquidity,
            options_available,
        } => {
            let r = round(&f);
            let params = vec![
                v.into(),
                r.clone().into(),
                starting_liquidity.to_string().into(),
                options_available.to_string().into(),
                b.into(),
            ];
            expect_round(client, sql::AUCTION_STARTED, params, || unknown_round(&r))?;
        }
        Event::AuctionEnded {
            round: f,
            options_sold,
            clearing_price,
            unsold_liquidity,
            clearing_bid_tree_nonce,
        } => {
            let r = round(&f);
            // The bidders' outcome first: an inconsistent event fails before anything is written.
            let bids = round_bids(client, &r)?;
            let outcome = clear_auction(bids, options_sold, clearing_price)?;
            outcome.check_clearing_nonce(options_sold, clearing_bid_tree_nonce)?;
            let params = vec![
                v.into(),
                r.clone().into(),
                clearing_price.to_string().into(),
                options_sold.to_string().into(),
                unsold_liquidity.to_string().into(),
                b.into(),
            ];
            expect_round(client, sql::AUCTION_ENDED, params, || unknown_round(&r))?;
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
                    vec![r.into(), buyers.into(), mintable.into(), refundable.into()],
                )?;
            }
        }
        Event::OptionRoundSettled {
            round: f,
            settlement_price,
            payout_per_option,
        } => {
            let r = round(&f);
            let params = vec![
                v.into(),
                r.clone().into(),
                settlement_price.to_string().into(),
                payout_per_option.to_string().into(),
                b.into(),
            ];
            expect_round(client, sql::ROUND_SETTLED, params, || unknown_round(&r))?;
        }
        Event::BidPlaced {
            round: f,
            account,
            bid_id,
            amount,
            price,
            tree_nonce,
            ..
        } => {
            let r = round(&f);
            let params = vec![
                v.into(),
                r.clone().into(),
                bid_id.to_string().into(),
                account.to_string().into(),
                tree_nonce.to_string().into(),
                amount.to_string().into(),
                price.to_string().into(),
            ];
            expect_round(client, sql::BID_PLACED, params, || unknown_round(&r))?;
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
            let params = vec![
                v.into(),
                r.clone().into(),
                bid_id.to_string().into(),
                account.to_string().into(),
                price_increase.to_string().into(),
                tree_nonce.to_string().into(),
            ];
            expect_round(client, sql::BID_UPDATED, params, || {
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
            expect_round(
                client,
                sql::OPTIONS_MINTED,
                vec![v.into(), r.clone().into(), account.to_string().into()],
                || unknown_round(&r),
            )?;
        }
        Event::UnusedBidsRefunded {
            round: f, account, ..
        } => {
            let r = round(&f);
            expect_round(
                client,
                sql::BIDS_REFUNDED,
                vec![v.into(), r.clone().into(), account.to_string().into()],
                || unknown_round(&r),
            )?;
        }
    }
    Ok(Applied::Applied)
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
fn expect_round(
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
    let table = run(client, sql::ROUND_BIDS, &[round.into()])?;
    let mut bids = Vec::new();
    for row in table {
        let field = |i: usize, name: &str| -> Result<String, ApplyError> {
            row.get::<String>(i)?.ok_or_else(|| {
                ApplyError::Inconsistent(format!("a bid of round {round} has no {name}"))
            })
        };
        let (buyer, nonce, amount, price) = (
            field(1, "buyer")?,
            field(2, "tree_nonce")?,
            field(3, "amount")?,
            field(4, "price")?,
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
