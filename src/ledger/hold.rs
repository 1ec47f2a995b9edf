//! Held blocks (SPEC 7.3; `evp.on_error = hold`, the default): a block that could not be
//! applied is rolled back to before it, stays in the queue with its cause in
//! `evp.held_blocks`, and everything above it waits (`rules::Wait::Held`). The indexer's
//! transaction commits: an indexer that never retries loses nothing. `evp_catchup()` releases
//! the holds and tries again.

use super::candidate;
use crate::error::warn_with_hint;
use crate::failure::BlockFailure;
use crate::guc::{OnError, ON_ERROR};
use crate::spi::{run, spi, Param};
use crate::subxact::attempt;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

/// Holds block ($1, $2) with its cause. A hold already there keeps its own: the first cause
/// stands until `evp_catchup()` releases it (a later failure around the walk, a lock timeout
/// say, holds the lowest queued block, which may be held already). An applied block is held
/// for its late events, which stay marked.
const HOLD: &str = r#"
WITH late AS (
    UPDATE evp.blocks SET late = true WHERE block_number = $1::numeric AND block_hash = $2 AND state = 'applied')
INSERT INTO evp.held_blocks (block_number, block_hash, vault_address, event_nonce, event_name, sqlstate, reason)
VALUES ($1::numeric, $2, $3, $4::bigint, $5, $6, $7)
ON CONFLICT (block_number, block_hash) DO NOTHING"#;

const RELEASE: &str = "DELETE FROM evp.held_blocks";

/// Runs `f`, the application of block `number` (`hash`). Under `evp.on_error = hold` it runs
/// in a subtransaction, and a failure rolls it back and holds the block (`None`).
pub fn holding<T>(
    client: &mut SpiClient<'_>,
    number: &str,
    hash: &str,
    f: impl FnOnce(&mut SpiClient<'_>) -> T,
) -> Option<T> {
    if ON_ERROR.get() != OnError::Hold {
        return Some(f(client));
    }
    BlockFailure::reset();
    match attempt(|| Ok(f(client))) {
        Ok(done) => Some(done),
        Err(failure) => {
            hold(client, number, hash, failure);
            None
        }
    }
}

/// Holds block `number` (`hash`) for `failure`, and says so in a WARNING.
pub fn hold(client: &mut SpiClient<'_>, number: &str, hash: &str, held: BlockFailure) {
    let params: Vec<Param> = vec![
        number.into(),
        hash.into(),
        held.vault.clone().into(),
        held.nonce.map(|n| n.to_string()).into(),
        held.event.clone().into(),
        held.sqlstate.clone().into(),
        held.reason.clone().into(),
    ];
    spi(run(client, HOLD, &params));
    warn_with_hint(
        PgSqlErrorCode::ERRCODE_WARNING,
        format!(
            "block {number} is held, not applied, and the blocks above it wait: {}",
            held.describe()
        ),
        format!(
            "The indexer's rows are kept. To move on, {}. evp_status() shows it.",
            held.fix()
        ),
    );
}

/// Holds the lowest block of the queue for `failure`, which met the work around it (taking
/// the extension's lock, say): the block that would have gone next. With none queued, only
/// the WARNING says it.
pub fn hold_next(client: &mut SpiClient<'_>, failure: BlockFailure) {
    match candidate(client, None) {
        Some(q) => hold(client, &q.candidate.number, &q.candidate.hash, failure),
        None => warn_with_hint(
            PgSqlErrorCode::ERRCODE_WARNING,
            format!("applying failed, nothing is held: {}", failure.describe()),
            "The indexer's rows are kept; SELECT evp_catchup() applies what waits.",
        ),
    }
}

/// Releases every hold: the blocks are tried again by the walk that follows.
pub fn release(client: &mut SpiClient<'_>) {
    spi(run(client, RELEASE, &[]));
}
