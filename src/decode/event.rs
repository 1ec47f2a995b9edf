//! The typed events of SPEC section 3, and the decoder from (name, keys, data) felts.

use super::error::{DecodeError, Part};
use super::felt::{Address, FeltError, FeltText};
use super::kind::Kind;
use crate::math::U256;
use serde::Serialize;
use std::fmt::Display;

/// How a round event reached the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Emitted by the round contract itself (current contracts).
    Direct,
    /// Re-emitted by the vault with the round id as an extra last key and the round address as
    /// an extra last data felt (vault-consolidated contracts).
    Forwarded,
}

/// The round a forwarded event names; direct events are identified by their emitter instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForwardedFrom {
    #[serde(serialize_with = "decimal")]
    pub round_id: u64,
    pub round_address: Address,
}

/// A Deposit or Withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiquidityChange {
    pub account: Address,
    pub amount: U256,
    pub account_unlocked_balance_now: U256,
    pub vault_unlocked_balance_now: U256,
}

/// The vault configuration read from the Universal Deployer's `ContractDeployed` calldata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaultDeployment {
    pub address: Address,
    pub deployer: Address,
    pub class_hash: Address,
    pub generation: VaultGeneration,
    pub fossil_client_address: Address,
    pub eth_address: Address,
    pub option_round_class_hash: Address,
    #[serde(serialize_with = "decimal")]
    pub alpha: u128,
    #[serde(serialize_with = "decimal")]
    pub strike_level: i128,
    #[serde(serialize_with = "decimal_opt")]
    pub minimum_cap_level: Option<u128>,
    #[serde(serialize_with = "decimal")]
    pub round_transition_period: u64,
    #[serde(serialize_with = "decimal")]
    pub auction_duration: u64,
    #[serde(serialize_with = "decimal")]
    pub round_duration: u64,
    pub program_id: Option<Address>,
    #[serde(serialize_with = "decimal_opt")]
    pub proving_delay: Option<u64>,
}

/// The vault constructors, told apart by their calldata length (not by the event layout: the
/// forwarded layout is seen with 10 arguments too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VaultGeneration {
    /// 10 constructor arguments: verifier, …, program_id, proving_delay (branch main).
    Current,
    /// 9 constructor arguments: l1_data_processor, …, minimum_cap_level, … (branch develop).
    Consolidated,
    /// 8 constructor arguments: fossil_client, eth, round class hash, alpha, strike level and
    /// the three durations (vaults of Nov 2024 – Mar 2025; not in SPEC, found in the Cairo
    /// history).
    Early,
}

/// A decoded event. Round events carry `round: Some(..)` in the forwarded layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event")]
pub enum Event {
    Deposit(LiquidityChange),
    Withdrawal(LiquidityChange),
    WithdrawalQueued {
        account: Address,
        #[serde(serialize_with = "decimal")]
        bps: u128,
        #[serde(serialize_with = "decimal")]
        round_id: u64,
        account_queued_liquidity_before: U256,
        account_queued_liquidity_now: U256,
        vault_queued_liquidity_now: U256,
    },
    StashWithdrawn {
        account: Address,
        amount: U256,
        vault_stashed_balance_now: U256,
    },
    OptionRoundDeployed {
        #[serde(serialize_with = "decimal")]
        round_id: u64,
        address: Address,
        #[serde(serialize_with = "decimal")]
        auction_start_date: u64,
        #[serde(serialize_with = "decimal")]
        auction_end_date: u64,
        #[serde(serialize_with = "decimal")]
        option_settlement_date: u64,
        strike_price: U256,
        #[serde(serialize_with = "decimal")]
        cap_level: u128,
        reserve_price: U256,
    },
    FossilCallbackSuccess {
        twap: U256,
        #[serde(serialize_with = "decimal")]
        max_return: u128,
        reserve_price: U256,
        #[serde(serialize_with = "decimal")]
        timestamp: u64,
    },
    L1RequestFulfilled {
        id: Address,
        caller: Address,
    },
    ContractDeployed(VaultDeployment),
    PricingDataSet {
        #[serde(flatten)]
        round: Option<ForwardedFrom>,
        strike_price: U256,
        #[serde(serialize_with = "decimal")]
        cap_level: u128,
        reserve_price: U256,
    },
    AuctionStarted {
        #[serde(flatten)]
        round: Option<ForwardedFrom>,
        starting_liquidity: U256,
        options_available: U256,
    },
    AuctionEnded {
        #[serde(flatten)]
        round: Option<ForwardedFrom>,
        options_sold: U256,
        clearing_price: U256,
        unsold_liquidity: U256,
        #[serde(serialize_with = "decimal")]
        clearing_bid_tree_nonce: u64,
    },
    OptionRoundSettled {
        #[serde(flatten)]
        round: Option<ForwardedFrom>,
        settlement_price: U256,
        payout_per_option: U256,
    },
    BidPlaced {
        #[serde(flatten)]
        round: Option<ForwardedFrom>,
        account: Address,
        bid_id: Address,
        amount: U256,
        price: U256,
        #[serde(serialize_with = "decimal")]
        bid_tree_nonce_now: u64,
        /// The bid's position in the round's bid tree: `bid_tree_nonce_now − 1`.
        #[serde(serialize_with = "decimal")]
        tree_nonce: u64,
    },
    BidUpdated {
        #[serde(flatten)]
        round: Option<ForwardedFrom>,
        account: Address,
        bid_id: Address,
        price_increase: U256,
        #[serde(serialize_with = "decimal")]
        bid_tree_nonce_before: u64,
        #[serde(serialize_with = "decimal")]
        bid_tree_nonce_now: u64,
        /// The bid's new tree nonce: `bid_tree_nonce_now − 1` (direct) or `bid_tree_nonce_now`
        /// (forwarded: the vault re-emits the nonce the bid was given).
        #[serde(serialize_with = "decimal")]
        tree_nonce: u64,
    },
    OptionsMinted {
        #[serde(flatten)]
        round: Option<ForwardedFrom>,
        account: Address,
        minted_amount: U256,
    },
    UnusedBidsRefunded {
        #[serde(flatten)]
        round: Option<ForwardedFrom>,
        account: Address,
        refunded_amount: U256,
    },
    OptionsExercised {
        #[serde(flatten)]
        round: Option<ForwardedFrom>,
        account: Address,
        total_options_exercised: U256,
        mintable_options_exercised: U256,
        exercised_amount: U256,
    },
}

fn decimal<T: Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn decimal_opt<T: Display, S: serde::Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// Reads typed fields one after another from keys or data, so positions and names in errors
/// are always right.
struct Fields<'a, T> {
    event: &'static str,
    part: Part,
    felts: &'a [T],
    next: usize,
}

impl<'a, T: FeltText> Fields<'a, T> {
    fn new(event: &'static str, part: Part, felts: &'a [T], start: usize) -> Self {
        Fields {
            event,
            part,
            felts,
            next: start,
        }
    }

    fn felt(&mut self, field: &str) -> Result<U256, DecodeError> {
        let index = self.next;
        let raw = self.felts.get(index).ok_or_else(|| DecodeError::Missing {
            event: self.event,
            part: self.part,
            index,
            field: field.to_owned(),
            len: self.felts.len(),
        })?;
        self.next += 1;
        raw.felt_text()
            .ok_or(FeltError::Null)
            .and_then(U256::parse_felt)
            .map_err(|source| DecodeError::Felt {
                event: self.event,
                part: self.part,
                index,
                field: field.to_owned(),
                source,
            })
    }

    fn out_of_range(&self, field: &str, value: U256, ty: &'static str) -> DecodeError {
        DecodeError::OutOfRange {
            event: self.event,
            part: self.part,
            index: self.next - 1,
            field: field.to_owned(),
            value: value.to_string(),
            ty,
        }
    }

    fn address(&mut self, field: &str) -> Result<Address, DecodeError> {
        self.felt(field).map(Address)
    }

    fn u128(&mut self, field: &str) -> Result<u128, DecodeError> {
        let v = self.felt(field)?;
        v.to_u128()
            .ok_or_else(|| self.out_of_range(field, v, "u128"))
    }

    fn u64(&mut self, field: &str) -> Result<u64, DecodeError> {
        let v = self.felt(field)?;
        v.to_u128()
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| self.out_of_range(field, v, "u64"))
    }

    fn i128(&mut self, field: &str) -> Result<i128, DecodeError> {
        let v = self.felt(field)?;
        v.to_i128()
            .ok_or_else(|| self.out_of_range(field, v, "i128"))
    }

    /// A u256: two felts, low then high, each below 2^128.
    fn u256(&mut self, field: &str) -> Result<U256, DecodeError> {
        let low = self.u128(&format!("{field}.low"))?;
        let high = self.u128(&format!("{field}.high"))?;
        Ok(U256::from_halves(low, high))
    }

    /// Fails when felts are left over after the last field.
    fn finish(self) -> Result<(), DecodeError> {
        if self.next < self.felts.len() {
            return Err(DecodeError::Extra {
                event: self.event,
                part: self.part,
                used: self.next,
                len: self.felts.len(),
            });
        }
        Ok(())
    }
}

/// Decodes one event. `layout` matters only for round events.
pub fn decode<K: FeltText, D: FeltText>(
    name: &str,
    keys: &[K],
    data: &[D],
    layout: Layout,
) -> Result<Event, DecodeError> {
    let kind = Kind::named(name).ok_or_else(|| DecodeError::UnknownEvent(name.to_owned()))?;
    let (event, expected) = (kind.name(), kind.selector());
    let first = keys
        .first()
        .ok_or(DecodeError::NoSelector { event, expected })?;
    let mut k = Fields::new(event, Part::Keys, keys, 0);
    let found = k.felt("selector")?;
    if Some(found) != U256::parse_felt(expected).ok() {
        return Err(DecodeError::WrongSelector {
            event,
            found: first.felt_text().unwrap_or_default().to_owned(),
            expected,
        });
    }
    let mut d = Fields::new(event, Part::Data, data, 0);
    let decoded = decode_fields(kind, &mut k, &mut d, layout)?;
    k.finish()?;
    d.finish()?;
    Ok(decoded)
}

fn decode_fields<K: FeltText, D: FeltText>(
    kind: Kind,
    k: &mut Fields<'_, K>,
    d: &mut Fields<'_, D>,
    layout: Layout,
) -> Result<Event, DecodeError> {
    // Keys come first in a forwarded event: the round id follows the event's own keys, and the
    // round address follows its data.
    let account = |k: &mut Fields<'_, K>| k.address("account");
    let liquidity =
        |k: &mut Fields<'_, K>, d: &mut Fields<'_, D>| -> Result<LiquidityChange, DecodeError> {
            Ok(LiquidityChange {
                account: account(k)?,
                amount: d.u256("amount")?,
                account_unlocked_balance_now: d.u256("account_unlocked_balance_now")?,
                vault_unlocked_balance_now: d.u256("vault_unlocked_balance_now")?,
            })
        };
    let (event, forwarded) = (kind.name(), layout == Layout::Forwarded);
    let mut decoded = match kind {
        Kind::Deposit => Event::Deposit(liquidity(k, d)?),
        Kind::Withdrawal => Event::Withdrawal(liquidity(k, d)?),
        Kind::WithdrawalQueued => Event::WithdrawalQueued {
            account: account(k)?,
            bps: d.u128("bps")?,
            round_id: d.u64("round_id")?,
            account_queued_liquidity_before: d.u256("account_queued_liquidity_before")?,
            account_queued_liquidity_now: d.u256("account_queued_liquidity_now")?,
            vault_queued_liquidity_now: d.u256("vault_queued_liquidity_now")?,
        },
        Kind::StashWithdrawn => Event::StashWithdrawn {
            account: account(k)?,
            amount: d.u256("amount")?,
            vault_stashed_balance_now: d.u256("vault_stashed_balance_now")?,
        },
        Kind::OptionRoundDeployed => Event::OptionRoundDeployed {
            round_id: d.u64("round_id")?,
            address: d.address("address")?,
            auction_start_date: d.u64("auction_start_date")?,
            auction_end_date: d.u64("auction_end_date")?,
            option_settlement_date: d.u64("option_settlement_date")?,
            strike_price: d.u256("strike_price")?,
            cap_level: d.u128("cap_level")?,
            reserve_price: d.u256("reserve_price")?,
        },
        Kind::FossilCallbackSuccess => Event::FossilCallbackSuccess {
            twap: d.u256("twap")?,
            max_return: d.u128("max_return")?,
            reserve_price: d.u256("reserve_price")?,
            timestamp: d.u64("timestamp")?,
        },
        Kind::L1RequestFulfilled => Event::L1RequestFulfilled {
            id: k.address("id")?,
            caller: k.address("caller")?,
        },
        Kind::ContractDeployed => Event::ContractDeployed(vault_deployment(event, d)?),
        Kind::PricingDataSet => Event::PricingDataSet {
            round: None,
            strike_price: d.u256("strike_price")?,
            cap_level: d.u128("cap_level")?,
            reserve_price: d.u256("reserve_price")?,
        },
        Kind::AuctionStarted => Event::AuctionStarted {
            round: None,
            starting_liquidity: d.u256("starting_liquidity")?,
            options_available: d.u256("options_available")?,
        },
        Kind::AuctionEnded => Event::AuctionEnded {
            round: None,
            options_sold: d.u256("options_sold")?,
            clearing_price: d.u256("clearing_price")?,
            unsold_liquidity: d.u256("unsold_liquidity")?,
            clearing_bid_tree_nonce: d.u64("clearing_bid_tree_nonce")?,
        },
        Kind::OptionRoundSettled => Event::OptionRoundSettled {
            round: None,
            settlement_price: d.u256("settlement_price")?,
            payout_per_option: d.u256("payout_per_option")?,
        },
        Kind::BidPlaced => {
            let account = k.address("account")?;
            let bid_id = d.address("bid_id")?;
            let amount = d.u256("amount")?;
            let price = d.u256("price")?;
            let bid_tree_nonce_now = d.u64("bid_tree_nonce_now")?;
            let tree_nonce = bid_tree_nonce_now
                .checked_sub(1)
                .ok_or(DecodeError::ZeroTreeNonce { event })?;
            Event::BidPlaced {
                round: None,
                account,
                bid_id,
                amount,
                price,
                bid_tree_nonce_now,
                tree_nonce,
            }
        }
        Kind::BidUpdated => {
            let account = k.address("account")?;
            let bid_id = d.address("bid_id")?;
            let price_increase = d.u256("price_increase")?;
            let bid_tree_nonce_before = d.u64("bid_tree_nonce_before")?;
            let bid_tree_nonce_now = d.u64("bid_tree_nonce_now")?;
            let tree_nonce = if forwarded {
                bid_tree_nonce_now
            } else {
                bid_tree_nonce_now
                    .checked_sub(1)
                    .ok_or(DecodeError::ZeroTreeNonce { event })?
            };
            Event::BidUpdated {
                round: None,
                account,
                bid_id,
                price_increase,
                bid_tree_nonce_before,
                bid_tree_nonce_now,
                tree_nonce,
            }
        }
        Kind::OptionsMinted => Event::OptionsMinted {
            round: None,
            account: k.address("account")?,
            minted_amount: d.u256("minted_amount")?,
        },
        Kind::UnusedBidsRefunded => Event::UnusedBidsRefunded {
            round: None,
            account: k.address("account")?,
            refunded_amount: d.u256("refunded_amount")?,
        },
        Kind::OptionsExercised => Event::OptionsExercised {
            round: None,
            account: k.address("account")?,
            total_options_exercised: d.u256("total_options_exercised")?,
            mintable_options_exercised: d.u256("mintable_options_exercised")?,
            exercised_amount: d.u256("exercised_amount")?,
        },
    };
    if let (true, Some(slot)) = (forwarded, decoded.round_mut()) {
        // After a round event's own fields: the round id as the last key, the round address as
        // the last data felt.
        *slot = Some(ForwardedFrom {
            round_id: k.u64("round_id")?,
            round_address: d.address("round_address")?,
        });
    }
    Ok(decoded)
}

/// `ContractDeployed` data: address, deployer, unique, class_hash, calldata_len, calldata…,
/// then felts the vault does not use (the salt). Read by position, not by total length.
fn vault_deployment<D: FeltText>(
    event: &'static str,
    d: &mut Fields<'_, D>,
) -> Result<VaultDeployment, DecodeError> {
    let address = d.address("address")?;
    let deployer = d.address("deployer")?;
    d.felt("unique")?;
    let class_hash = d.address("class_hash")?;
    let len = d.u64("calldata_len")?;
    let generation = match len {
        10 => VaultGeneration::Current,
        9 => VaultGeneration::Consolidated,
        8 => VaultGeneration::Early,
        len => return Err(DecodeError::UnknownVaultGeneration { event, len }),
    };
    let fossil_client_address = d.address(match generation {
        VaultGeneration::Current => "verifier",
        VaultGeneration::Consolidated => "l1_data_processor",
        VaultGeneration::Early => "fossil_client_address",
    })?;
    let eth_address = d.address("eth_address")?;
    let option_round_class_hash = d.address("option_round_class_hash")?;
    let alpha = d.u128("alpha")?;
    let strike_level = d.i128("strike_level")?;
    let minimum_cap_level = match generation {
        VaultGeneration::Consolidated => Some(d.u128("minimum_cap_level")?),
        _ => None,
    };
    let round_transition_period = d.u64("round_transition_period")?;
    let auction_duration = d.u64("auction_duration")?;
    let round_duration = d.u64("round_duration")?;
    let (program_id, proving_delay) = match generation {
        VaultGeneration::Current => (
            Some(d.address("program_id")?),
            Some(d.u64("proving_delay")?),
        ),
        _ => (None, None),
    };
    d.next = d.felts.len(); // the salt and anything after the calldata are not ours to check
    Ok(VaultDeployment {
        address,
        deployer,
        class_hash,
        generation,
        fossil_client_address,
        eth_address,
        option_round_class_hash,
        alpha,
        strike_level,
        minimum_cap_level,
        round_transition_period,
        auction_duration,
        round_duration,
        program_id,
        proving_delay,
    })
}

impl Event {
    /// The forwarded-round slot of a round event (`None` for vault events).
    fn round_mut(&mut self) -> Option<&mut Option<ForwardedFrom>> {
        match self {
            Event::PricingDataSet { round, .. }
            | Event::AuctionStarted { round, .. }
            | Event::AuctionEnded { round, .. }
            | Event::OptionRoundSettled { round, .. }
            | Event::BidPlaced { round, .. }
            | Event::BidUpdated { round, .. }
            | Event::OptionsMinted { round, .. }
            | Event::UnusedBidsRefunded { round, .. }
            | Event::OptionsExercised { round, .. } => Some(round),
            // Listed, not matched by `_`: a new event must say whether a round emits it.
            Event::Deposit(_)
            | Event::Withdrawal(_)
            | Event::WithdrawalQueued { .. }
            | Event::StashWithdrawn { .. }
            | Event::OptionRoundDeployed { .. }
            | Event::FossilCallbackSuccess { .. }
            | Event::L1RequestFulfilled { .. }
            | Event::ContractDeployed(_) => None,
        }
    }
}
