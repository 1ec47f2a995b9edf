//! The block ledger, `evp.blocks` (sql/schema.sql): every block the extension knows, by number
//! and hash, with its state (noted, pending, applied, reverted; held: see `hold`), whether the
//! indexer wrote a row for it, and the transaction that noted its events. The triggers keep it
//! current (sql/triggers.sql, and `rows_arrived` here); `rules` decides what goes next from the
//! candidate this module reads, for the walk and for `evp_status()` alike.

pub mod hold;
pub mod rules;

use crate::apply::events_have_emitter;
use crate::failure::BlockFailure;
use crate::spi::{read, run, spi, value};
use pgrx::spi::SpiClient;
use rules::Candidate;

/// The candidate: the lowest block of the queue (noted or pending), at or below $1 if given,
/// what the rules need around it, and what the walk needs after it: whether the queue holds
/// anything after it, and whether the lowest entry above its number is an empty row at the
/// next number (where a run of empty rows would start: `catchup::empty`). A row at or below
/// the applied tip is passed over: it was refused when it arrived in sync mode, and waits for
/// a revert otherwise. Each probe is one step of an index, and starts above the applied tip
/// where it can: the entries a catch-up applied earlier in its transaction stay in the queue's
/// index, dead, until a vacuum, and a scan from the index's start would visit them all
/// (quadratic). Below the tip only blocks without a row can wait (a vault registered late: its
/// deployment block), few, in an index of their own.
const CANDIDATE: &str = concat!(
    r#"
WITH tip AS (
    SELECT a.block_number AS n, a.block_hash AS h FROM evp.blocks a
     WHERE a.state = 'applied' ORDER BY a.block_number DESC LIMIT 1),
c AS (
    SELECT u.* FROM (
        (SELECT q.block_number, q.block_hash, q.has_row, q.has_events, q.parent_hash, q.noted_in FROM evp.blocks q
          WHERE q.state IN ('noted', 'pending')
            AND q.block_number > coalesce((SELECT t.n FROM tip t), -1)
            AND ($1::numeric IS NULL OR q.block_number <= $1::numeric)
          ORDER BY q.block_number, q.block_hash LIMIT 1)
        UNION ALL
        (SELECT q.block_number, q.block_hash, q.has_row, q.has_events, q.parent_hash, q.noted_in FROM evp.blocks q
          WHERE q.state = 'noted' AND q.block_number <= (SELECT t.n FROM tip t)
            AND ($1::numeric IS NULL OR q.block_number <= $1::numeric)
          ORDER BY q.block_number, q.block_hash LIMIT 1)) u
     ORDER BY u.block_number, u.block_hash LIMIT 1)
SELECT c.block_number::text AS number, c.block_hash AS hash, c.has_row, c.has_events, c.parent_hash,
       tip.n::text AS tip, tip.h AS tip_hash,
       coalesce(c.block_number <= tip.n, false) AS at_or_below_tip,
       coalesce(c.block_number = tip.n + 1, true) AS next_number,
       (SELECT max(x.block_number) FROM evp.blocks x
         WHERE x.state = 'reverted' AND x.has_row
           AND x.block_number > coalesce(tip.n, -1) AND x.block_number < c.block_number)::text AS reverted_row_before,
       coalesce((SELECT max(r.block_number) FROM evp.blocks r WHERE r.state IN ('noted', 'pending') AND r.has_row)
                > c.block_number, false) AS row_above,
       coalesce(c.noted_in = pg_catalog.pg_current_xact_id_if_assigned(), false) AS noted_here,
       EXISTS (SELECT FROM evp.blocks n WHERE n.state IN ('noted', 'pending')
                AND (n.block_number, n.block_hash) > (c.block_number, c.block_hash)) AS queued_after,
       coalesce((SELECT n.block_number = c.block_number + 1 AND n.has_row AND NOT n.has_events FROM evp.blocks n
                  WHERE n.state IN ('noted', 'pending') AND n.block_number > c.block_number
                  ORDER BY n.block_number, n.block_hash LIMIT 1), false) AS run_follows,
       (SELECT b.timestamp::text FROM public.starknet_blocks b
         WHERE c.has_row AND b.block_number = c.block_number
           AND evp.normalize_felt(b.block_hash) = c.block_hash) AS timestamp,
       "#,
    events_have_emitter!(),
    r#" AS events_have_emitter,
       h.sqlstate::text AS held_sqlstate, h.reason AS held_reason, h.vault_address AS held_vault,
       h.event_nonce AS held_nonce, h.event_name AS held_event
  FROM c LEFT JOIN tip ON true
  LEFT JOIN evp.held_blocks h ON h.block_number = c.block_number AND h.block_hash = c.block_hash"#
);

/// Block rows $1 arrived (inserted, or back from REVERTED): their entries are pending (or
/// reverted, for REVERTED rows), with their parents and whether they have events (the `events`
/// trigger does not note events whose number another hash's block holds: a reorg's new fork
/// whose old block waits for its RevertBlock notice); a block applied without a row keeps its
/// state; a hash reverted before is back. A number is one with a row: the events of other
/// hashes noted there are not a block of their own. Returns the lowest of them that is pending
/// at or below the applied tip, and the tip. Each lookup is one index probe per number (OFFSET
/// 0 keeps the planner from turning it into a join), whatever the array's length.
const ROWS_ARRIVED: &str = r#"
WITH r AS (
    SELECT b.block_number, evp.normalize_felt(b.block_hash) AS hash, evp.normalize_felt(b.parent_hash) AS parent,
           b.status = 'REVERTED' AS reverted
      FROM unnest($1::numeric[]) AS a(n)
     CROSS JOIN LATERAL (SELECT * FROM public.starknet_blocks s WHERE s.block_number = a.n OFFSET 0) b),
others AS (
    DELETE FROM evp.blocks x
     WHERE (x.block_number, x.block_hash) IN (
           SELECT o.block_number, o.block_hash FROM r
            CROSS JOIN LATERAL (SELECT y.block_number, y.block_hash FROM evp.blocks y
                                 WHERE y.block_number = r.block_number AND y.state = 'noted' AND y.block_hash <> r.hash
                                OFFSET 0) o
            WHERE NOT r.reverted)),
entered AS (
    INSERT INTO evp.blocks AS x (block_number, block_hash, state, has_row, parent_hash, has_events)
    SELECT r.block_number, r.hash, CASE WHEN r.reverted THEN 'reverted' ELSE 'pending' END::evp.block_state, true, r.parent,
           ev.found IS NOT NULL
      FROM r LEFT JOIN LATERAL (
               SELECT true AS found FROM public.events e
                WHERE e.block_number = r.block_number AND evp.normalize_felt(e.block_hash) = r.hash LIMIT 1) ev ON true
    ON CONFLICT (block_number, block_hash) DO UPDATE
       SET has_row = true, parent_hash = EXCLUDED.parent_hash, has_events = x.has_events OR EXCLUDED.has_events,
           state = CASE WHEN x.state IN ('noted', 'reverted') THEN EXCLUDED.state ELSE x.state END
    RETURNING x.block_number, x.state),
tip AS (
    SELECT max(a.block_number) AS n FROM evp.blocks a WHERE a.state = 'applied')
SELECT min(e.block_number)::text AS block, min(tip.n)::text AS tip
  FROM entered e, tip
 WHERE e.state = 'pending' AND e.block_number <= tip.n"#;

/// Whether block rows wait in the queue above the applied tip (for a predecessor, a REVERTED
/// row's replacement, or a batch to come). From the queue's top, where no applied entry lies.
const ROWS_WAITING: &str = r#"
SELECT coalesce((SELECT max(q.block_number) FROM evp.blocks q WHERE q.state IN ('noted', 'pending') AND q.has_row)
                > coalesce((SELECT max(a.block_number) FROM evp.blocks a WHERE a.state = 'applied'), -1), false)"#;

/// The lowest block of the queue, at or below `through` if given (see `CANDIDATE`).
pub fn candidate(client: &mut SpiClient<'_>, through: Option<&str>) -> Option<Queued> {
    let table = spi(read(
        client,
        CANDIDATE,
        &[through.map(str::to_owned).into()],
    ));
    let row = table.into_iter().next()?;
    let text = |name: &str| spi(row.get_by_name::<String, _>(name));
    let flag = |name: &str| spi(row.get_by_name::<bool, _>(name)).unwrap_or(false);
    Some(Queued {
        candidate: Candidate {
            number: text("number")?,
            hash: text("hash")?,
            has_row: flag("has_row"),
            parent_hash: text("parent_hash"),
            tip: text("tip"),
            tip_hash: text("tip_hash"),
            at_or_below_tip: flag("at_or_below_tip"),
            next_number: flag("next_number"),
            reverted_row_before: text("reverted_row_before"),
            row_above: flag("row_above"),
            noted_here: flag("noted_here"),
            held: text("held_sqlstate").map(|sqlstate| BlockFailure {
                vault: text("held_vault"),
                nonce: spi(row.get_by_name::<i64, _>("held_nonce")),
                event: text("held_event"),
                sqlstate,
                reason: text("held_reason").unwrap_or_default(),
            }),
        },
        has_events: flag("has_events"),
        queued_after: flag("queued_after"),
        run_follows: flag("run_follows"),
        timestamp: text("timestamp"),
        events_have_emitter: flag("events_have_emitter"),
    })
}

/// The candidate, and what applying it needs.
pub struct Queued {
    pub candidate: Candidate,
    /// Whether events were ever noted for it (if not, it is empty).
    pub has_events: bool,
    /// Whether the queue holds an entry after it (by number, then hash).
    pub queued_after: bool,
    /// Whether the lowest entry of the queue above its number is a row without events at the
    /// next number: only then can a run of empty rows follow it.
    pub run_follows: bool,
    /// Its row's timestamp; `None` for a block without a row.
    pub timestamp: Option<String>,
    /// Whether the indexer's `events` table has the optional `from_address` column.
    pub events_have_emitter: bool,
}

/// Block rows `numbers` arrived: their entries in the ledger (see `ROWS_ARRIVED`); the lowest
/// of them that lies at or below the applied tip, where it cannot be applied, and the tip.
pub fn rows_arrived(client: &mut SpiClient<'_>, numbers: &[String]) -> Option<(String, String)> {
    let table = spi(run(client, ROWS_ARRIVED, &[numbers.to_vec().into()]));
    let row = table.into_iter().next()?;
    let block = spi(row.get_by_name::<String, _>("block"))?;
    let tip = spi(row.get_by_name::<String, _>("tip"))?;
    Some((block, tip))
}

/// Whether block rows wait in the queue (see `ROWS_WAITING`).
pub fn rows_waiting(client: &mut SpiClient<'_>) -> bool {
    value::<bool>(client, ROWS_WAITING, &[]) == Some(true)
}
