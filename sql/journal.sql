-- Undo journal (SPEC section 5), and the notifications of changes made outside the apply path.
--
-- For each applied block, a table's journal holds the image of each row before the block first
-- touched it (NULL when the block inserted the row). Reverting a block deletes the rows it
-- inserted and puts the others back as they were: exact, set-based, and independent of the
-- order of changes within the block. The apply path writes the journal itself: each of its
-- statements journals the rows it changes (src/apply/statements.rs), and once per block it
-- writes the history and notifications of the rows its journal names (BLOCK_WRITTEN in
-- src/apply/block.rs). It marks the transaction as applying (evp.applying()) while it writes, which
-- keeps the notification triggers below off its writes. The history tables are not journaled:
-- their rows carry the block they belong to, and a revert deletes them by number.
--
-- One journal table per table, typed with that table's row type: appending a row image costs
-- no conversion (a single jsonb journal cost twice as much per row: building keys and images,
-- and a unique index on them). Images are appended in `seq` order; the first image of a key in
-- a block is its state before the block; later ones are not read.

-- Every table the apply path writes in place, with its key, the channel its changes are
-- announced on, and the function that makes a row the payload.
CREATE TABLE evp.journaled_tables (
    tbl text PRIMARY KEY,
    keys text[] NOT NULL,
    channel text,
    payload text NOT NULL DEFAULT 'row_to_json'
);

-- The websocket server decodes bids_update into a type whose tree_nonce is a string and whose
-- buyer is "address" (SPEC 7.2): on the first payload of another shape its listener stops for
-- good. The row's columns, then, with those two; amounts stay JSON numbers.
CREATE FUNCTION evp.bid_payload(b public."Bids") RETURNS json
IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT json_build_object('round_address', b.round_address, 'bid_id', b.bid_id, 'buyer_address', b.buyer_address,
                             'address', b.buyer_address, 'tree_nonce', b.tree_nonce::text, 'amount', b.amount,
                             'price', b.price)
$$;

INSERT INTO evp.journaled_tables (tbl, keys, channel, payload) VALUES
    ('public."VaultStates"', '{address}', 'vault_update', DEFAULT),
    ('public."Liquidity_Providers"', '{address,vault_address}', 'lp_update', DEFAULT),
    ('public."Option_Rounds"', '{address}', 'or_update', DEFAULT),
    ('public."Queued_Liquidity"', '{round_address,address}', NULL, DEFAULT),
    ('public."Option_Buyers"', '{address,round_address}', 'ob_update', DEFAULT),
    ('public."Bids"', '{round_address,bid_id}', 'bids_update', 'evp.bid_payload'),
    ('evp.vault_progress', '{vault_address}', NULL, DEFAULT),
    ('evp.lp_round_liquidity', '{round_address,lp_address}', NULL, DEFAULT),
    ('evp.failed_events', '{vault_address,event_nonce,block_hash}', NULL, DEFAULT);

-- How far the journal is pruned: a block at or below pruned_upto cannot be reverted. No row:
-- nothing is. (The ledger, evp.blocks, is not journaled: a revert sets the block's state back,
-- and an empty block, which writes nothing else, journals nothing.) No row until the first prune, so
-- that a restore of the dump does not meet one made by CREATE EXTENSION.
CREATE TABLE evp.journal_pruned (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    pruned_upto numeric(78,0) NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('evp.journal_pruned', '');

-- The order of images across tables and transactions (a block's late events are applied in a
-- later one). Dumped, so that images written after a restore still sort after the restored ones.
CREATE SEQUENCE evp.journal_seq;
SELECT pg_catalog.pg_extension_config_dump('evp.journal_seq', '');

-- A listener that stops reading while its connection stays open holds PostgreSQL's
-- notification queue; once the queue is full, NOTIFY fails at commit, and with it the
-- indexer's transaction (SPEC 7.2). Above evp.notify_queue_limit (a share of the queue),
-- notifications are skipped instead and counted here, with one WARNING when skipping starts;
-- they are sent again once the queue has drained below the limit.
CREATE TABLE evp.notify_guard (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    skipped bigint NOT NULL DEFAULT 0,           -- notifications skipped since CREATE EXTENSION
    skipping_since timestamptz                   -- set while skipping
);
INSERT INTO evp.notify_guard DEFAULT VALUES;

-- Whether a boolean evp.* setting is on. evp.setting() (src/guc.rs) loads the library, which
-- defines the setting and its default, in a backend where no trigger has loaded it yet. SQL, so
-- that the planner inlines it into its callers (a trigger's IF on every block row).
CREATE FUNCTION evp.enabled(setting text) RETURNS boolean
STABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT evp.setting(setting)::boolean
$$;

-- Whether the queue is below the limit; the first statement to find room after skipping ends
-- the skipping.
CREATE FUNCTION evp.notify_queue_has_room() RETURNS boolean
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

CREATE FUNCTION evp.notifications_skipped(n bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    since timestamptz;
BEGIN
    SELECT skipping_since INTO since FROM evp.notify_guard FOR UPDATE;
    UPDATE evp.notify_guard SET skipped = skipped + n, skipping_since = coalesce(skipping_since, now());
    IF since IS NULL THEN
        RAISE WARNING 'event_processor: the notification queue is % full, above evp.notify_queue_limit: notifications are skipped until it drains',
                      round((100 * pg_catalog.pg_notification_queue_usage())::numeric, 3)::text || '%'
            USING HINT = 'A session that LISTENs and does not read holds the queue (see pg_stat_activity); evp_status() counts what is skipped.';
    END IF;
END $$;

-- PostgreSQL delivers a notification only once per transaction: a later one with the same
-- channel and payload is dropped. A revert restores rows to images the transaction may have
-- sent already (a worker batch that applies blocks 10 and 11 and then reverts 11; apply, revert
-- and apply again), and a reader whose last message is the dropped one keeps a stale row. So
-- each revert after the first notification of a transaction starts a new round, and every
-- payload of round r ends in r spaces (insignificant in JSON): nothing sent after a revert
-- repeats anything sent before it.
-- evp.notify_padding() and evp.notify_next_round() keep the round in the transaction's state
-- (src/xact.rs).

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

-- Generated per table, with its key columns and row type written out, so that every statement
-- is static SQL with a cached plan:
-- - evp."journal_<table>" (at_block, seq, <key columns>, old <table>) and its index;
-- - the statements of evp.revert_journal(), evp.prune_journal(), evp.clear_journaled() and the
--   rows of the evp.journal view (evp.revert_block() and evp.clear_state(), below, call them).
DO $do$
DECLARE
    t record;
    j text;
    keys text;
    key_defs text;
    key_eq text;
    cols text;
    old_cols text;
    first_images text;
    revert_sql text := '';
    prune_sql text := '';
    clear_sql text := '';
    view_sql text := '';
BEGIN
    FOR t IN SELECT jt.tbl, jt.keys, c.oid AS rel, c.relname
               FROM evp.journaled_tables jt JOIN pg_class c ON c.oid = jt.tbl::regclass ORDER BY jt.tbl LOOP
        j := format('evp.%I', 'journal_' || t.relname);
        SELECT string_agg(quote_ident(k), ', ' ORDER BY i),
               string_agg(format('%I %s NOT NULL', k, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY i),
               string_agg(format('x.%1$I = j.%1$I', k), ' AND ' ORDER BY i)
          INTO keys, key_defs, key_eq
          FROM unnest(t.keys) WITH ORDINALITY AS u(k, i)
          JOIN pg_attribute a ON a.attrelid = t.rel AND a.attname = k;
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
               string_agg(format('(j.old).%I', attname), ', ' ORDER BY attnum)
          INTO cols, old_cols
          FROM pg_attribute WHERE attrelid = t.rel AND attnum > 0 AND NOT attisdropped;

        EXECUTE format('CREATE TABLE %s (at_block numeric(78,0) NOT NULL, '
                       'seq bigint NOT NULL DEFAULT nextval(''evp.journal_seq''), %s, old %s)', j, key_defs, t.tbl);
        EXECUTE format('CREATE INDEX ON %s (at_block)', j);
        PERFORM pg_catalog.pg_extension_config_dump(j::regclass, '');

        -- Reverting, for the tables the block wrote: rows it inserted (first image NULL) are
        -- deleted, rows it changed restored as UPDATEs (readers get "update" for those and
        -- "delete" for the others), rows it deleted inserted again. A composite IS NULL only
        -- when all its fields are, hence IS [NOT] DISTINCT FROM NULL for "no image".
        first_images := format('(SELECT DISTINCT ON (%1$s) %1$s, old FROM %2$s WHERE at_block = blk ORDER BY %1$s, seq)',
                               keys, j);
        revert_sql := revert_sql || format($r$
    IF EXISTS (SELECT FROM %6$s WHERE at_block = blk) THEN
        DELETE FROM %1$s x USING %2$s j WHERE j.old IS NOT DISTINCT FROM NULL AND %3$s;
        UPDATE %1$s x SET (%4$s) = ROW(%5$s) FROM %2$s j WHERE j.old IS DISTINCT FROM NULL AND %3$s;
        INSERT INTO %1$s (%4$s) SELECT %5$s FROM %2$s j
         WHERE j.old IS DISTINCT FROM NULL AND NOT EXISTS (SELECT FROM %1$s x WHERE %3$s);
        DELETE FROM %6$s WHERE at_block = blk;
    END IF;$r$, t.tbl, first_images, key_eq, cols, old_cols, j);
        -- From the last prune up: a bounded index range (with a bare <= on a parameter the
        -- generic plan estimates a third of the table and scans all of it) that starts past
        -- the entries earlier prunes of the same transaction deleted (not yet removable: a
        -- scan from the index's start would visit them all, and a catch-up prunes many times).
        prune_sql := prune_sql || format($p$
    DELETE FROM %1$s WHERE at_block > done AND at_block <= upto;$p$, j);
        clear_sql := clear_sql || format(E'\n    DELETE FROM %s;\n    DELETE FROM %s;', t.tbl, j);
        view_sql := view_sql || CASE WHEN view_sql = '' THEN '' ELSE ' UNION ALL ' END
            || format('SELECT at_block AS block_number, seq, %L AS tbl, jsonb_build_array(%s) AS key, to_jsonb(old) AS old FROM %s',
                      t.tbl, keys, j);
    END LOOP;

    EXECUTE format($f$
CREATE FUNCTION evp.revert_journal(blk numeric) RETURNS void LANGUAGE plpgsql AS $body$
BEGIN%s
END $body$ $f$, revert_sql);
    EXECUTE format($f$
CREATE FUNCTION evp.prune_journal(upto numeric) RETURNS void LANGUAGE plpgsql AS $body$
DECLARE
    done numeric := coalesce((SELECT p.pruned_upto FROM evp.journal_pruned p), -1);
BEGIN
    IF upto <= done THEN
        RETURN;
    END IF;%s
    INSERT INTO evp.journal_pruned (pruned_upto) VALUES (upto)
    ON CONFLICT (only_row) DO UPDATE SET pruned_upto = EXCLUDED.pruned_upto;
END $body$ $f$, prune_sql);
    EXECUTE format($f$
CREATE FUNCTION evp.clear_journaled() RETURNS void LANGUAGE sql AS $body$%s
$body$ $f$, clear_sql);
    EXECUTE 'CREATE VIEW evp.journal AS ' || view_sql;
END $do$;

-- The triggers of evp.notify_changes(), on the tables with a channel (the same in
-- event_processor--0.2.0--0.3.0.sql).
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
COMMENT ON FUNCTION evp.prune_journal(numeric) IS 'Drops the journal of blocks up to the argument';
COMMENT ON FUNCTION evp.clear_journaled() IS 'Empties every journaled table and its journal';
COMMENT ON FUNCTION evp.unapply_blocks(numeric, numeric) IS 'Sets the applied blocks of a range back to pending or noted';
COMMENT ON FUNCTION evp.clear_state() IS 'Empties every table the apply path writes, and the journal (evp_rebuild)';
COMMENT ON VIEW evp.journal IS 'Every journal table, for inspection: block, order, table, key and image as jsonb';

-- One md5 over every table the apply path writes and the journal: two databases (or one
-- before and after a revert) hold the same state exactly when their digests are equal. Of the
-- journal, what a revert would restore counts: each row's first image in each block (how many
-- later images a block appended depends on how often it was applied in parts, by late events).
CREATE FUNCTION evp.state_digest() RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    rows_sql text;
    digest text;
BEGIN
    SELECT string_agg(format('SELECT %L || x::text AS r FROM %s x', tbl, tbl), ' UNION ALL ')
      INTO rows_sql
      FROM (SELECT tbl FROM evp.journaled_tables
            UNION ALL VALUES ('public."Vault_Historic"'), ('public."Liquidity_Providers_Historic"'),
                             ('evp.applied_blocks'), ('evp.journal_pruned')) t;
    EXECUTE format($q$SELECT md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM (%s
                      UNION ALL (SELECT DISTINCT ON (block_number, tbl, key) 'journal' || (block_number, tbl, key, old)::text
                                   FROM evp.journal ORDER BY block_number, tbl, key, seq)) u$q$, rows_sql)
       INTO digest;
    RETURN digest;
END $$;
