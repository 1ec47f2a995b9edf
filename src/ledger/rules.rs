//! Which block goes next, and what a block waits for: the rules of the block ledger, pure, so
//! that the walk (`catchup`) and `evp_status()` decide alike.
//!
//! The ledger's queue holds the blocks not applied yet: *noted* (events without a row: SPEC
//! 7.1's deployment and catch-up blocks, or a live block whose row follows in its transaction)
//! and *pending* (a row). The walk always looks at the lowest of them, the candidate; when it
//! must wait, everything above it waits too (each is above it in number order).

use crate::failure::BlockFailure;

/// What the ledger says of the candidate and around it (one statement: `ledger::CANDIDATE`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Candidate {
    pub number: String,
    pub hash: String,
    /// The indexer wrote a row for it (pending), or only events (noted).
    pub has_row: bool,
    /// The row's parent hash (normalised).
    pub parent_hash: Option<String>,
    /// The applied tip, and its hash; `None` when nothing is applied.
    pub tip: Option<String>,
    pub tip_hash: Option<String>,
    /// Its number lies at or below the applied tip (only a block without a row can: a row
    /// there is refused when it arrives, and never a candidate).
    pub at_or_below_tip: bool,
    /// Its number is the tip's plus one (or nothing is applied).
    pub next_number: bool,
    /// The newest REVERTED row between the applied tip and it, if any: the blocks above a
    /// REVERTED row belong to its fork until the indexer inserts the new one.
    pub reverted_row_before: Option<String>,
    /// A row (not REVERTED) lies above it.
    pub row_above: bool,
    /// Its events were noted by this very transaction, whose rows may still be coming (the
    /// indexer's catch-up inserts events for many blocks and a row for the first only).
    pub noted_here: bool,
    /// It could not be applied (`evp.on_error = hold`), and why.
    pub held: Option<BlockFailure>,
}

/// How strictly a row must follow the applied tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// By number or by parent hash: its predecessor may be in flight in another session (the
    /// triggers, and the worker until `evp.gap_wait` passes).
    Strict,
    /// In number order over gaps (`evp_catchup()`, a StartBlock notice: SPEC 7.3, no stall).
    OverGaps,
}

/// What happens to the candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Apply,
    Wait(Wait),
}

/// Why the candidate (and everything above it) waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    /// It is held: it could not be applied, and waits for `evp_catchup()`.
    Held(BlockFailure),
    /// For the replacement of this REVERTED row below it.
    Replacement(String),
    /// For its parent, which is not the applied tip.
    Parent,
    /// A block without a row: for a row above it, from a later transaction.
    RowAbove,
}

/// The rule: a block without a row goes once no row can come for it any more (it lies below
/// the applied tip, or below a row that another transaction wrote); a row goes when it follows
/// the applied tip, with no REVERTED row between. A held block goes only once its hold is
/// released.
pub fn verdict(c: &Candidate, strictness: Strictness) -> Verdict {
    if let Some(held) = &c.held {
        return Verdict::Wait(Wait::Held(held.clone()));
    }
    if !c.has_row {
        let ready = c.at_or_below_tip
            || (c.row_above && !(strictness == Strictness::Strict && c.noted_here));
        return if ready {
            Verdict::Apply
        } else {
            Verdict::Wait(Wait::RowAbove)
        };
    }
    if let Some(reverted) = &c.reverted_row_before {
        return Verdict::Wait(Wait::Replacement(reverted.clone()));
    }
    let follows = c.next_number || c.tip.is_none() || c.parent_hash == c.tip_hash;
    if strictness == Strictness::Strict && !follows {
        return Verdict::Wait(Wait::Parent);
    }
    Verdict::Apply
}

/// The mode `evp_status()` explains a wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeSeen {
    Sync,
    Async,
    Off,
    /// A hot standby, whatever the setting: it applies nothing; the primary's state arrives by
    /// replication.
    Standby,
}

/// What `evp_status().waiting_for` says of the candidate, under `mode`: the rule the triggers
/// and the worker apply (strict), and the call that moves on. `None`: nothing waits, or the
/// worker is about to apply it.
pub fn waiting_for(c: &Candidate, mode: ModeSeen) -> Option<String> {
    let verdict = verdict(c, Strictness::Strict);
    let n = &c.number;
    match (verdict, mode) {
        (_, ModeSeen::Standby) => Some(format!(
            "this server is a hot standby: it applies nothing (block {n} is next on the primary, whose state \
             replication brings); after promotion the worker applies what is pending"
        )),
        (Verdict::Wait(Wait::Held(held)), _) => Some(format!(
            "block {n} is held, not applied, and the blocks above it wait: {}; to move on, {}",
            held.describe(),
            held.fix()
        )),
        (Verdict::Wait(Wait::Replacement(r)), _) => Some(format!(
            "block {n} waits for the replacement of block {r}, which is REVERTED: the blocks above a REVERTED row \
             belong to its fork until the indexer inserts the new one; if it will not (it restarted after the \
             reorg), DELETE FROM starknet_blocks WHERE block_number <= {r} AND status = 'REVERTED' and SELECT \
             evp_catchup() move on"
        )),
        (Verdict::Wait(Wait::RowAbove), _) => Some(format!(
            "block {n} has events but no row: it is applied when a block row above it arrives"
        )),
        (_, ModeSeen::Off) => {
            Some("evp.mode is off: SELECT evp_catchup() applies the pending blocks".to_owned())
        }
        (Verdict::Wait(Wait::Parent), _) => {
            let tip = c.tip.as_deref().unwrap_or_default();
            Some(format!(
                "block {n} waits for its parent {}, which is not the applied tip {tip}: {} no row (the Pitch Lake \
                 indexer writes none for the blocks it catches up); SELECT evp_catchup() applies the blocks in \
                 number order",
                c.parent_hash.as_deref().unwrap_or_default(),
                missing_rows(tip, n)
            ))
        }
        (Verdict::Apply, ModeSeen::Sync) if c.has_row => Some(format!(
            "block {n} arrived while evp.mode was not sync; SELECT evp_catchup() applies it"
        )),
        (Verdict::Apply, _) => None,
    }
}

/// "block 5 has" or "blocks 5 to 9 have": the numbers between the tip and `number`.
fn missing_rows(tip: &str, number: &str) -> String {
    match (tip.parse::<u128>(), number.parse::<u128>()) {
        (Ok(t), Ok(n)) if n == t + 2 => format!("block {} has", t + 1),
        (Ok(t), Ok(n)) if n > t + 2 => format!("blocks {} to {} have", t + 1, n - 1),
        _ => format!("the blocks between {tip} and {number} have"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(number: &str, tip: Option<&str>) -> Candidate {
        Candidate {
            number: number.into(),
            hash: format!("0x{number}"),
            has_row: true,
            parent_hash: Some("0xparent".into()),
            tip: tip.map(Into::into),
            tip_hash: tip.map(|t| format!("0x{t}")),
            next_number: tip
                .is_none_or(|t| t.parse::<u32>().unwrap() + 1 == number.parse::<u32>().unwrap()),
            ..Candidate::default()
        }
    }

    fn noted(number: &str, tip: &str) -> Candidate {
        Candidate {
            has_row: false,
            parent_hash: None,
            ..row(number, Some(tip))
        }
    }

    #[test]
    fn a_row_that_follows_the_tip_by_number_goes() {
        assert_eq!(
            verdict(&row("11", Some("10")), Strictness::Strict),
            Verdict::Apply
        );
        assert_eq!(verdict(&row("5", None), Strictness::Strict), Verdict::Apply);
    }

    #[test]
    fn a_row_that_names_the_tip_as_parent_goes_over_a_gap_in_numbers() {
        let c = Candidate {
            parent_hash: Some("0x10".into()),
            ..row("14", Some("10"))
        };
        assert_eq!(verdict(&c, Strictness::Strict), Verdict::Apply);
    }

    #[test]
    fn a_row_whose_parent_is_missing_waits_unless_over_gaps() {
        let c = row("14", Some("10"));
        assert_eq!(verdict(&c, Strictness::Strict), Verdict::Wait(Wait::Parent));
        assert_eq!(verdict(&c, Strictness::OverGaps), Verdict::Apply);
        let text = waiting_for(&c, ModeSeen::Sync).unwrap();
        assert!(text.contains("blocks 11 to 13 have no row"), "{text}");
        let c = row("12", Some("10"));
        assert!(waiting_for(&c, ModeSeen::Async)
            .unwrap()
            .contains("block 11 has no row"));
    }

    #[test]
    fn a_row_above_a_reverted_row_waits_for_its_replacement_even_over_gaps() {
        let c = Candidate {
            reverted_row_before: Some("11".into()),
            ..row("12", Some("10"))
        };
        assert_eq!(
            verdict(&c, Strictness::OverGaps),
            Verdict::Wait(Wait::Replacement("11".into()))
        );
        assert!(waiting_for(&c, ModeSeen::Sync)
            .unwrap()
            .contains("block_number <= 11"));
    }

    #[test]
    fn a_block_without_a_row_goes_below_the_tip_or_below_a_row_of_another_transaction() {
        let below = Candidate {
            at_or_below_tip: true,
            ..noted("7", "10")
        };
        assert_eq!(verdict(&below, Strictness::Strict), Verdict::Apply);
        let above = noted("12", "10");
        assert_eq!(
            verdict(&above, Strictness::OverGaps),
            Verdict::Wait(Wait::RowAbove)
        );
        let under_row = Candidate {
            row_above: true,
            ..noted("12", "10")
        };
        assert_eq!(verdict(&under_row, Strictness::Strict), Verdict::Apply);
        let same_transaction = Candidate {
            noted_here: true,
            ..under_row
        };
        assert_eq!(
            verdict(&same_transaction, Strictness::Strict),
            Verdict::Wait(Wait::RowAbove)
        );
        assert_eq!(
            verdict(&same_transaction, Strictness::OverGaps),
            Verdict::Apply
        );
    }

    #[test]
    fn a_held_block_waits_in_every_mode_and_status_names_its_cause_and_fix() {
        let held = BlockFailure {
            vault: Some("0x1".into()),
            nonce: Some(7),
            event: Some("BidPlaced".into()),
            sqlstate: "23514".into(),
            reason: "bid below the reserve price".into(),
        };
        let c = Candidate {
            held: Some(held.clone()),
            ..row("11", Some("10"))
        };
        assert_eq!(
            verdict(&c, Strictness::OverGaps),
            Verdict::Wait(Wait::Held(held))
        );
        let text = waiting_for(&c, ModeSeen::Off).unwrap();
        assert!(
            text.starts_with(
                "block 11 is held, not applied, and the blocks above it wait: vault 0x1, event nonce 7 \
                 (BidPlaced): bid below the reserve price [23514]; to move on, delete or correct the event"
            ),
            "{text}"
        );
        let timeout = BlockFailure {
            sqlstate: "55P03".into(),
            reason: "canceling statement due to lock timeout".into(),
            ..BlockFailure::default()
        };
        assert_eq!(
            timeout.describe(),
            "canceling statement due to lock timeout [55P03]"
        );
        assert!(timeout.fix().contains("evp_catchup()"));
    }

    #[test]
    fn status_names_the_call_that_moves_on() {
        let c = row("11", Some("10"));
        assert_eq!(waiting_for(&c, ModeSeen::Async), None);
        assert!(waiting_for(&c, ModeSeen::Off)
            .unwrap()
            .starts_with("evp.mode is off"));
        assert!(waiting_for(&c, ModeSeen::Sync)
            .unwrap()
            .contains("while evp.mode was not sync"));
        let n = noted("12", "10");
        assert!(waiting_for(&n, ModeSeen::Sync)
            .unwrap()
            .contains("has events but no row"));
        assert!(waiting_for(&n, ModeSeen::Standby)
            .unwrap()
            .starts_with("this server is a hot standby"));
    }
}
