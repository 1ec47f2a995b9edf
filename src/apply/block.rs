//! One block: its events in (vault, nonce) order, error handling per `evp.on_error`, and the
//! bookkeeping that makes applying idempotent. Which block goes next is `catchup`'s business.

use super::event::{apply_event, run_member, Applied, ApplyError, BlockCtx, EventRow, Run};
use super::statements::journal;
use super::written::{many_lps, Batch, BLOCK_DONE, BLOCK_WRITTEN, LATE_EVENTS_WRITTEN};
use crate::decode::Kind;
use crate::error::raise_with_hint;
use crate::failure::BlockFailure;
use crate::guc::{OnError, ON_ERROR};
use crate::journal::prune_after;
use crate::spi::{read, run, spi, Param};
use crate::subxact::attempt;
use crate::xact;
use pgrx::pg_sys::panic::{CaughtError, ErrorReportWithLevel};
use pgrx::pg_sys::PgTryBuilder;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::cell::Cell;
use std::panic::AssertUnwindSafe;

/// The block's events not applied yet, in vault then nonce order, with `$emitter` (the
/// optional `from_address` column, or NULL where the indexer's table has none), and whether
/// each is a copy. The plugin's copies (SPEC 7.1, 7.3): the k-th occurrence of an event
/// (vault, transaction hash, name, keys, data) in each inserting transaction (`xmin`) is one
/// event, applied once, at its lowest nonce; so copies count once whichever transaction came
/// first, whether the earlier copy was whole or a prefix, and identical events of one
/// transaction stay distinct. Among the events still to apply ($3 false: the block's first
/// application), or all the block's ($3 true: its late events, whose earlier copies it
/// applied). Copies found before are in `evp.event_copies` (sql/schema.sql).
macro_rules! block_events {
    ($emitter:literal) => {
        concat!(
            "SELECT e.vault_address::text AS vault, e.event_nonce AS nonce, e.event_name::text AS name, ",
            "e.event_keys::text[] AS keys, e.event_data::text[] AS data, ",
            $emitter,
            " AS emitter, e.occurrence > 1 AS copy",
            r#"
  FROM (SELECT k.*, row_number() OVER (PARTITION BY k.vault, k.tx, k.event_name, k.event_keys, k.event_data, k.k
                                       ORDER BY k.event_nonce) AS occurrence
          FROM (SELECT e.*, evp.normalize_felt(e.vault_address) AS vault, evp.normalize_felt(e.transaction_hash) AS tx,
                       coalesce(p.last_nonce, 0) AS last_nonce,
                       row_number() OVER (PARTITION BY evp.normalize_felt(e.vault_address),
                                                       evp.normalize_felt(e.transaction_hash), e.event_name,
                                                       e.event_keys, e.event_data, e.xmin::text
                                          ORDER BY e.event_nonce) AS k
                  FROM public.events e
                  LEFT JOIN evp.vault_progress p ON p.vault_address = evp.normalize_felt(e.vault_address)
                 WHERE e.block_number = $1::numeric AND evp.normalize_felt(e.block_hash) = evp.normalize_felt($2)
                   AND ($3::boolean OR e.event_nonce > coalesce(p.last_nonce, 0))) k) e
 WHERE e.event_nonce > e.last_nonce
   AND NOT EXISTS (SELECT FROM evp.event_copies c
                    WHERE c.block_hash = evp.normalize_felt($2) AND c.vault_address = e.vault AND c.event_nonce = e.event_nonce)
 ORDER BY e.vault, e.event_nonce"#
        )
    };
}
const BLOCK_EVENTS_WITH_EMITTER: &str = block_events!("e.from_address::text");
const BLOCK_EVENTS: &str = block_events!("NULL::text");

/// Records copies $3 (vaults) / $4 (nonces) of block ($1, $2) found by `block_events!`.
const COPIES_FOUND: &str = r#"
INSERT INTO evp.event_copies (block_hash, vault_address, event_nonce, block_number)
SELECT evp.normalize_felt($2), evp.normalize_felt(c.v), c.n::bigint, $1::numeric FROM unnest($3::text[], $4::text[]) AS c(v, n)
ON CONFLICT DO NOTHING"#;

/// The journal's sequence so far (`floor`): the images of the block being applied come after it.
const JOURNAL_FLOOR: &str = r#"
SELECT (SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END FROM evp.journal_seq s)::text AS floor"#;

/// A skipped event, under evp.on_error = skip.
const EVENT_FAILED: &str = concat!(
    "WITH j AS (",
    journal!(failed_events),
    r#" VALUES ($1::numeric, $3, $4::bigint, $2, NULL))
INSERT INTO evp.failed_events (block_number, block_hash, vault_address, event_nonce, event_name, sqlstate, reason)
VALUES ($1::numeric, $2, $3, $4::bigint, $5, $6, $7)"#
);

/// Applies the block's events not applied yet; returns how many were applied. Consecutive
/// Deposits and Withdrawals of a vault, WithdrawalQueued and BidPlaced of a round go as one
/// run (see `Run`). What the block wrote (history, notifications, feed) is written now, or,
/// given a `batch`, with the batch's blocks (a block applied for the first time) if the batch
/// takes it (`Batch::takes`); otherwise the batch is written first.
pub fn apply_events(
    client: &mut SpiClient<'_>,
    block: &BlockCtx,
    batch: Option<&mut Batch>,
) -> i64 {
    let rows = read_events(client, block);
    let batch = match batch {
        Some(batch) if !Batch::takes(rows.len(), || lp_wide_of_many(client, &rows)) => {
            batch.flush(client);
            None
        }
        batch => batch,
    };
    let floor: String =
        spi(read(client, JOURNAL_FLOOR, &[]).and_then(|t| t.first().get_by_name("floor")))
            .unwrap_or_else(|| "0".to_owned());
    // The block notifies and records itself: the notification and feed triggers stay off
    // (their WHEN, sql/journal.sql and sql/feed.sql).
    xact::set_applying(true);
    let mut tally = Tally::default();
    let mut current = Run::default();
    for (i, row) in rows.iter().enumerate() {
        let member = run_member(row);
        // Any other event, or one of another run, ends the run so far.
        if member.as_ref().is_none_or(|m| !current.continues(m)) {
            let ended = std::mem::take(&mut current);
            apply_run(client, block, &rows, ended, &mut tally);
        }
        match member {
            Some(member) => current.push(i, member),
            None => tally.apply(client, block, row),
        }
    }
    apply_run(client, block, &rows, current, &mut tally);
    let [vaults, nonces] = vaults_and_nonces(tally.last_nonce);
    let statement = match (tally.applied > 0, block.late) {
        (false, _) => BLOCK_DONE,
        (true, true) => LATE_EVENTS_WRITTEN,
        (true, false) if batch.is_some() => BLOCK_DONE,
        (true, false) => BLOCK_WRITTEN,
    };
    let params: Vec<Param> = vec![
        block.number.clone().into(),
        block.hash.clone().into(),
        vaults,
        nonces,
        tally.applied.to_string().into(),
        tally.ignored.to_string().into(),
        tally.failed.to_string().into(),
        floor.clone().into(),
    ];
    spi(run(client, statement, &params));
    xact::set_applying(false);
    match batch {
        Some(batch) if tally.applied > 0 && !block.late => batch.defer(block, tally.applied, floor),
        Some(batch) => batch.applied(&block.number, &block.number),
        None => prune_after(client, &block.number, &block.number),
    }
    tally.applied
}

/// Whether an event of `rows` is an LP-wide transition of a vault with many LPs (see
/// `Batch::takes`).
fn lp_wide_of_many(client: &mut SpiClient<'_>, rows: &[EventRow]) -> bool {
    let vaults: Vec<String> = rows
        .iter()
        .filter(|r| Kind::named(&r.name).is_some_and(Kind::is_lp_wide))
        .map(EventRow::vault)
        .collect();
    !vaults.is_empty() && many_lps(client, vaults)
}

/// A run: one statement, in a subtransaction; if it fails, the events are applied one by one,
/// so that the failure names its event (and only it is skipped).
fn apply_run(
    client: &mut SpiClient<'_>,
    block: &BlockCtx,
    rows: &[EventRow],
    run: Run,
    tally: &mut Tally,
) {
    if let [i] = run.rows[..] {
        tally.apply(client, block, &rows[i]);
        return;
    }
    if run.rows.is_empty() {
        return;
    }
    let applied = attempt(|| run.apply(client, block).map_err(Failure::from)).is_ok();
    for &i in &run.rows {
        if applied {
            tally.add(client, block, &rows[i], Ok(Applied::Applied));
        } else {
            tally.apply(client, block, &rows[i]);
        }
    }
}

/// What a block's application counted, and each vault's last nonce, in event order.
#[derive(Default)]
struct Tally {
    applied: i64,
    ignored: i64,
    failed: i64,
    last_nonce: Vec<(String, i64)>,
}

impl Tally {
    /// Applies one event on its own and counts the outcome.
    fn apply(&mut self, client: &mut SpiClient<'_>, block: &BlockCtx, row: &EventRow) {
        let outcome = apply_one(client, block, row);
        self.add(client, block, row, outcome);
    }

    /// Counts an event's outcome; a failure (under `skip`) is recorded in `evp.failed_events`.
    fn add(
        &mut self,
        client: &mut SpiClient<'_>,
        block: &BlockCtx,
        row: &EventRow,
        outcome: Result<Applied, Failure>,
    ) {
        let vault = row.vault();
        match outcome {
            Ok(Applied::Applied) => self.applied += 1,
            Ok(Applied::Ignored) => self.ignored += 1,
            Err(Failure { code, reason }) => {
                self.failed += 1;
                let params: Vec<Param> = vec![
                    block.number.clone().into(),
                    block.hash.clone().into(),
                    vault.clone().into(),
                    row.nonce.to_string().into(),
                    row.name.clone().into(),
                    sqlstate(code).into(),
                    reason.into(),
                ];
                spi(run(client, EVENT_FAILED, &params));
            }
        }
        match self.last_nonce.last_mut() {
            Some((v, n)) if *v == vault => *n = row.nonce,
            _ => self.last_nonce.push((vault, row.nonce)),
        }
    }
}

/// The block's events to apply; the plugin's copies among them are recorded, not returned.
fn read_events(client: &mut SpiClient<'_>, block: &BlockCtx) -> Vec<EventRow> {
    let statement = if block.events_have_emitter {
        BLOCK_EVENTS_WITH_EMITTER
    } else {
        BLOCK_EVENTS
    };
    let table = spi(read(
        client,
        statement,
        &[
            block.number.clone().into(),
            block.hash.clone().into(),
            block.late.to_string().into(),
        ],
    ));
    let (copies, rows): (Vec<_>, Vec<_>) = table
        .into_iter()
        .map(|row| {
            let event = EventRow {
                vault_raw: spi(row.get_by_name("vault")).unwrap_or_default(),
                nonce: spi(row.get_by_name("nonce")).unwrap_or_default(),
                name: spi(row.get_by_name("name")).unwrap_or_default(),
                keys: spi(row.get_by_name::<Vec<Option<String>>, _>("keys")).unwrap_or_default(),
                data: spi(row.get_by_name::<Vec<Option<String>>, _>("data")).unwrap_or_default(),
                emitter: spi(row.get_by_name("emitter")),
            };
            (spi(row.get_by_name::<bool, _>("copy")) == Some(true), event)
        })
        .partition(|(copy, _)| *copy);
    if !copies.is_empty() {
        let [vaults, nonces] =
            vaults_and_nonces(copies.into_iter().map(|(_, e)| (e.vault_raw, e.nonce)));
        let params: Vec<Param> = vec![
            block.number.clone().into(),
            block.hash.clone().into(),
            vaults,
            nonces,
        ];
        spi(run(client, COPIES_FOUND, &params));
    }
    rows.into_iter().map(|(_, e)| e).collect()
}

/// Vaults and a nonce of each, as two array parameters.
fn vaults_and_nonces(pairs: impl IntoIterator<Item = (String, i64)>) -> [Param; 2] {
    let (vaults, nonces): (Vec<String>, Vec<String>) = pairs
        .into_iter()
        .map(|(vault, nonce)| (vault, nonce.to_string()))
        .unzip();
    [vaults.into(), nonces.into()]
}

/// Why an event failed: its SQLSTATE and a reason.
struct Failure {
    code: PgSqlErrorCode,
    reason: String,
}

impl From<ApplyError> for Failure {
    fn from(e: ApplyError) -> Self {
        let code = match &e {
            ApplyError::Decode(_) => PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            ApplyError::Auction(_) | ApplyError::Inconsistent(_) => {
                PgSqlErrorCode::ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION
            }
            ApplyError::Spi(_) => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        };
        Failure {
            code,
            reason: e.to_string(),
        }
    }
}

impl From<CaughtError> for Failure {
    fn from(e: CaughtError) -> Self {
        let report = error_report(&e);
        Failure {
            code: report.sql_error_code(),
            reason: report.message().to_owned(),
        }
    }
}

/// The error report of a caught error, whichever way it was raised.
pub fn error_report(e: &CaughtError) -> &ErrorReportWithLevel {
    match e {
        CaughtError::PostgresError(r)
        | CaughtError::ErrorReport(r)
        | CaughtError::RustPanic { ereport: r, .. } => r,
    }
}

/// The five-character SQLSTATE of an error code (Postgres packs six bits a character).
fn sqlstate(code: PgSqlErrorCode) -> String {
    let packed = code as isize;
    (0..5)
        .map(|i| char::from(b'0' + ((packed >> (6 * i)) & 0x3F) as u8))
        .collect()
}

/// Applies one event. Under `skip`, the event runs in a subtransaction that is rolled back on
/// failure, and the failure is returned to be recorded. Otherwise a failure raises an error
/// naming block, vault, nonce, event and reason: under `abort` the whole transaction rolls
/// back; under `hold` the walk catches it and holds the block (see [`BlockFailure`]).
fn apply_one(
    client: &mut SpiClient<'_>,
    block: &BlockCtx,
    row: &EventRow,
) -> Result<Applied, Failure> {
    let apply = || apply_event(client, block, row).map_err(Failure::from);
    if ON_ERROR.get() == OnError::Skip {
        return attempt(apply);
    }
    let Failure { code, reason } = match PgTryBuilder::new(AssertUnwindSafe(apply))
        .catch_others(|e| Err(Failure::from(e)))
        .execute()
    {
        Ok(applied) => return Ok(applied),
        Err(failure) => failure,
    };
    FAILED_EVENT.set(Some(FailedEvent {
        vault: row.vault_raw.clone(),
        nonce: row.nonce,
        name: row.name.clone(),
        reason: reason.clone(),
    }));
    raise_with_hint(
        code,
        format!(
            "block {}, vault {}, event nonce {} ({}): {reason}",
            block.number, row.vault_raw, row.nonce, row.name
        ),
        "With evp.on_error = 'hold' (the default) the transaction commits and the block is held; with \
         'skip' the event is recorded in evp.failed_events and the rest of its block applied.",
    )
}

/// The event whose failure `apply_one` raised last, for the block's hold.
struct FailedEvent {
    vault: String,
    nonce: i64,
    name: String,
    reason: String,
}

thread_local! {
    static FAILED_EVENT: Cell<Option<FailedEvent>> = const { Cell::new(None) };
}

impl BlockFailure {
    /// Forgets the event of an earlier failure: call before the work whose failure is caught.
    pub fn reset() {
        FAILED_EVENT.set(None);
    }
}

impl From<CaughtError> for BlockFailure {
    fn from(e: CaughtError) -> Self {
        let report = error_report(&e);
        let sqlstate = sqlstate(report.sql_error_code());
        match FAILED_EVENT.take() {
            Some(f) => BlockFailure {
                vault: Some(f.vault),
                nonce: Some(f.nonce),
                event: Some(f.name),
                sqlstate,
                reason: f.reason,
            },
            None => BlockFailure {
                vault: None,
                nonce: None,
                event: None,
                sqlstate,
                reason: report
                    .message()
                    .trim_start_matches("event_processor: ")
                    .to_owned(),
            },
        }
    }
}
