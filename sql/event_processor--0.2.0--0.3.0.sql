-- event_processor 0.2.0 → 0.3.0: ALTER EXTENSION event_processor UPDATE runs this script.
-- A released artefact once 0.3.0 is released, never edited after: it brings the objects that
-- 0.2.0's install script made (sql/event_processor--0.2.0.sql) to what 0.3.0's makes, keeping
-- every row of state, journal and bookkeeping. The definitions below are those of 0.3.0's
-- sql/*.sql at its release; CI compares the catalog of an updated 0.2.0 (and 0.1.0, through
-- both scripts) with a fresh install (tests/integration/upgrade.sh).
\echo Use "ALTER EXTENSION event_processor UPDATE" to load this file. \quit

-- 0. Transaction state and settings (src/xact.rs, src/guc.rs): the library keeps what 0.2.0
-- kept in pseudo-settings, which the reserved evp prefix no longer allows.
CREATE  FUNCTION evp."applying"() RETURNS bool /* bool */
STRICT PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'applying_wrapper';
CREATE  FUNCTION evp."set_reverting"(
	"blk" NUMERIC, /* Option < AnyNumeric > */
	"hash" TEXT /* Option < String > */
) RETURNS void
PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'set_reverting_wrapper';
CREATE  FUNCTION evp."reverting_block"() RETURNS NUMERIC /* Option < AnyNumeric > */
STRICT PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'reverting_block_wrapper';
CREATE  FUNCTION evp."reverting_hash"() RETURNS TEXT /* Option < String > */
STRICT PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'reverting_hash_wrapper';
CREATE  FUNCTION evp."setting"(
	"name" TEXT /* & str */
) RETURNS TEXT /* String */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'setting_wrapper';
CREATE OR REPLACE FUNCTION evp."notify_padding"() RETURNS TEXT /* String */
STRICT PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'notify_padding_wrapper';
CREATE OR REPLACE FUNCTION evp."notify_next_round"() RETURNS void
STRICT PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'notify_next_round_wrapper';

-- Whether a boolean evp.* setting is on. evp.setting() (src/guc.rs) loads the library, which
-- defines the setting and its default, in a backend where no trigger has loaded it yet. SQL, so
-- that the planner inlines it into its callers (a trigger's IF on every block row).
CREATE OR REPLACE FUNCTION evp.enabled(setting text) RETURNS boolean
STABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT evp.setting(setting)::boolean
$$;

-- Whether the queue is below the limit; the first statement to find room after skipping ends
-- the skipping.
CREATE OR REPLACE FUNCTION evp.notify_queue_has_room() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    limit_share float8 := evp.setting('evp.notify_queue_limit')::float8;
    room boolean := pg_catalog.pg_notification_queue_usage() < limit_share;
BEGIN
    IF room THEN
        UPDATE evp.notify_guard SET skipping_since = NULL WHERE skipping_since IS NOT NULL;
    END IF;
    RETURN room;
END $$;

-- 1. The block ledger (sql/schema.sql) replaces evp.applied_blocks, evp.late_blocks,
-- evp.rowless_blocks and evp.reverted_blocks: each of their rows becomes an entry, the rows of
-- starknet_blocks not applied yet become pending entries.
CREATE TYPE evp.block_state AS ENUM ('noted', 'pending', 'applied', 'reverted');

CREATE TABLE evp.blocks (
    block_number numeric(78,0) NOT NULL,
    block_hash varchar(66) NOT NULL,
    state evp.block_state NOT NULL,
    has_row boolean NOT NULL DEFAULT false,       -- a row with this hash is in starknet_blocks (REVERTED too)
    has_events boolean NOT NULL DEFAULT false,    -- events with this hash were inserted (if not, it is empty)
    parent_hash varchar(66),                      -- its row's, normalised
    -- The transaction that noted its events (its rows may still be coming, newest first).
    noted_in xid8,
    late boolean NOT NULL DEFAULT false,          -- applied; events arrived after it, not applied yet
    events_applied integer NOT NULL DEFAULT 0,
    events_ignored integer NOT NULL DEFAULT 0,    -- not Pitch Lake events (an option token's Transfer, say)
    events_failed integer NOT NULL DEFAULT 0,     -- skipped under evp.on_error = 'skip'
    PRIMARY KEY (block_number, block_hash)
);
CREATE INDEX blocks_queue_idx ON evp.blocks (block_number, block_hash) WHERE state IN ('noted', 'pending');
CREATE UNIQUE INDEX blocks_applied_idx ON evp.blocks (block_number) WHERE state = 'applied';
CREATE INDEX blocks_not_empty_idx ON evp.blocks (block_number)
    WHERE state IN ('noted', 'pending') AND (has_events OR NOT has_row);
CREATE INDEX blocks_noted_idx ON evp.blocks (block_number, block_hash) WHERE state = 'noted';
CREATE INDEX blocks_reverted_rows_idx ON evp.blocks (block_number) WHERE state = 'reverted' AND has_row;
CREATE INDEX blocks_late_idx ON evp.blocks (block_number) WHERE late;
SELECT pg_catalog.pg_extension_config_dump('evp.blocks', '');

-- Held blocks (evp.on_error = hold, SPEC 7.3): a block that could not be applied stays in the
-- queue, not applied, and everything above it waits (src/ledger/hold.rs). Its cause: the event
-- that failed, if one did, the SQLSTATE and the reason. evp_catchup() releases the holds and
-- tries again. An entry that leaves the ledger takes its hold with it.
CREATE TABLE evp.held_blocks (
    block_number numeric(78,0) NOT NULL,
    block_hash varchar(66) NOT NULL,
    held_at timestamptz NOT NULL DEFAULT now(),
    vault_address varchar(255),
    event_nonce bigint,
    event_name varchar(255),
    sqlstate char(5) NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (block_number, block_hash),
    FOREIGN KEY (block_number, block_hash) REFERENCES evp.blocks ON DELETE CASCADE
);
SELECT pg_catalog.pg_extension_config_dump('evp.held_blocks', '');

-- The plugin's copies (SPEC 7.1, 7.3): when Juno starts, the Pitch Lake plugin stores a
-- block's events twice, in two transactions (its catch-up, then the block's own). Events of a
-- block that repeat, as multisets, events another transaction stored for it (same vault,
-- transaction hash, name, keys and data) are copies: each is applied once, the lowest nonce
-- first (src/apply/block.rs). Recorded when found, so that a replay decides alike after a
-- pg_restore, which loads every event in one transaction.
CREATE TABLE evp.event_copies (
    block_hash varchar(66) NOT NULL,
    vault_address varchar(66) NOT NULL,
    event_nonce bigint NOT NULL,
    block_number numeric(78,0) NOT NULL,
    PRIMARY KEY (block_hash, vault_address, event_nonce)
);
SELECT pg_catalog.pg_extension_config_dump('evp.event_copies', '');

-- Applied blocks first (a hash once reverted and back is applied), then what the indexer
-- reverted, the rows not applied, and the blocks without a row.
INSERT INTO evp.blocks (block_number, block_hash, state, late, events_applied, events_ignored, events_failed)
SELECT a.block_number, evp.normalize_felt(a.block_hash), 'applied',
       EXISTS (SELECT FROM evp.late_blocks l WHERE l.block_number = a.block_number),
       a.events_applied, a.events_ignored, a.events_failed
  FROM evp.applied_blocks a;
INSERT INTO evp.blocks (block_number, block_hash, state)
SELECT x.block_number, x.block_hash, 'reverted' FROM evp.reverted_blocks x
ON CONFLICT DO NOTHING;
INSERT INTO evp.blocks (block_number, block_hash, state)
SELECT b.block_number, evp.normalize_felt(b.block_hash),
       CASE WHEN b.status = 'REVERTED' THEN 'reverted' ELSE 'pending' END::evp.block_state
  FROM public.starknet_blocks b
ON CONFLICT DO NOTHING;
INSERT INTO evp.blocks (block_number, block_hash, state, noted_in)
SELECT r.block_number, r.block_hash, 'noted', r.noted_in FROM evp.rowless_blocks r
ON CONFLICT DO NOTHING;
-- Which have a row, their parents, which have events.
UPDATE evp.blocks x SET has_row = true, parent_hash = evp.normalize_felt(b.parent_hash)
  FROM public.starknet_blocks b
 WHERE b.block_number = x.block_number AND evp.normalize_felt(b.block_hash) = x.block_hash;
UPDATE evp.blocks x SET has_events = true
 WHERE EXISTS (SELECT FROM public.events e
                WHERE e.block_number = x.block_number AND evp.normalize_felt(e.block_hash) = x.block_hash);

ALTER EXTENSION event_processor DROP TABLE evp.applied_blocks;
DROP TABLE evp.applied_blocks;
ALTER EXTENSION event_processor DROP TABLE evp.late_blocks;
DROP TABLE evp.late_blocks;
DROP FUNCTION evp.ready_rowless_blocks(boolean);
DROP FUNCTION evp.note_rowless_blocks();
ALTER EXTENSION event_processor DROP TABLE evp.rowless_blocks;
DROP TABLE evp.rowless_blocks;
ALTER EXTENSION event_processor DROP TABLE evp.reverted_blocks;
DROP TABLE evp.reverted_blocks;

-- The applied blocks and their counters, for operators and tests.
CREATE VIEW evp.applied_blocks AS
SELECT block_number, block_hash, events_applied, events_ignored, events_failed FROM evp.blocks WHERE state = 'applied';

-- The ledger completed from the indexer's tables: at CREATE EXTENSION for the history already
-- there, and by evp_rebuild() (which makes the applied blocks pending again). Rows enter as
-- pending (REVERTED ones as reverted); events as noted where their hash has no row, unless
-- their number holds an applied block or a row of another hash (whose block it is).
-- A function: under pg_restore the indexer's tables do not exist yet when the extension is
-- created, and the ledger comes from the dump.
CREATE FUNCTION evp.note_blocks() RETURNS void
LANGUAGE sql AS $$
    INSERT INTO evp.blocks (block_number, block_hash, state, has_row, parent_hash)
    SELECT b.block_number, evp.normalize_felt(b.block_hash),
           CASE WHEN b.status = 'REVERTED' THEN 'reverted' ELSE 'pending' END::evp.block_state, true,
           evp.normalize_felt(b.parent_hash)
      FROM public.starknet_blocks b
    ON CONFLICT (block_number, block_hash) DO UPDATE SET has_row = true, parent_hash = EXCLUDED.parent_hash;
    INSERT INTO evp.blocks AS x (block_number, block_hash, state, has_events)
    SELECT DISTINCT e.block_number, evp.normalize_felt(e.block_hash), 'noted'::evp.block_state, true
      FROM public.events e
     WHERE NOT EXISTS (SELECT FROM evp.blocks o
                        WHERE o.block_number = e.block_number AND o.block_hash <> evp.normalize_felt(e.block_hash)
                          AND (o.state = 'applied' OR (o.has_row AND o.state <> 'reverted')))
    ON CONFLICT (block_number, block_hash) DO UPDATE SET has_events = true WHERE NOT x.has_events;
$$;

-- 2. Reverting and clearing (sql/journal.sql): the generated statements of 0.2.0's
-- evp.revert_block() and evp.clear_state() become evp.revert_journal() and
-- evp.clear_journaled() as they are (the journaled tables have not changed), and the two are
-- written by hand around them, with the ledger.
DO $$
DECLARE
    revert_sql text := substring((SELECT prosrc FROM pg_proc WHERE oid = 'evp.revert_block(numeric)'::regprocedure)
                                 FROM 'PERFORM evp\.notify_next_round\(\);(.*)\n    DELETE FROM evp\.applied_blocks');
    clear_sql text := substring((SELECT prosrc FROM pg_proc WHERE oid = 'evp.clear_state()'::regprocedure)
                                FROM 'DELETE FROM evp\.journal_pruned;(.*)\n$');
BEGIN
    EXECUTE format($f$
CREATE FUNCTION evp.revert_journal(blk numeric) RETURNS void LANGUAGE plpgsql AS $body$
BEGIN%s
END $body$ $f$, revert_sql);
    EXECUTE format($f$
CREATE FUNCTION evp.clear_journaled() RETURNS void LANGUAGE sql AS $body$%s
$body$ $f$, clear_sql);
END $$;
DROP FUNCTION evp.revert_block(numeric);
DROP FUNCTION evp.clear_state();

-- The apply path writes its journal, history and notifications itself (sql/journal.sql): the
-- generated trigger functions of 0.2.0 go, and triggers that announce the changes made outside
-- the apply path come.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT jt.tbl, c.relname FROM evp.journaled_tables jt JOIN pg_class c ON c.oid = jt.tbl::regclass LOOP
        EXECUTE format('DROP TRIGGER evp_changes_insert ON %1$s; DROP TRIGGER evp_changes_update ON %1$s; '
                       'DROP TRIGGER evp_changes_delete ON %1$s; DROP FUNCTION evp.%2$I()', t.tbl, 'changed_' || t.relname);
    END LOOP;
END $$;
ALTER TABLE evp.journaled_tables DROP COLUMN history;

-- Changes made outside the apply path (a revert, evp_rebuild() clearing the state, an
-- operator's own statement) are announced by statement triggers on the tables with a channel:
-- {"operation": "insert"|"update"|"delete", "payload": row} per row (the row made a payload by
-- the table's function, TG_ARGV[1]) on the table's channel (TG_ARGV[0]), unless evp.notify is
-- off or the notification queue has no room (see evp.notify_queue_has_room). pg_notify is
-- delivered at commit, so a rolled-back revert sends nothing. Their WHEN keeps them off the
-- apply path, which notifies once per block itself. A restore's COPY announces its rows too.
CREATE FUNCTION evp.notify_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed text := CASE WHEN TG_OP = 'DELETE' THEN 'old_rows' ELSE 'new_rows' END;
    skipped bigint;
BEGIN
    IF NOT evp.enabled('evp.notify') THEN
        RETURN NULL;
    ELSIF evp.notify_queue_has_room() THEN
        EXECUTE format('SELECT count(pg_catalog.pg_notify(%L, ''{"operation" : "%s", "payload" : '' || %s(r)::text || ''}'' || $1)) FROM %I r',
                       TG_ARGV[0], lower(TG_OP), TG_ARGV[1], changed)
          USING evp.notify_padding();
    ELSE
        EXECUTE format('SELECT count(*) FROM %I', changed) INTO skipped;
        PERFORM evp.notifications_skipped(skipped);
    END IF;
    RETURN NULL;
END $$;

-- The triggers of evp.notify_changes(), on the tables with a channel (as sql/journal.sql makes them).
DO $do$
DECLARE
    t record;
    e record;
BEGIN
    FOR t IN SELECT tbl, channel, payload FROM evp.journaled_tables WHERE channel IS NOT NULL LOOP
        FOR e IN VALUES ('insert', 'NEW TABLE AS new_rows'), ('update', 'OLD TABLE AS old_rows NEW TABLE AS new_rows'),
                        ('delete', 'OLD TABLE AS old_rows') LOOP
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s REFERENCING %s FOR EACH STATEMENT '
                           'WHEN (NOT evp.applying()) '
                           'EXECUTE FUNCTION evp.notify_changes(%L, %L)',
                           'evp_changes_' || e.column1, e.column1, t.tbl, e.column2, t.channel, t.payload);
        END LOOP;
    END LOOP;
END $do$;

-- A vault's LPs, with the address too (sql/schema.sql).
DROP INDEX public."Liquidity_Providers_vault_idx";
CREATE INDEX "Liquidity_Providers_vault_idx" ON public."Liquidity_Providers" (vault_address, address);

-- The applied blocks from `first` to `last` become what they were before they were applied:
-- pending again, or noted for a block without a row, with nothing counted.
CREATE FUNCTION evp.unapply_blocks(first numeric, last numeric) RETURNS void
LANGUAGE sql AS $$
    UPDATE evp.blocks SET state = CASE WHEN has_row THEN 'pending' ELSE 'noted' END::evp.block_state,
           noted_in = NULL, late = false, events_applied = 0, events_ignored = 0, events_failed = 0
     WHERE state = 'applied' AND block_number BETWEEN first AND last
$$;

-- Undoes one applied block (blk, hash): its journal, its history, its state in the ledger.
-- The change feed records it with its block (sql/feed.sql).
CREATE FUNCTION evp.revert_block(blk numeric, hash text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evp.notify_next_round();
    PERFORM evp.feed_reverting(blk, hash);
    PERFORM evp.revert_journal(blk);
    PERFORM evp.unapply_blocks(blk, blk);
    DELETE FROM public."Vault_Historic" WHERE block_number = blk;
    DELETE FROM public."Liquidity_Providers_Historic" WHERE block_number = blk;
    PERFORM evp.feed_reverted();
END $$;

-- DELETE, not TRUNCATE: TRUNCATE's ACCESS EXCLUSIVE lock would deadlock with an indexer
-- session that read a state table before waiting for the extension's lock, block every reader
-- until the rebuild commits, and show readers with an older snapshot empty tables.
CREATE FUNCTION evp.clear_state() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM public."Vault_Historic";
    DELETE FROM public."Liquidity_Providers_Historic";
    SELECT evp.unapply_blocks('-Infinity', 'Infinity');
    DELETE FROM evp.journal_pruned;
    SELECT evp.clear_journaled();
$$;

COMMENT ON FUNCTION evp.revert_journal(numeric) IS 'Undoes one applied block''s changes to the journaled tables';
COMMENT ON FUNCTION evp.revert_block(numeric, text) IS 'Undoes one applied block from its journal';
COMMENT ON FUNCTION evp.clear_journaled() IS 'Empties every journaled table and its journal';
COMMENT ON FUNCTION evp.unapply_blocks(numeric, numeric) IS 'Sets the applied blocks of a range back to pending or noted';
COMMENT ON FUNCTION evp.clear_state() IS 'Empties every table the apply path writes, and the journal (evp_rebuild)';

-- 3. The triggers on the indexer's tables keep the ledger (sql/triggers.sql).
CREATE OR REPLACE FUNCTION evp.on_events_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    late numeric[];
    below_tip boolean;
BEGIN
    WITH noted AS (
        INSERT INTO evp.blocks AS x (block_number, block_hash, state, has_events, noted_in)
        SELECT DISTINCT n.block_number, evp.normalize_felt(n.block_hash), 'noted'::evp.block_state, true,
               pg_catalog.pg_current_xact_id()
          FROM new_events n
         WHERE NOT EXISTS (SELECT FROM evp.blocks o
                            WHERE o.block_number = n.block_number AND o.block_hash <> evp.normalize_felt(n.block_hash)
                              AND (o.state = 'applied' OR (o.has_row AND o.state <> 'reverted')))
        ON CONFLICT (block_number, block_hash) DO UPDATE SET has_events = true, late = x.late OR x.state = 'applied'
         WHERE NOT x.has_events OR x.state = 'applied'
        RETURNING x.block_number, x.state)
    SELECT array_agg(n.block_number ORDER BY n.block_number) FILTER (WHERE n.state = 'applied'),
           coalesce(bool_or(n.state = 'noted'
                            AND n.block_number < (SELECT max(a.block_number) FROM evp.blocks a WHERE a.state = 'applied')),
                    false)
      INTO late, below_tip
      FROM noted n;
    IF late IS NOT NULL OR below_tip THEN
        PERFORM evp.events_inserted(late);
    END IF;
    RETURN NULL;
END $$;

DROP FUNCTION evp.note_reverted(numeric, text);
-- The indexer says block (number, hash) is gone (its row deleted, or kept as REVERTED:
-- row_kept): its events are never applied again unless a row with that hash comes back. Called
-- once the block, if applied, is reverted. A hold of it goes: it is no block to apply any more.
CREATE FUNCTION evp.note_reverted(block_number numeric, block_hash text, row_kept boolean) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM evp.held_blocks h
     WHERE h.block_number = note_reverted.block_number AND h.block_hash = evp.normalize_felt(note_reverted.block_hash);
    INSERT INTO evp.blocks AS x (block_number, block_hash, state, has_row)
    VALUES (block_number, evp.normalize_felt(block_hash), 'reverted', row_kept)
    ON CONFLICT ON CONSTRAINT blocks_pkey DO UPDATE SET state = 'reverted', has_row = EXCLUDED.has_row, late = false
$$;

-- New block rows, once per statement: one row from the indexer, a whole history from a COPY.
CREATE OR REPLACE FUNCTION evp.on_block_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM evp.blocks_inserted(array_agg(n.block_number)) FROM new_blocks n HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION evp.on_block_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM 'REVERTED' THEN
        PERFORM evp.block_reverted(OLD.block_number, OLD.block_hash);
    END IF;
    PERFORM evp.note_reverted(OLD.block_number, OLD.block_hash, false);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION evp.on_block_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM 'REVERTED'
       AND (NEW.status = 'REVERTED' OR NEW.block_hash IS DISTINCT FROM OLD.block_hash
            OR NEW.block_number IS DISTINCT FROM OLD.block_number) THEN
        PERFORM evp.block_reverted(OLD.block_number, OLD.block_hash);
        PERFORM evp.note_reverted(OLD.block_number, OLD.block_hash,
                                  NEW.block_number = OLD.block_number AND NEW.block_hash = OLD.block_hash);
    END IF;
    IF NEW.status IS DISTINCT FROM 'REVERTED' AND (OLD.status = 'REVERTED'
       OR NEW.block_hash IS DISTINCT FROM OLD.block_hash OR NEW.block_number IS DISTINCT FROM OLD.block_number) THEN
        PERFORM evp.block_inserted(NEW.block_number);
    END IF;
    RETURN NULL;
END $$;

DO $$
BEGIN
    IF to_regclass('public.starknet_blocks') IS NOT NULL THEN
        DROP TRIGGER evp_apply_block ON public.starknet_blocks;
        CREATE TRIGGER evp_apply_block AFTER INSERT ON public.starknet_blocks
            REFERENCING NEW TABLE AS new_blocks FOR EACH STATEMENT EXECUTE FUNCTION evp.on_block_insert();
        ALTER TRIGGER evp_apply_block ON public.starknet_blocks DEPENDS ON EXTENSION event_processor;
    END IF;
END $$;

CREATE FUNCTION evp."blocks_inserted"(
	"block_numbers" NUMERIC[] /* Vec < AnyNumeric > */
) RETURNS void
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'blocks_inserted_wrapper';

-- 4. evp_status() reads the ledger, and what waits from the rules the walk applies.
CREATE FUNCTION evp."waiting_for"() RETURNS TEXT /* Option < String > */
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'waiting_for_wrapper';
-- The extension's own functions are not PUBLIC's (sql/privileges.sql): the new ones above.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA evp FROM PUBLIC;

-- evp_status(): what the extension is doing, in one row. A view of the same name reads it.
-- Public: it runs with the owner's rights (search_path pinned), so readers need no grant on
-- the bookkeeping.
-- PL/pgSQL, so that evp.worker_status() and evp.waiting_for() (created from Rust elsewhere in
-- the script; the second reads the ledger with the rules the walk applies) are resolved at run
-- time. No JIT: the planner takes that function for a thousand rows, and would compile
-- the plan for 700 ms.
-- It gains held_blocks: a new row type, so the function and its view are made again.
DROP VIEW evp_status;
DROP FUNCTION evp_status();
CREATE FUNCTION evp_status()
RETURNS TABLE (mode text, preloaded boolean, worker_pid integer, worker_state text,
               last_applied_block numeric, newest_block numeric, lag_blocks numeric, pending_blocks bigint,
               waiting_for text, held_blocks bigint,
               events_applied bigint, events_ignored bigint, failed_events bigint,
               notifications_skipped bigint, notifications_skipping_since timestamptz,
               last_error text, last_failed_event text, journal_blocks bigint, journal_rows bigint,
               worker_blocks_applied bigint, worker_events_applied bigint, worker_errors bigint,
               worker_batch_size integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY
    WITH tip AS (SELECT max(a.block_number) AS n FROM evp.blocks a WHERE a.state = 'applied'),
         newest AS (SELECT max(block_number) AS n FROM public.starknet_blocks WHERE status <> 'REVERTED'),
         w AS (SELECT * FROM evp.worker_status()),
         f AS (SELECT format('block %s, vault %s, event nonce %s (%s): %s [%s]', block_number, vault_address,
                             event_nonce, event_name, reason, sqlstate) AS text, count(*) OVER () AS n
                 FROM evp.failed_events ORDER BY block_number DESC, event_nonce DESC LIMIT 1)
    SELECT evp.setting('evp.mode'), w.preloaded, w.pid, w.state,
           tip.n, newest.n, coalesce(newest.n - tip.n, newest.n),
           -- The queue's rows and the blocks without a row below one (the others wait for a
           -- row), and the applied blocks whose late events wait.
           (SELECT count(*) FROM evp.blocks q
             WHERE q.state IN ('noted', 'pending') AND (q.has_row OR q.block_number < newest.n OR q.block_number < tip.n))
           + (SELECT count(*) FROM evp.blocks l WHERE l.late),
           evp.waiting_for(), (SELECT count(*) FROM evp.held_blocks),
           (SELECT coalesce(sum(a.events_applied), 0)::bigint FROM evp.blocks a WHERE a.state = 'applied'),
           (SELECT coalesce(sum(a.events_ignored), 0)::bigint FROM evp.blocks a WHERE a.state = 'applied'),
           coalesce((SELECT f.n FROM f), 0),
           (SELECT g.skipped FROM evp.notify_guard g), (SELECT g.skipping_since FROM evp.notify_guard g),
           w.last_error, (SELECT f.text FROM f),
           (SELECT count(*) FROM evp.blocks a
             WHERE a.state = 'applied' AND a.block_number > coalesce((SELECT p.pruned_upto FROM evp.journal_pruned p), -1)),
           (SELECT count(*) FROM evp.journal),
           w.blocks_applied, w.events_applied, w.errors, w.batch_size
      FROM tip, newest, w;
END $$;

CREATE VIEW evp_status AS SELECT * FROM evp_status();
GRANT SELECT ON evp_status TO PUBLIC;

-- 5. The DDL a logical-replication subscriber needs for the output tables (sql/replication.sql).
CREATE FUNCTION evp_subscriber_ddl() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH t AS (
        SELECT u.ord, to_regclass(u.name) AS rel
          FROM unnest(ARRAY['public."VaultStates"', 'public."Liquidity_Providers"', 'public."Option_Rounds"',
                            'public."Queued_Liquidity"', 'public."Option_Buyers"', 'public."Bids"',
                            'public."Vault_Historic"', 'public."Liquidity_Providers_Historic"', 'evp.changes'])
               WITH ORDINALITY AS u(name, ord)),
    tables AS (
        SELECT t.ord, 0 AS part, format(E'CREATE TABLE %s (\n%s%s\n);', t.rel, columns.list, coalesce(constraints.list, '')) AS ddl
          FROM t
         CROSS JOIN LATERAL (
               SELECT string_agg(format('    %I %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                        ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid),
                                        CASE WHEN a.attnotnull THEN ' NOT NULL' END), E',\n' ORDER BY a.attnum) AS list
                 FROM pg_attribute a
                 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = t.rel AND a.attnum > 0 AND NOT a.attisdropped) columns
         CROSS JOIN LATERAL (
               SELECT string_agg(format(E',\n    CONSTRAINT %I %s', c.conname, pg_get_constraintdef(c.oid)), ''
                                 ORDER BY c.contype = 'p' DESC, c.conname) AS list
                 FROM pg_constraint c
                WHERE c.conrelid = t.rel AND c.contype IN ('p', 'u', 'c')) constraints),
    indexes AS (
        SELECT t.ord, 1 AS part, pg_get_indexdef(i.indexrelid) || ';' AS ddl
          FROM t JOIN pg_index i ON i.indrelid = t.rel
         WHERE NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = t.rel))
    SELECT 'CREATE SCHEMA IF NOT EXISTS evp;' || E'\n' || string_agg(x.ddl, E'\n' ORDER BY x.ord, x.part, x.ddl)
      FROM (SELECT * FROM tables UNION ALL SELECT * FROM indexes) x
$$;

-- 6. The change feed (sql/feed.sql, as it is) and its doorbell.
CREATE  FUNCTION evp."ring_at_commit"(
	"newest" bigint /* Option < i64 > */
) RETURNS void
PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ring_at_commit_wrapper';

-- The change feed (SPEC section 8): every change to the eight output tables, in the
-- transaction that makes it, as one row of evp.changes, read by position with evp_changes().
--
-- Who writes it:
-- - the apply path, once per block, from the block's journal (the net change of each row the
--   block wrote, and its history rows: BLOCK_WRITTEN in src/apply/block.rs);
-- - everything else (a revert, evp_rebuild() clearing the state, an operator's own statement)
--   through the statement triggers below, which the apply path's WHEN keeps off its writes.
--   A revert names its block (evp.reverting_block() and evp.reverting_hash(), which
--   evp.revert_block() sets) and records a marker first.
--
-- Positions are in commit order: they are drawn from evp.changes_position while holding the
-- extension's lock (pg_advisory_xact_lock(7763568), taken by every writer of the state), which
-- is released only after the commit is visible. A reader that has read up to P never finds a
-- row at or below P later; rolled-back transactions leave gaps, which are not losses.
CREATE TABLE evp.changes (
    position bigint PRIMARY KEY,
    block_number numeric(78,0),         -- the block applied or reverted; NULL outside both
    block_hash varchar(66),
    table_name text CHECK ((table_name IS NULL) = (op = 'revert')),
    op text NOT NULL CHECK (op IN ('insert', 'update', 'delete', 'revert')),
    "row" jsonb,                         -- the row after the change; for a delete, the row removed
    reverted boolean NOT NULL
);
CREATE SEQUENCE evp.changes_position;

-- Positions up to upto are pruned (a reader asking for one must re-read the tables). No row:
-- none is.
CREATE TABLE evp.feed_pruned (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    upto bigint NOT NULL
);

-- Named consumers: each holds the rows after its acknowledged position until it is lost
-- (more than evp.feed_max_lag blocks behind at a prune). A consumer is as many blocks behind
-- as lie from the block of the oldest change it has not acknowledged to the applied tip.
CREATE TABLE evp.feed_consumers (
    name text PRIMARY KEY,
    acked bigint NOT NULL,              -- the position acknowledged
    acked_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    lost_at timestamptz
);

-- The feed travels with a dump, as the state does; a restore records nothing (the rows it
-- loads are the feed's already).
SELECT pg_catalog.pg_extension_config_dump('evp.changes', '');
SELECT pg_catalog.pg_extension_config_dump('evp.changes_position', '');
SELECT pg_catalog.pg_extension_config_dump('evp.feed_pruned', '');
SELECT pg_catalog.pg_extension_config_dump('evp.feed_consumers', '');

-- Whether this transaction records changes: evp.feed is on and this is no pg_restore.
CREATE FUNCTION evp.feed_on() RETURNS boolean
STABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT evp.enabled('evp.feed') AND current_setting('application_name') <> 'pg_restore'
$$;

-- The newest position: the newest row's, or the last pruned when none is left.
CREATE FUNCTION evp.feed_newest() RETURNS bigint
STABLE LANGUAGE sql AS $$
    SELECT coalesce((SELECT max(c.position) FROM evp.changes c), (SELECT p.upto FROM evp.feed_pruned p), 0)
$$;

-- Changes made outside the apply path, one row each: rows `changed` of table `tbl` (its name
-- as in SPEC 2), by `change`, with the block being reverted, if one is.
CREATE FUNCTION evp.record_changes(tbl text, change text, changed jsonb[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    newest bigint;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(7763568);
    WITH recorded AS (
        INSERT INTO evp.changes (position, block_number, block_hash, table_name, op, "row", reverted)
        SELECT pg_catalog.nextval('evp.changes_position'),
               evp.reverting_block(), evp.reverting_hash(), tbl, change, r, evp.reverting_block() IS NOT NULL
          FROM unnest(changed) AS r
        RETURNING position)
    SELECT max(position) INTO newest FROM recorded;
    PERFORM evp.ring_at_commit(newest);
END $$;

-- The statement triggers (TG_ARGV[0] the table's name): `changed` is the inserted or updated
-- rows as they are now, the deleted rows as they were. Static SQL: PL/pgSQL plans it once per
-- trigger.
CREATE FUNCTION evp.record_changed_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF evp.feed_on() THEN
        PERFORM evp.record_changes(TG_ARGV[0], lower(TG_OP), array_agg(to_jsonb(r))) FROM changed r HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END $$;

DO $do$
DECLARE
    t text;
    e record;
BEGIN
    FOREACH t IN ARRAY ARRAY['VaultStates', 'Liquidity_Providers', 'Option_Rounds', 'Queued_Liquidity', 'Option_Buyers',
                             'Bids', 'Vault_Historic', 'Liquidity_Providers_Historic'] LOOP
        FOR e IN VALUES ('insert', 'NEW'), ('update', 'NEW'), ('delete', 'OLD') LOOP
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON public.%I REFERENCING %s TABLE AS changed FOR EACH STATEMENT '
                           'WHEN (NOT evp.applying()) '
                           'EXECUTE FUNCTION evp.record_changed_rows(%L)',
                           'evp_feed_' || e.column1, e.column1, t, e.column2, t);
        END LOOP;
    END LOOP;
END $do$;

-- A revert of block (blk, hash) begins: its marker, and the block its changes are recorded
-- with (until evp.feed_reverted()).
CREATE FUNCTION evp.feed_reverting(blk numeric, hash text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    marker bigint;
BEGIN
    IF evp.feed_on() THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(7763568);
        INSERT INTO evp.changes (position, block_number, block_hash, table_name, op, "row", reverted)
        VALUES (nextval('evp.changes_position'), blk, hash, NULL, 'revert', NULL, true)
        RETURNING position INTO marker;
        PERFORM evp.ring_at_commit(marker);
    END IF;
    PERFORM evp.set_reverting(blk, hash);
END $$;

CREATE FUNCTION evp.feed_reverted() RETURNS void
LANGUAGE sql AS $$
    SELECT evp.set_reverting(NULL, NULL);
$$;

-- How many blocks a reader that has read up to position `acked` is behind the tip: from the
-- block of the oldest change after it (one of a block, in position order) to the tip; 0 when
-- it has read every change of a block.
CREATE FUNCTION evp.blocks_behind(acked bigint, tip numeric) RETURNS numeric
STABLE LANGUAGE sql AS $$
    SELECT coalesce(greatest(tip - (SELECT c.block_number FROM evp.changes c
                                     WHERE c.position > acked AND c.block_number IS NOT NULL
                                     ORDER BY c.position LIMIT 1) + 1, 0), 0)
$$;

-- Retention, at the apply path's journal prunes (src/journal): consumers more than
-- evp.feed_max_lag blocks behind the tip are lost; then the rows before the first one of the
-- last evp.feed_retention blocks go, unless a consumer that is not lost has not acknowledged
-- them. A prefix of positions always: what is kept is everything after feed_pruned.upto.
CREATE FUNCTION evp.prune_feed(tip numeric) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    -- Defined by the library, which calls this (src/guc.rs has the defaults).
    retention numeric := evp.setting('evp.feed_retention')::numeric;
    max_lag numeric := evp.setting('evp.feed_max_lag')::numeric;
    done bigint := coalesce((SELECT p.upto FROM evp.feed_pruned p), 0);
    upto bigint;
BEGIN
    UPDATE evp.feed_consumers c SET lost_at = now()
     WHERE c.lost_at IS NULL AND evp.blocks_behind(c.acked, tip) > max_lag;
    upto := least((SELECT min(c.acked) FROM evp.feed_consumers c WHERE c.lost_at IS NULL),
                  coalesce((SELECT c.position - 1 FROM evp.changes c
                             WHERE c.position > done AND c.block_number > tip - retention ORDER BY c.position LIMIT 1),
                           (SELECT max(c.position) FROM evp.changes c)));
    IF upto > done THEN
        DELETE FROM evp.changes WHERE position > done AND position <= upto;
        INSERT INTO evp.feed_pruned (upto) VALUES (upto)
        ON CONFLICT (only_row) DO UPDATE SET upto = EXCLUDED.upto;
    END IF;
END $$;

-- Reading (SPEC 8): evp_changes() runs as its caller, who may read the feed when it may read
-- every output table; the policy applies the same rule to a direct SELECT.
CREATE FUNCTION evp.may_read_feed() RETURNS boolean
STABLE LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT count(*) = 8 AND coalesce(bool_and(has_table_privilege(c.oid, 'SELECT')), false)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public'
       AND c.relname IN ('VaultStates', 'Liquidity_Providers', 'Option_Rounds', 'Queued_Liquidity', 'Option_Buyers',
                         'Bids', 'Vault_Historic', 'Liquidity_Providers_Historic')
$$;
ALTER TABLE evp.changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON evp.changes FOR SELECT USING (evp.may_read_feed());

-- The changes after position `after`, at most max_rows, in position order; an error when
-- `after` was pruned (the reader must read the tables again). Its SQLSTATE, 72000, is
-- snapshot_too_old up to PostgreSQL 16 (what was asked for is gone), and unused from 17 on,
-- which no longer names it: written as the code, so that it works on both.
CREATE FUNCTION evp_changes(after bigint, max_rows integer DEFAULT 1000)
RETURNS TABLE ("position" bigint, block_number numeric, block_hash text, table_name text, op text, "row" jsonb,
               reverted boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pruned bigint := coalesce((SELECT p.upto FROM evp.feed_pruned p), 0);
BEGIN
    IF NOT evp.may_read_feed() THEN
        RAISE EXCEPTION 'event_processor: permission denied for the change feed'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A role that may SELECT every output table of the extension may read its changes.';
    ELSIF after < pruned THEN
        RAISE EXCEPTION 'event_processor: the changes after position % were pruned', after
            USING ERRCODE = '72000',
                  DETAIL = format('The oldest position kept is %s: the feed keeps the changes after position %s.',
                                  pruned + 1, pruned),
                  HINT = 'Read the tables again, with evp_feed_position() in the same snapshot, and go on from there.';
    ELSIF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'event_processor: max_rows must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT c.position, c.block_number, c.block_hash::text, c.table_name, c.op, c."row", c.reverted
      FROM evp.changes c WHERE c.position > after ORDER BY c.position LIMIT max_rows;
END $$;

-- The newest position: a reader that copies the tables reads it in the same snapshot, and
-- then the changes after it.
CREATE FUNCTION evp_feed_position() RETURNS bigint
STABLE LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT evp.feed_newest()
$$;

-- Consumers (SPEC 8). A new one starts at the newest position: read the tables in the same
-- snapshot (docs/notifications-and-feed.md, The change feed), then the changes after it.
CREATE FUNCTION evp_consumer_create(name text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    newest bigint := evp.feed_newest();
BEGIN
    INSERT INTO evp.feed_consumers (name, acked) VALUES (name, newest);
    RETURN newest;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'event_processor: consumer "%" exists', name
        USING ERRCODE = 'duplicate_object', HINT = 'evp_consumers() lists the consumers; evp_consumer_drop() removes one.';
END $$;

-- Acknowledges every change up to position: they are no longer kept for this consumer.
CREATE FUNCTION evp_consumer_ack(name text, "position" bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c evp.feed_consumers;
    newest bigint := evp.feed_newest();
    pruned bigint := coalesce((SELECT p.upto FROM evp.feed_pruned p), 0);
BEGIN
    SELECT * INTO c FROM evp.feed_consumers f WHERE f.name = evp_consumer_ack.name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'event_processor: no consumer "%"', name
            USING ERRCODE = 'undefined_object', HINT = 'evp_consumer_create() makes one.';
    ELSIF c.lost_at IS NOT NULL THEN
        RAISE EXCEPTION 'event_processor: consumer "%" is lost: it fell more than evp.feed_max_lag blocks behind', name
            USING ERRCODE = '72000',
                  HINT = 'Drop it and create it again, and read the tables again from the position that returns.';
    ELSIF "position" > newest OR "position" < pruned THEN
        RAISE EXCEPTION 'event_processor: position % is not in the feed, which holds % to %', "position", pruned, newest
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE evp.feed_consumers f SET acked = "position", acked_at = now() WHERE f.name = evp_consumer_ack.name;
END $$;

CREATE FUNCTION evp_consumer_drop(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM evp.feed_consumers f WHERE f.name = evp_consumer_drop.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'event_processor: no consumer "%"', name USING ERRCODE = 'undefined_object';
    END IF;
END $$;

-- Each consumer, its acknowledged position and its lag: in positions, in blocks (see
-- evp.blocks_behind) and in seconds of block time over those blocks (from their rows).
CREATE FUNCTION evp_consumers()
RETURNS TABLE (name text, acked bigint, acked_at timestamptz, lost boolean, lost_at timestamptz,
               lag_positions bigint, lag_blocks numeric, lag_seconds numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH n AS (SELECT evp.feed_newest() AS newest,
                      (SELECT max(a.block_number) FROM evp.blocks a WHERE a.state = 'applied') AS tip)
    SELECT c.name, c.acked, c.acked_at, c.lost_at IS NOT NULL, c.lost_at, greatest(n.newest - c.acked, 0), l.blocks,
           CASE WHEN l.blocks = 0 THEN 0
                ELSE greatest((SELECT b.timestamp FROM public.starknet_blocks b WHERE b.block_number = n.tip)
                              - (SELECT b.timestamp FROM public.starknet_blocks b
                                  WHERE b.block_number = n.tip - l.blocks), 0) END
      FROM evp.feed_consumers c CROSS JOIN n CROSS JOIN LATERAL (SELECT evp.blocks_behind(c.acked, n.tip) AS blocks) l
     ORDER BY c.name
$$;

COMMENT ON TABLE evp.changes IS 'The change feed (SPEC 8): read it with evp_changes()';
COMMENT ON FUNCTION evp.prune_feed(numeric) IS 'Marks lagging consumers lost and drops the feed rows nobody holds';

-- 7. Monitoring (sql/status.sql).
-- evp_metrics(): the figures an operator alerts on, in one row of numbers (docs/operating.md,
-- Monitoring; monitoring/postgres_exporter.yml turns them into Prometheus metrics). Everyone's,
-- as evp_status() is: a monitoring role needs no grant.
CREATE FUNCTION evp_metrics()
RETURNS TABLE (applied_block numeric, newest_block numeric, lag_blocks numeric, lag_seconds numeric,
               pending_blocks bigint, held_blocks bigint, events_applied bigint, events_failed bigint,
               notifications_skipped bigint, journal_rows bigint, journal_bytes bigint, feed_rows bigint,
               feed_bytes bigint, feed_consumers bigint, feed_consumers_lost bigint, feed_consumer_max_lag_blocks numeric,
               worker_running integer, worker_errors bigint, worker_state text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT s.last_applied_block, s.newest_block, s.lag_blocks,
           (SELECT n.timestamp FROM public.starknet_blocks n WHERE n.block_number = s.newest_block)
           - (SELECT t.timestamp FROM public.starknet_blocks t WHERE t.block_number = s.last_applied_block),
           s.pending_blocks, s.held_blocks, s.events_applied, s.failed_events, s.notifications_skipped,
           s.journal_rows,
           (SELECT sum(pg_total_relation_size(format('evp.%I', 'journal_' || c.relname)::regclass))::bigint
              FROM evp.journaled_tables j JOIN pg_class c ON c.oid = j.tbl::regclass),
           (SELECT count(*) FROM evp.changes), pg_total_relation_size('evp.changes'),
           (SELECT count(*) FROM evp.feed_consumers), (SELECT count(*) FROM evp.feed_consumers WHERE lost_at IS NOT NULL),
           (SELECT max(c.lag_blocks) FROM public.evp_consumers() c WHERE NOT c.lost),
           (s.worker_pid IS NOT NULL)::int, s.worker_errors, s.worker_state
      FROM public.evp_status() s
$$;

CREATE VIEW evp_metrics AS SELECT * FROM evp_metrics();

-- Privileges of 6 and 7 (sql/privileges.sql).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA evp FROM PUBLIC;
GRANT SELECT ON evp_metrics TO PUBLIC;
GRANT USAGE ON SCHEMA evp TO PUBLIC;
GRANT EXECUTE ON FUNCTION evp.may_read_feed() TO PUBLIC;
GRANT SELECT ON evp.changes, evp.feed_pruned TO PUBLIC;
REVOKE EXECUTE ON FUNCTION evp_consumer_create(text), evp_consumer_ack(text, bigint), evp_consumer_drop(text)
    FROM PUBLIC;

-- 8. The event kinds the extension knows, for tests and tools (src/api/decode.rs).
CREATE FUNCTION "evp_event_kinds"() RETURNS TABLE (
	"name" TEXT,  /* &str */
	"selector" TEXT,  /* &str */
	"round_event" bool  /* bool */
)
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'evp_event_kinds_wrapper';

-- Last: what the 0.3.0 library deferred while the extension was 0.2.0 (src/version.rs): in sync
-- mode the pending blocks are applied now; the worker, waiting for the update, goes on at its
-- commit. (An update from 0.1.0 runs 0.1.0--0.2.0's script first, whose own catch-up the 0.3.0
-- library leaves to this one.)
SELECT evp_catchup() WHERE coalesce(nullif(current_setting('evp.mode', true), ''), 'sync') = 'sync';
SELECT evp.wake_worker();
