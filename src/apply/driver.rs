//! The legacy indexer's `driver_events` queue: StartBlock / NewBlock (apply that block),
//! RevertBlock (revert it and mark its row REVERTED), CatchupVault (apply a vault's backfilled
//! events). Rows are handled
//! in `sequence_index` order and marked `is_processed`; a row that cannot be handled yet (its
//! block not inserted, or waiting for an earlier block) stops the queue until next time.

use super::block::{apply_block, apply_late_events, apply_pending, spi, BlockOutcome};
use super::plans::run;
use crate::journal::revert_from;
use pgrx::spi::SpiClient;

const QUEUE_EXISTS: &str = "SELECT to_regclass('public.driver_events') IS NOT NULL";

const UNPROCESSED: &str = r#"
SELECT id::text, type::text, block_hash::text, start_block_hash::text, end_block_hash::text, vault_address::text
  FROM public.driver_events WHERE NOT is_processed ORDER BY sequence_index, id"#;

const MARK_PROCESSED: &str =
    "UPDATE public.driver_events SET is_processed = true WHERE id::text = $1";

/// A reverted block's row is marked REVERTED, as the indexer itself does in a reorg, so that it
/// is not applied again unless it comes back.
const MARK_REVERTED: &str = r#"
UPDATE public.starknet_blocks SET status = 'REVERTED'
 WHERE evp.normalize_felt(block_hash) = evp.normalize_felt($1) AND status <> 'REVERTED'"#;

/// The number of the (unreverted) block row with hash $1.
const BLOCK_BY_HASH: &str = r#"
SELECT block_number::text FROM public.starknet_blocks
 WHERE evp.normalize_felt(block_hash) = evp.normalize_felt($1) AND status <> 'REVERTED'"#;

/// The applied block with hash $1.
const APPLIED_BY_HASH: &str = r#"
SELECT block_number::text FROM evp.applied_blocks WHERE evp.normalize_felt(block_hash) = evp.normalize_felt($1)"#;

/// For a backfilled vault $1 between blocks $2 and $3: the applied blocks of that range holding
/// its events, and whether any of those events lies at or below the vault's last applied nonce
/// (then they land before events already applied, and only a reprocess keeps the order).
const BACKFILL: &str = r#"
SELECT (array_agg(DISTINCT e.block_number ORDER BY e.block_number))::text[],
       bool_or(e.event_nonce <= coalesce(p.last_nonce, 0))
  FROM public.events e
  JOIN evp.applied_blocks a ON a.block_number = e.block_number
                           AND evp.normalize_felt(a.block_hash) = evp.normalize_felt(e.block_hash)
  LEFT JOIN evp.vault_progress p ON p.vault_address = evp.normalize_felt(e.vault_address)
 WHERE evp.normalize_felt(e.vault_address) = evp.normalize_felt($1)
   AND e.block_number BETWEEN $2::numeric AND $3::numeric"#;

/// Handles the queue; returns whether every row could be handled.
pub fn process_driver_events(client: &mut SpiClient<'_>) -> bool {
    let exists = spi(run(client, QUEUE_EXISTS, &[]))
        .first()
        .get_one::<bool>();
    if !spi(exists).unwrap_or(false) {
        return true;
    }
    let rows: Vec<[Option<String>; 6]> = spi(run(client, UNPROCESSED, &[]))
        .map(|r| std::array::from_fn(|i| spi(r.get::<String>(i + 1))))
        .collect();
    for [id, kind, hash, start, end, vault] in rows {
        let handled = match kind.as_deref() {
            Some("StartBlock" | "NewBlock") => match lookup(client, BLOCK_BY_HASH, hash.as_deref())
            {
                Some(number) => {
                    !matches!(apply_block(client, &number, false), BlockOutcome::Pending)
                }
                None => lookup(client, APPLIED_BY_HASH, hash.as_deref()).is_some(),
            },
            Some("RevertBlock") => {
                if let Some(number) = lookup(client, APPLIED_BY_HASH, hash.as_deref()) {
                    revert_from(client, &number);
                }
                spi(run(
                    client,
                    MARK_REVERTED,
                    &[hash.clone().unwrap_or_default().into()],
                ));
                true
            }
            Some("CatchupVault") => catch_up_vault(client, vault, start, end),
            // Types this extension does not know are not its business.
            _ => true,
        };
        if !handled {
            return false;
        }
        spi(run(
            client,
            MARK_PROCESSED,
            &[id.unwrap_or_default().into()],
        ));
    }
    true
}

fn lookup(client: &mut SpiClient<'_>, sql: &'static str, hash: Option<&str>) -> Option<String> {
    let hash = hash?;
    let table = spi(run(client, sql, &[hash.into()]));
    spi(table.first().get_one::<String>())
}

/// Applies a vault's events backfilled into already-applied blocks, block by block; when they
/// land before events of the vault already applied, reprocesses from the start block instead.
fn catch_up_vault(
    client: &mut SpiClient<'_>,
    vault: Option<String>,
    start: Option<String>,
    end: Option<String>,
) -> bool {
    let (Some(first), Some(last)) = (
        lookup(client, BLOCK_BY_HASH, start.as_deref()),
        lookup(client, BLOCK_BY_HASH, end.as_deref()),
    ) else {
        return false;
    };
    let table = spi(run(
        client,
        BACKFILL,
        &[
            vault.unwrap_or_default().into(),
            first.clone().into(),
            last.into(),
        ],
    ));
    let row = table.first();
    let blocks: Vec<String> = spi(row.get(1)).unwrap_or_default();
    let out_of_order = spi(row.get::<bool>(2)).unwrap_or(false);
    if out_of_order {
        revert_from(client, &first);
        apply_pending(client, None);
    } else {
        for number in &blocks {
            apply_late_events(client, number);
        }
    }
    true
}
