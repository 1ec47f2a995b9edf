//! What applying writes once per block rather than per event: the block's bookkeeping (its
//! state in the ledger, each vault's last nonce), and its history rows, notifications and
//! change feed rows, found through the journal (each transition journals the rows it changes).
//! A walk that applies many blocks writes the latter for a batch of blocks at once (`Batch`):
//! still per block, as applying them one by one does, in one statement.

use super::event::BlockCtx;
use super::statements::journal;
use crate::journal::prune_after;
use crate::spi::{read, run, spi, Param};
use crate::xact;
use pgrx::spi::SpiClient;

/// The bookkeeping after a block (or its late events), as CTEs: per-vault last nonce, and the
/// block's state and counters in the ledger (applied; its late events, if these were, are;
/// events of other hashes noted at its number are no block of their own).
/// $1 block, $2 hash, $3 vaults, $4 their last nonces, $5 applied, $6 ignored, $7 failed.
macro_rules! block_done {
    () => {
        concat!(
            "progress_journal AS (",
            journal!(vault_progress),
            r#"
    SELECT $1::numeric, t.v, (SELECT o FROM evp.vault_progress o WHERE o.vault_address = t.v) FROM unnest($3::text[]) AS t(v)),
progress AS (
    INSERT INTO evp.vault_progress (vault_address, last_nonce)
    SELECT v, n::bigint FROM unnest($3::text[], $4::text[]) AS t(v, n)
    ON CONFLICT (vault_address) DO UPDATE SET last_nonce = EXCLUDED.last_nonce),
others AS (
    DELETE FROM evp.blocks
     WHERE block_number = $1::numeric AND block_hash <> evp.normalize_felt($2) AND state = 'noted'),
done AS (
    UPDATE evp.blocks
       SET state = 'applied', late = false,
           events_applied = events_applied + $5::int, events_ignored = events_ignored + $6::int,
           events_failed = events_failed + $7::int
     WHERE block_number = $1::numeric AND block_hash = evp.normalize_felt($2))"#
        )
    };
}

/// The bookkeeping alone, for a block none of whose events applied (it wrote nothing else),
/// or one whose writes go with its batch's: the CTEs do the work, under a SELECT of nothing;
/// it takes `BLOCK_WRITTEN`'s parameters and leaves $8 unused.
pub const BLOCK_DONE: &str = concat!(
    "WITH ",
    block_done!(),
    "
SELECT"
);

/// A CTE of the rows of `$table` written by the block or blocks being written, found by the
/// journal (the images after the floor: those of this application), with the block
/// (`at_block`), whether it inserted the row (its first image there is NULL), and the row's key
/// as `k` (the order of a batch's rows: a block's come in that order). Each row is looked up by its key (OFFSET 0 keeps the
/// planner from hashing the whole table).
/// - `block`: block $1, the journal's floor $8; the rows as they are now.
/// - `batch`: blocks $1 (an array), the floor $3. A row at the end of a block is the first
///   image the next block of the batch that wrote it journaled, or, if none did, the row as it
///   is now; a row gone at the end of a block is left out, as a block that deletes it leaves
///   it out.
macro_rules! rows_written {
    (block, $cte:literal, $table:literal, $row:literal, $keys:literal, $lookup:literal) => {
        concat!(
            $cte,
            " AS (\n    SELECT $1::numeric AS at_block, x.",
            $row,
            ", j.old IS NOT DISTINCT FROM NULL AS inserted, NULL::text[] AS k",
            "\n      FROM (SELECT DISTINCT ON (",
            $keys,
            ") ",
            $keys,
            ", old FROM evp.\"journal_",
            $table,
            "\"",
            "\n             WHERE at_block = $1::numeric AND seq > $8::bigint ORDER BY ",
            $keys,
            ", seq) j",
            "\n     CROSS JOIN LATERAL (SELECT ",
            $row,
            " FROM public.\"",
            $table,
            "\" ",
            $row,
            " WHERE ",
            $lookup,
            " OFFSET 0) x)"
        )
    };
    (batch, $cte:literal, $table:literal, $row:literal, $keys:literal, $lookup:literal) => {
        concat!(
            $cte,
            " AS (\n    SELECT s.* FROM (\n    SELECT j.at_block, CASE WHEN j.later THEN j.after ELSE x.",
            $row,
            " END AS ",
            $row,
            ", j.old IS NOT DISTINCT FROM NULL AS inserted, ARRAY[",
            $keys,
            "]::text[] AS k",
            "\n      FROM (SELECT f.*, lead(f.old) OVER w AS after, lead(f.at_block) OVER w IS NOT NULL AS later",
            "\n              FROM (SELECT DISTINCT ON (",
            $keys,
            ", at_block) ",
            $keys,
            ", at_block, old FROM evp.\"journal_",
            $table,
            "\"",
            "\n                     WHERE at_block = ANY ($1::numeric[]) AND seq > $3::bigint ORDER BY ",
            $keys,
            ", at_block, seq) f",
            "\n            WINDOW w AS (PARTITION BY ",
            $keys,
            " ORDER BY at_block)) j",
            "\n      LEFT JOIN LATERAL (SELECT ",
            $row,
            " FROM public.\"",
            $table,
            "\" ",
            $row,
            " WHERE NOT j.later AND ",
            $lookup,
            " OFFSET 0) x ON true) s",
            "\n     WHERE s.",
            $row,
            " IS DISTINCT FROM NULL)"
        )
    };
}

/// What blocks wrote, once per row and block: the rows of their journal (`rows_written!` of
/// `$flavour`), `$hash` the hash of a row's block `c.at_block` (a batch's `blocks` CTE of
/// each block's number `n` and `hash`, in `$blocks`). History: each
/// vault's and LP's balances at the end of each block, `$vault_conflict` and `$lp_conflict`
/// (an ON CONFLICT clause, or none) deciding what a row already there becomes.
/// Notifications: "insert" or "update" by the row's first image, sent unless evp.notify is
/// off, or counted as skipped while the queue has no room (sql/journal.sql). Changes: one row
/// of the change feed per row written, history included, unless evp.feed is off
/// (sql/feed.sql). Notifications and changes go block by block, each block's by table, then
/// key: `$order` sorts them so, where the rows do not come so (a block's do). `$done`: more
/// CTEs (the block's bookkeeping), or none.
macro_rules! written {
    ($flavour:ident, $blocks:literal, $hash:literal, $order:literal, $vault_conflict:literal, $lp_conflict:literal, $($done:tt)*) => {
        concat!(
            "WITH ",
            $blocks,
            rows_written!(
                $flavour,
                "vaults",
                "VaultStates",
                "v",
                "address",
                "v.address = j.address"
            ),
            ",\n",
            rows_written!(
                $flavour,
                "lps",
                "Liquidity_Providers",
                "l",
                "address, vault_address",
                "l.address = j.address AND l.vault_address = j.vault_address"
            ),
            ",\n",
            rows_written!(
                $flavour,
                "rounds",
                "Option_Rounds",
                "r",
                "address",
                "r.address = j.address"
            ),
            ",\n",
            rows_written!(
                $flavour,
                "queued",
                "Queued_Liquidity",
                "q",
                "round_address, address",
                "q.round_address = j.round_address AND q.address = j.address"
            ),
            ",\n",
            rows_written!(
                $flavour,
                "buyers",
                "Option_Buyers",
                "o",
                "address, round_address",
                "o.address = j.address AND o.round_address = j.round_address"
            ),
            ",\n",
            rows_written!(
                $flavour,
                "bids",
                "Bids",
                "b",
                "round_address, bid_id",
                "b.round_address = j.round_address AND b.bid_id = j.bid_id"
            ),
            r#",
vault_history AS (
    INSERT INTO public."Vault_Historic" AS h (address, block_number, unlocked_balance, locked_balance, stashed_balance)
    SELECT (v).address, at_block, (v).unlocked_balance, (v).locked_balance, (v).stashed_balance FROM vaults"#,
            $vault_conflict,
            r#"
    RETURNING h, h.xmax = 0 AS inserted, h.block_number AS at_block, ARRAY[h.address]::text[] AS k),
lp_history AS (
    INSERT INTO public."Liquidity_Providers_Historic" AS h
           (address, vault_address, block_number, unlocked_balance, locked_balance, stashed_balance)
    SELECT (l).address, (l).vault_address, at_block, (l).unlocked_balance, (l).locked_balance, (l).stashed_balance FROM lps"#,
            $lp_conflict,
            r#"
    RETURNING h, h.xmax = 0 AS inserted, h.block_number AS at_block, ARRAY[h.address, h.vault_address]::text[] AS k),
changes AS (
    SELECT c.channel, c.payload, c.inserted
      FROM (SELECT at_block, 1 AS t, k, 'vault_update' AS channel, row_to_json(v)::text AS payload, inserted FROM vaults
            UNION ALL SELECT at_block, 2, k, 'lp_update', row_to_json(l)::text, inserted FROM lps
            UNION ALL SELECT at_block, 3, k, 'or_update', row_to_json(r)::text, inserted FROM rounds
            UNION ALL SELECT at_block, 4, k, 'ob_update', row_to_json(o)::text, inserted FROM buyers
            UNION ALL SELECT at_block, 5, k, 'bids_update', evp.bid_payload(b)::text, inserted FROM bids) c"#,
            $order,
            r#"),
guard AS MATERIALIZED (
    SELECT evp.notify_queue_has_room() AS room, evp.notify_padding() AS pad
     WHERE evp.enabled('evp.notify') AND EXISTS (SELECT FROM changes)),
recorded AS (
    INSERT INTO evp.changes (position, block_number, block_hash, table_name, op, "row", reverted)
    SELECT nextval('evp.changes_position'), c.at_block, c.hash, c.table_name,
           CASE WHEN c.inserted THEN 'insert' ELSE 'update' END, c.r, false
      FROM (SELECT c.at_block, "#,
            $hash,
            r#" AS hash, c.table_name, c.r, c.inserted
              FROM (SELECT at_block, 1 AS t, k, 'VaultStates' AS table_name, to_jsonb(v) AS r, inserted FROM vaults
                    UNION ALL SELECT at_block, 2, k, 'Liquidity_Providers', to_jsonb(l), inserted FROM lps
                    UNION ALL SELECT at_block, 3, k, 'Option_Rounds', to_jsonb(r), inserted FROM rounds
                    UNION ALL SELECT at_block, 4, k, 'Queued_Liquidity', to_jsonb(q), inserted FROM queued
                    UNION ALL SELECT at_block, 5, k, 'Option_Buyers', to_jsonb(o), inserted FROM buyers
                    UNION ALL SELECT at_block, 6, k, 'Bids', to_jsonb(b), inserted FROM bids
                    UNION ALL SELECT at_block, 7, k, 'Vault_Historic', to_jsonb(h), inserted FROM vault_history
                    UNION ALL SELECT at_block, 8, k, 'Liquidity_Providers_Historic', to_jsonb(h), inserted FROM lp_history) c
             WHERE evp.feed_on()"#,
            $order,
            r#") c
    RETURNING position)"#,
            $($done)*,
            r#"
SELECT (SELECT count(pg_catalog.pg_notify(c.channel, '{"operation" : "' || CASE WHEN c.inserted THEN 'insert' ELSE 'update' END
                                                     || '", "payload" : ' || c.payload || '}' || g.pad))
          FROM changes c, guard g WHERE g.room) AS sent,
       (SELECT evp.notifications_skipped(count(*)) FROM changes c, guard g WHERE NOT g.room HAVING count(*) > 0) AS skipped,
       (SELECT evp.ring_at_commit(max(position)) FROM recorded) AS rung"#
        )
    };
}

/// One block's writes and its bookkeeping (`block_done!`), in one statement. $1 block, $2 its
/// hash, $3 to $7 as `block_done!`'s, $8 the journal's sequence before this application (0 for
/// the first).
macro_rules! block_written {
    ($vault_conflict:literal, $lp_conflict:literal) => {
        written!(
            block,
            "",
            "evp.normalize_felt($2)",
            "",
            $vault_conflict,
            $lp_conflict,
            ",\n",
            block_done!()
        )
    };
}

/// A block applied for the first time: its history rows are new (plain inserts, without the
/// conflict checks that cost as much as the insert when a block writes every LP of a vault).
pub const BLOCK_WRITTEN: &str = block_written!("", "");

/// Late events of an applied block: they write its history rows again.
pub const LATE_EVENTS_WRITTEN: &str = block_written!(
    r#"
    ON CONFLICT (address, block_number) DO UPDATE
       SET unlocked_balance = EXCLUDED.unlocked_balance, locked_balance = EXCLUDED.locked_balance,
           stashed_balance = EXCLUDED.stashed_balance"#,
    r#"
    ON CONFLICT (address, vault_address, block_number) DO UPDATE
       SET unlocked_balance = EXCLUDED.unlocked_balance, locked_balance = EXCLUDED.locked_balance,
           stashed_balance = EXCLUDED.stashed_balance"#
);

/// A batch's writes: blocks $1 (applied for the first time, their bookkeeping done), their
/// hashes $2, $3 the journal's sequence before the first of them.
const BATCH_WRITTEN: &str = written!(
    batch,
    "blocks AS (SELECT b.n, evp.normalize_felt(b.h) AS hash FROM unnest($1::numeric[], $2::text[]) AS b(n, h)),\n",
    "(SELECT b.hash FROM blocks b WHERE b.n = c.at_block)",
    "\n     ORDER BY c.at_block, c.t, c.k",
    "",
    "",
    ""
);

/// The most blocks, and events, a batch writes at once: bound the statement's sorts, not the
/// outcome.
const MAX_BLOCKS: usize = 64;
const MAX_EVENTS: i64 = 1_000;

/// The most events of a block a batch takes, and LPs of a vault whose LP-wide transition it
/// takes.
const MAX_BLOCK_EVENTS: usize = 16;
const MAX_VAULT_LPS: usize = 64;

/// Whether one of vaults $1 has more than $2 LPs (each counted up to one more, by its index).
const MANY_LPS: &str = r#"
SELECT coalesce(bool_or(c.n > $2::bigint), false) AS many
  FROM unnest($1::text[]) AS v(address)
 CROSS JOIN LATERAL (SELECT count(*) AS n
                       FROM (SELECT FROM public."Liquidity_Providers" l
                              WHERE l.vault_address = v.address LIMIT $2::bigint + 1) s) c"#;

/// Whether one of `vaults` has more LPs than a batch takes an LP-wide transition of.
pub fn many_lps(client: &mut SpiClient<'_>, vaults: Vec<String>) -> bool {
    let params = [vaults.into(), MAX_VAULT_LPS.to_string().into()];
    spi(read(client, MANY_LPS, &params).and_then(|t| t.first().get_by_name("many"))).unwrap_or(true)
}

/// Blocks a walk applied whose writes wait to go together, and the blocks it applied whose
/// journal pruning waits for them (a prune could remove their journal: `evp.journal_horizon`
/// may be as small as one block). The walk applies blocks lowest first.
#[derive(Default)]
pub struct Batch {
    /// The journal's sequence before the first block waiting.
    floor: Option<String>,
    numbers: Vec<String>,
    hashes: Vec<String>,
    events: i64,
    /// The first and last block applied since the last flush.
    applied: Option<(String, String)>,
}

impl Batch {
    /// Whether a block of `events` events goes with a batch; `many_lps` says whether one of
    /// them is an LP-wide transition of a vault with many LPs (`many_lps()`), asked only of a
    /// block of few events. A batch writes its rows in block order, which costs a sort of them
    /// all; a block of few rows saves more than that (a statement), one that writes many
    /// (every LP of a big vault) does not, and writes alone.
    pub fn takes(events: usize, many_lps: impl FnOnce() -> bool) -> bool {
        events <= MAX_BLOCK_EVENTS && !many_lps()
    }

    /// Whether no block's writes wait.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// Whether the batch should be written now.
    pub fn is_full(&self) -> bool {
        self.numbers.len() >= MAX_BLOCKS || self.events >= MAX_EVENTS
    }

    /// Block `block`, which applied `events` with the journal at `floor` before it, waits to
    /// be written.
    pub fn defer(&mut self, block: &BlockCtx, events: i64, floor: String) {
        self.floor.get_or_insert(floor);
        self.events += events;
        self.numbers.push(block.number.clone());
        self.hashes.push(block.hash.clone());
        self.applied(&block.number, &block.number);
    }

    /// Blocks `first` to `last` were applied (above any applied before).
    pub fn applied(&mut self, first: &str, last: &str) {
        match &mut self.applied {
            Some((_, l)) => *l = last.to_owned(),
            None => self.applied = Some((first.to_owned(), last.to_owned())),
        }
    }

    /// Writes the blocks waiting, then prunes as applying the blocks one by one does.
    pub fn flush(&mut self, client: &mut SpiClient<'_>) {
        let batch = std::mem::take(self);
        if let Some(floor) = batch.floor {
            xact::set_applying(true);
            let params: Vec<Param> = vec![batch.numbers.into(), batch.hashes.into(), floor.into()];
            spi(run(client, BATCH_WRITTEN, &params));
            xact::set_applying(false);
        }
        if let Some((first, last)) = batch.applied {
            prune_after(client, &first, &last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(number: &str) -> BlockCtx {
        BlockCtx {
            number: number.to_owned(),
            hash: format!("0x{number}"),
            timestamp: None,
            events_have_emitter: false,
            late: false,
        }
    }

    #[test]
    fn a_batch_takes_blocks_of_few_events_and_no_lp_wide_transition_of_many_lps() {
        assert!(Batch::takes(1, || false));
        assert!(Batch::takes(MAX_BLOCK_EVENTS, || false));
        assert!(!Batch::takes(MAX_BLOCK_EVENTS + 1, || false));
        assert!(!Batch::takes(1, || true));
        assert!(!Batch::takes(MAX_BLOCK_EVENTS + 1, || unreachable!(
            "a block of many events writes alone"
        )),);
    }

    #[test]
    fn a_batch_is_full_at_its_blocks_or_its_events() {
        let mut batch = Batch::default();
        assert!(batch.is_empty());
        for n in 0..MAX_BLOCKS - 1 {
            batch.defer(&block(&(100 + n).to_string()), 1, "7".to_owned());
        }
        assert!(!batch.is_empty() && !batch.is_full());
        batch.defer(&block("999"), 1, "8".to_owned());
        assert!(batch.is_full());

        let mut batch = Batch::default();
        batch.defer(&block("5"), MAX_EVENTS - 1, "0".to_owned());
        assert!(!batch.is_full());
        batch.defer(&block("6"), 1, "3".to_owned());
        assert!(batch.is_full());
    }

    #[test]
    fn a_batch_writes_from_its_first_blocks_floor_and_prunes_what_the_walk_applied() {
        let mut batch = Batch::default();
        batch.applied("10", "19");
        assert!(batch.is_empty(), "a run of empty blocks writes nothing");
        batch.defer(&block("20"), 2, "41".to_owned());
        batch.applied("21", "120");
        batch.defer(&block("121"), 1, "57".to_owned());
        assert_eq!(batch.floor.as_deref(), Some("41"));
        assert_eq!(batch.numbers, ["20", "121"]);
        assert_eq!(batch.hashes, ["0x20", "0x121"]);
        assert_eq!(batch.applied, Some(("10".to_owned(), "121".to_owned())));
    }
}
