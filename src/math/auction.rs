//! The bidders' side of `AuctionEnded`: which bids won, how many options each buyer may mint
//! and how much each may get refunded, as the round contract computes them.

use super::uint::{U256, U512};
use std::collections::BTreeMap;

/// A bid as stored in `"Bids"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bid {
    pub buyer: String,
    pub tree_nonce: u64,
    pub amount: U256,
    pub price: U256,
}

/// Per buyer: options to mint and the refundable balance (Σ amount·price fits in 512 bits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuyerOutcome {
    pub mintable: U256,
    pub refundable: U512,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Keyed by buyer address; every bidder of the round has an entry.
    pub buyers: BTreeMap<String, BuyerOutcome>,
    /// The tree nonce of the partly or exactly filled bid, `None` when nothing was sold.
    pub clearing_tree_nonce: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuctionError {
    #[error("options_sold = {sold} but the bids only ask for {bid}")]
    Oversold { sold: String, bid: String },
    #[error("bid with tree nonce {tree_nonce} wins at price {price}, below the clearing price {clearing_price}")]
    WinnerBelowClearingPrice {
        tree_nonce: u64,
        price: String,
        clearing_price: String,
    },
    #[error("the clearing bid has tree nonce {}, the event says {expected}", found.map_or("(none)".into(), |n| n.to_string()))]
    ClearingNonceMismatch { found: Option<u64>, expected: u64 },
    #[error("buyer {buyer}: the sum of mintable options or refunds overflows")]
    Overflow { buyer: String },
}

/// Walks the bids by price descending, then tree nonce ascending. While options are left, a
/// bid asking for fewer than are left wins whole and is refunded what it bid above the clearing
/// price; the first bid asking for at least what is left is the clearing bid: it gets what is
/// left and is refunded the rest at its own price; every later bid loses and is refunded whole.
pub fn clear_auction(
    mut bids: Vec<Bid>,
    options_sold: U256,
    clearing_price: U256,
) -> Result<Outcome, AuctionError> {
    bids.sort_by(|a, b| b.price.cmp(&a.price).then(a.tree_nonce.cmp(&b.tree_nonce)));
    let mut buyers: BTreeMap<String, BuyerOutcome> = BTreeMap::new();
    let mut left = options_sold;
    let mut clearing_tree_nonce = None;
    for bid in bids {
        let (mintable, refund_units, refund_price) = if left.is_zero() {
            (U256::ZERO, bid.amount, bid.price)
        } else if bid.amount < left {
            let above = bid.price.checked_sub(clearing_price).ok_or_else(|| {
                AuctionError::WinnerBelowClearingPrice {
                    tree_nonce: bid.tree_nonce,
                    price: bid.price.to_string(),
                    clearing_price: clearing_price.to_string(),
                }
            })?;
            left = left.checked_sub(bid.amount).unwrap_or(U256::ZERO);
            (bid.amount, bid.amount, above)
        } else {
            clearing_tree_nonce = Some(bid.tree_nonce);
            let filled = std::mem::replace(&mut left, U256::ZERO);
            (
                filled,
                bid.amount.checked_sub(filled).unwrap_or(U256::ZERO),
                bid.price,
            )
        };
        let overflow = || AuctionError::Overflow {
            buyer: bid.buyer.clone(),
        };
        let product: U512 = refund_units.widening_mul(refund_price);
        let entry = buyers.entry(bid.buyer.clone()).or_default();
        entry.mintable = entry.mintable.checked_add(mintable).ok_or_else(overflow)?;
        entry.refundable = entry.refundable.checked_add(product).ok_or_else(overflow)?;
    }
    if !left.is_zero() {
        return Err(AuctionError::Oversold {
            sold: options_sold.to_string(),
            bid: options_sold
                .checked_sub(left)
                .unwrap_or(U256::ZERO)
                .to_string(),
        });
    }
    Ok(Outcome {
        buyers,
        clearing_tree_nonce,
    })
}

impl Outcome {
    /// The event's `clearing_bid_tree_nonce` must name the clearing bid when options were sold.
    pub fn check_clearing_nonce(
        &self,
        options_sold: U256,
        expected: u64,
    ) -> Result<(), AuctionError> {
        if options_sold.is_zero() || self.clearing_tree_nonce == Some(expected) {
            Ok(())
        } else {
            Err(AuctionError::ClearingNonceMismatch {
                found: self.clearing_tree_nonce,
                expected,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bid(buyer: &str, tree_nonce: u64, amount: u128, price: u128) -> Bid {
        Bid {
            buyer: buyer.into(),
            tree_nonce,
            amount: U256::from_u128(amount),
            price: U256::from_u128(price),
        }
    }

    fn outcome(bids: Vec<Bid>, sold: u128, clearing: u128) -> Vec<(String, String, String)> {
        let o = clear_auction(bids, U256::from_u128(sold), U256::from_u128(clearing)).unwrap();
        o.buyers
            .into_iter()
            .map(|(b, x)| (b, x.mintable.to_string(), x.refundable.to_string()))
            .collect()
    }

    fn row(b: &str, m: u128, r: u128) -> (String, String, String) {
        (b.into(), m.to_string(), r.to_string())
    }

    /// Oversubscribed, with a tie at the clearing price: the earlier tree nonce is filled first
    /// and partly; the later one at the same price loses whole.
    #[test]
    fn tie_at_the_clearing_price_goes_to_the_earlier_bid() {
        let bids = vec![
            bid("0xa", 0, 40, 10),
            bid("0xb", 1, 50, 7),
            bid("0xc", 2, 30, 7),
            bid("0xa", 3, 10, 5),
        ];
        // sold 70 at 7: 0xa wins 40 (refund 40·(10−7) = 120), 0xb clears 30 of 50 (refund
        // 20·7 = 140), 0xc loses 30·7 = 210, 0xa's second bid loses 10·5 = 50.
        assert_eq!(
            outcome(bids.clone(), 70, 7),
            vec![row("0xa", 40, 170), row("0xb", 30, 140), row("0xc", 0, 210)]
        );
        let o = clear_auction(bids, U256::from_u128(70), U256::from_u128(7)).unwrap();
        assert_eq!(o.clearing_tree_nonce, Some(1));
        assert!(o.check_clearing_nonce(U256::from_u128(70), 1).is_ok());
        assert_eq!(
            o.check_clearing_nonce(U256::from_u128(70), 2)
                .unwrap_err()
                .to_string(),
            "the clearing bid has tree nonce 1, the event says 2"
        );
    }

    /// Bid order in the input does not matter: price descending, then tree nonce ascending.
    #[test]
    fn order_is_price_then_tree_nonce() {
        let bids = vec![
            bid("0xc", 2, 30, 7),
            bid("0xb", 1, 50, 7),
            bid("0xa", 0, 40, 10),
        ];
        assert_eq!(
            outcome(bids, 60, 7),
            vec![row("0xa", 40, 120), row("0xb", 20, 210), row("0xc", 0, 210)]
        );
    }

    /// A bid asking for exactly what is left is the clearing bid, filled whole.
    #[test]
    fn exactly_subscribed() {
        let bids = vec![bid("0xa", 0, 40, 10), bid("0xb", 1, 30, 8)];
        let o = clear_auction(bids.clone(), U256::from_u128(70), U256::from_u128(8)).unwrap();
        assert_eq!(o.clearing_tree_nonce, Some(1));
        assert_eq!(
            outcome(bids, 70, 8),
            vec![row("0xa", 40, 80), row("0xb", 30, 0)]
        );
    }

    /// Undersubscribed (100 options available, 65 asked for): every bid wins, sold = 65, and the
    /// lowest bid is the clearing bid, filled whole.
    #[test]
    fn undersubscribed() {
        let bids = vec![
            bid("0xa", 0, 40, 10),
            bid("0xb", 1, 25, 8),
            bid("0xb", 2, 0, 9),
        ];
        let o = clear_auction(bids.clone(), U256::from_u128(65), U256::from_u128(8)).unwrap();
        assert_eq!(o.clearing_tree_nonce, Some(1));
        // 0xb's zero-amount bid at 9 ranks second and wins nothing, refunding nothing.
        assert_eq!(
            outcome(bids, 65, 8),
            vec![row("0xa", 40, 80), row("0xb", 25, 0)]
        );
    }

    /// No options sold (no bids, or none above the reserve): every bid is refunded whole.
    #[test]
    fn nothing_sold() {
        assert_eq!(
            outcome(vec![bid("0xa", 0, 40, 10)], 0, 0),
            vec![row("0xa", 0, 400)]
        );
        let o = clear_auction(vec![], U256::ZERO, U256::ZERO).unwrap();
        assert!(o.buyers.is_empty());
        assert!(o.check_clearing_nonce(U256::ZERO, 0).is_ok());
    }

    #[test]
    fn inconsistent_events_are_errors() {
        let err = clear_auction(
            vec![bid("0xa", 0, 40, 10)],
            U256::from_u128(50),
            U256::from_u128(10),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "options_sold = 50 but the bids only ask for 40"
        );
        let err = clear_auction(
            vec![bid("0xa", 0, 40, 5), bid("0xb", 1, 40, 4)],
            U256::from_u128(50),
            U256::from_u128(6),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "bid with tree nonce 0 wins at price 5, below the clearing price 6"
        );
    }

    /// Amounts and prices above 2^128: refunds are exact 512-bit products.
    #[test]
    fn wide_amounts() {
        let big = U256::from_halves(5, 1); // 2^128 + 5
        let bids = vec![
            Bid {
                buyer: "0xa".into(),
                tree_nonce: 0,
                amount: big,
                price: big,
            },
            Bid {
                buyer: "0xb".into(),
                tree_nonce: 1,
                amount: big,
                price: U256::from_u128(1),
            },
        ];
        let o = clear_auction(bids, U256::from_u128(7), U256::from_u128(1)).unwrap();
        // 0xa clears 7 of 2^128 + 5: refund (2^128 − 2) · (2^128 + 5); 0xb loses (2^128 + 5) · 1.
        assert_eq!(o.buyers["0xa"].mintable.to_string(), "7");
        assert_eq!(
            o.buyers["0xa"].refundable.to_string(),
            "115792089237316195423570985008687907854290831766403379429847707830208434274294"
        );
        assert_eq!(
            o.buyers["0xb"].refundable.to_string(),
            "340282366920938463463374607431768211461"
        );
    }
}
