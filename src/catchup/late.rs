//! Events that arrive after their block was applied (they belong to that block): applied at
//! once in sync mode; otherwise the `events` trigger marks the block `late` in the ledger for
//! the worker or `evp_catchup()`.
//! One that lands before events of its vault already applied (its nonce is not above the
//! vault's last) keeps nonce order only by reprocessing from its block: its caller's business.

use crate::apply::{apply_events, events_have_emitter, BlockCtx};
use crate::ledger::hold::holding;
use crate::spi::{read, run, spi};
use pgrx::spi::SpiClient;

/// Notes late events for the update, under the objects of an older version (0.1.0 and 0.2.0
/// have `evp.late_blocks`): see `crate::version`.
const RECORD_LATE: &str = r#"
INSERT INTO evp.late_blocks (block_number) SELECT unnest($1::text[])::numeric ON CONFLICT DO NOTHING"#;

/// The blocks marked late, but held ones (their late events failed: `ledger::hold`).
const MARKED_LATE: &str = r#"
SELECT b.block_number::text AS n FROM evp.blocks b
 WHERE b.late
   AND NOT EXISTS (SELECT FROM evp.held_blocks h WHERE h.block_number = b.block_number AND h.block_hash = b.block_hash)
 ORDER BY b.block_number"#;

/// Blocks $1 are taken up: their late events are applied now.
const UNMARK_LATE: &str =
    "UPDATE evp.blocks SET late = false WHERE late AND block_number = ANY ($1::numeric[])";

/// The applied block $1: its hash, its row's timestamp (none for a block without a row),
/// whether the `events` table has `from_address`, and whether some of its events were passed
/// over: more of them (the plugin's copies aside) lie at or below their vault's last applied
/// nonce than the block applied, ignored or failed (they arrived after later events of their
/// vault had been applied). Not a held block: its late events wait for `evp_catchup()`.
const LATE_STATE: &str = concat!(
    r#"
SELECT a.block_hash AS hash, b.timestamp::text AS timestamp, "#,
    events_have_emitter!(),
    r#" AS events_have_emitter,
       (SELECT count(*) FROM public.events e
          JOIN evp.vault_progress p ON p.vault_address = evp.normalize_felt(e.vault_address)
         WHERE e.block_number = a.block_number
           AND evp.normalize_felt(e.block_hash) = a.block_hash
           AND e.event_nonce <= p.last_nonce
           AND NOT EXISTS (SELECT FROM evp.event_copies c
                            WHERE c.block_hash = a.block_hash AND c.vault_address = p.vault_address
                              AND c.event_nonce = e.event_nonce)) > a.events_applied + a.events_ignored + a.events_failed AS passed_over
  FROM evp.blocks a
  LEFT JOIN public.starknet_blocks b
         ON a.has_row AND b.block_number = a.block_number AND evp.normalize_felt(b.block_hash) = a.block_hash
 WHERE a.block_number = $1::numeric AND a.state = 'applied'
   AND NOT EXISTS (SELECT FROM evp.held_blocks h WHERE h.block_number = a.block_number AND h.block_hash = a.block_hash)"#
);

/// What became of a block's late events.
#[derive(PartialEq, Eq)]
pub enum Late {
    Applied,
    /// They failed, and the block is held (`ledger::hold`).
    Held,
    /// Some were passed over (they arrived after later events of their vault were applied):
    /// the block must be reprocessed.
    PassedOver,
}

/// Applies the events of applied block `number` that arrived after it.
pub fn apply_late_events(client: &mut SpiClient<'_>, number: &str) -> Late {
    let table = spi(read(client, LATE_STATE, &[number.into()]));
    let Some(row) = table.into_iter().next() else {
        return Late::Applied;
    };
    let Some(hash) = spi(row.get_by_name::<String, _>("hash")) else {
        return Late::Applied;
    };
    if spi(row.get_by_name::<bool, _>("passed_over")).unwrap_or(false) {
        return Late::PassedOver;
    }
    let block = BlockCtx {
        number: number.to_owned(),
        hash,
        timestamp: spi(row.get_by_name("timestamp")),
        events_have_emitter: spi(row.get_by_name::<bool, _>("events_have_emitter"))
            .unwrap_or(false),
        late: true,
    };
    match holding(client, number, &block.hash, |client| {
        apply_events(client, &block, None)
    }) {
        Some(_) => Late::Applied,
        None => Late::Held,
    }
}

/// Applies the late events of `blocks`, in order, up to the first block that must be
/// reprocessed, which it returns, or that is held.
pub fn apply_late(client: &mut SpiClient<'_>, blocks: &[String]) -> Option<String> {
    for number in blocks {
        match apply_late_events(client, number) {
            Late::Applied => {}
            Late::Held => return None,
            Late::PassedOver => return Some(number.clone()),
        }
    }
    None
}

/// Notes blocks whose late events are left to the update (under an older version's objects).
pub fn record_late_blocks(client: &mut SpiClient<'_>, blocks: Vec<String>) {
    if !blocks.is_empty() {
        spi(run(client, RECORD_LATE, &[blocks.into()]));
    }
}

/// Applies the late events marked in async mode (or while the mode was off), in block order,
/// up to the first block that must be reprocessed, which it returns.
pub fn apply_noted(client: &mut SpiClient<'_>) -> Option<String> {
    let late: Vec<String> = spi(read(client, MARKED_LATE, &[]))
        .filter_map(|r| spi(r.get_by_name("n")))
        .collect();
    // Only then a write: a worker with nothing to do takes no transaction ID.
    if late.is_empty() {
        return None;
    }
    spi(run(client, UNMARK_LATE, &[late.clone().into()]));
    apply_late(client, &late)
}
