-- event_processor 0.1.0 → 0.2.0: ALTER EXTENSION event_processor UPDATE runs this script.
-- A released artefact, never edited: it brings the objects that 0.1.0's install script made
-- (sql/event_processor--0.1.0.sql) to what 0.2.0's makes, keeping every row of state, journal
-- and bookkeeping. The definitions below are those of 0.2.0's sql/*.sql at its release; CI
-- compares the catalog of an updated 0.1.0 with a fresh install (tests/integration/upgrade.sh).
\echo Use "ALTER EXTENSION event_processor UPDATE" to load this file. \quit

-- 1. State tables: what is not known yet is 0 or 0x0, never NULL (SPEC 7.2), in the rows and in
-- the journal's images of them, which a revert writes back.
UPDATE public."VaultStates" SET
    current_round = coalesce(current_round, 0), current_round_address = coalesce(current_round_address, '0x0'),
    deployment_date = coalesce(deployment_date, 0), fossil_client_address = coalesce(fossil_client_address, '0x0'),
    eth_address = coalesce(eth_address, '0x0'), option_round_class_hash = coalesce(option_round_class_hash, '0x0'),
    alpha = coalesce(alpha, 0), strike_level = coalesce(strike_level, 0),
    round_transition_period = coalesce(round_transition_period, 0), auction_duration = coalesce(auction_duration, 0),
    round_duration = coalesce(round_duration, 0)
 WHERE NOT (current_round, current_round_address, deployment_date, fossil_client_address, eth_address,
            option_round_class_hash, alpha, strike_level, round_transition_period, auction_duration,
            round_duration) IS NOT NULL;
UPDATE evp."journal_VaultStates" SET
    old.current_round = coalesce((old).current_round, 0), old.current_round_address = coalesce((old).current_round_address, '0x0'),
    old.deployment_date = coalesce((old).deployment_date, 0), old.fossil_client_address = coalesce((old).fossil_client_address, '0x0'),
    old.eth_address = coalesce((old).eth_address, '0x0'), old.option_round_class_hash = coalesce((old).option_round_class_hash, '0x0'),
    old.alpha = coalesce((old).alpha, 0), old.strike_level = coalesce((old).strike_level, 0),
    old.round_transition_period = coalesce((old).round_transition_period, 0),
    old.auction_duration = coalesce((old).auction_duration, 0), old.round_duration = coalesce((old).round_duration, 0)
 WHERE old IS DISTINCT FROM NULL;
ALTER TABLE public."VaultStates"
    ALTER current_round SET DEFAULT 0, ALTER current_round SET NOT NULL,
    ALTER current_round_address SET DEFAULT '0x0', ALTER current_round_address SET NOT NULL,
    ALTER deployment_date SET DEFAULT 0, ALTER deployment_date SET NOT NULL,
    ALTER fossil_client_address SET DEFAULT '0x0', ALTER fossil_client_address SET NOT NULL,
    ALTER eth_address SET DEFAULT '0x0', ALTER eth_address SET NOT NULL,
    ALTER option_round_class_hash SET DEFAULT '0x0', ALTER option_round_class_hash SET NOT NULL,
    ALTER alpha SET DEFAULT 0, ALTER alpha SET NOT NULL,
    ALTER strike_level SET DEFAULT 0, ALTER strike_level SET NOT NULL,
    ALTER round_transition_period SET DEFAULT 0, ALTER round_transition_period SET NOT NULL,
    ALTER auction_duration SET DEFAULT 0, ALTER auction_duration SET NOT NULL,
    ALTER round_duration SET DEFAULT 0, ALTER round_duration SET NOT NULL;

-- A round's dates and prices come with its deployment: 0.1.0 wrote them all at once, so none is
-- NULL; the amounts the round contract reads as 0 until they are set (SPEC 7.3) become 0.
UPDATE public."Option_Rounds" SET
    deployment_date = coalesce(deployment_date, 0), starting_liquidity = coalesce(starting_liquidity, 0),
    available_options = coalesce(available_options, 0), queued_liquidity = coalesce(queued_liquidity, 0),
    clearing_price = coalesce(clearing_price, 0), sold_options = coalesce(sold_options, 0),
    premiums = coalesce(premiums, 0), unsold_liquidity = coalesce(unsold_liquidity, 0),
    settlement_price = coalesce(settlement_price, 0), payout_per_option = coalesce(payout_per_option, 0)
 WHERE NOT (deployment_date, starting_liquidity, available_options, queued_liquidity, clearing_price,
            sold_options, premiums, unsold_liquidity, settlement_price, payout_per_option) IS NOT NULL;
UPDATE evp."journal_Option_Rounds" SET
    old.deployment_date = coalesce((old).deployment_date, 0), old.starting_liquidity = coalesce((old).starting_liquidity, 0),
    old.available_options = coalesce((old).available_options, 0), old.queued_liquidity = coalesce((old).queued_liquidity, 0),
    old.clearing_price = coalesce((old).clearing_price, 0), old.sold_options = coalesce((old).sold_options, 0),
    old.premiums = coalesce((old).premiums, 0), old.unsold_liquidity = coalesce((old).unsold_liquidity, 0),
    old.settlement_price = coalesce((old).settlement_price, 0), old.payout_per_option = coalesce((old).payout_per_option, 0)
 WHERE old IS DISTINCT FROM NULL;
ALTER TABLE public."Option_Rounds"
    ALTER start_date SET NOT NULL, ALTER end_date SET NOT NULL, ALTER settlement_date SET NOT NULL,
    ALTER deployment_date SET DEFAULT 0, ALTER deployment_date SET NOT NULL,
    ALTER strike_price SET NOT NULL, ALTER cap_level SET NOT NULL, ALTER reserve_price SET NOT NULL,
    ALTER starting_liquidity SET DEFAULT 0, ALTER starting_liquidity SET NOT NULL,
    ALTER available_options SET DEFAULT 0, ALTER available_options SET NOT NULL,
    ALTER queued_liquidity SET DEFAULT 0, ALTER queued_liquidity SET NOT NULL,
    ALTER clearing_price SET DEFAULT 0, ALTER clearing_price SET NOT NULL,
    ALTER sold_options SET DEFAULT 0, ALTER sold_options SET NOT NULL,
    ALTER premiums SET DEFAULT 0, ALTER premiums SET NOT NULL,
    ALTER unsold_liquidity SET DEFAULT 0, ALTER unsold_liquidity SET NOT NULL,
    ALTER settlement_price SET DEFAULT 0, ALTER settlement_price SET NOT NULL,
    ALTER payout_per_option SET DEFAULT 0, ALTER payout_per_option SET NOT NULL;

-- 2. New bookkeeping (sql/schema.sql, sql/journal.sql).
-- Blocks with events but no row in starknet_blocks (SPEC 7.1: the Pitch Lake indexer writes
-- none for a vault's deployment block and for the blocks it catches up after a restart; a
-- block whose row follows in the same transaction is here until the row arrives). Applied at
-- their own number by src/catchup/rowless.rs; applied, or given a row, they leave.
CREATE TABLE evp.rowless_blocks (
    block_number numeric(78,0) NOT NULL,
    block_hash varchar(66) NOT NULL,          -- normalised
    -- The transaction that saw its events arrive without a row (the row may still follow in
    -- it); NULL when it is known to have none.
    noted_in xid8 DEFAULT pg_catalog.pg_current_xact_id(),
    PRIMARY KEY (block_number, block_hash)
);

-- Blocks the indexer reverted or deleted: their events are never applied again unless a row
-- with that hash comes back. A REVERTED row that the extension removes for its replacement
-- (SPEC 7.3) stays known here.
CREATE TABLE evp.reverted_blocks (
    block_number numeric(78,0) NOT NULL,
    block_hash varchar(66) NOT NULL,          -- normalised
    PRIMARY KEY (block_number, block_hash)
);

SELECT pg_catalog.pg_extension_config_dump('evp.rowless_blocks', '');
SELECT pg_catalog.pg_extension_config_dump('evp.reverted_blocks', '');
-- 0.1.0 kept no record of the blocks it reverted. Known reverted: the REVERTED rows, and the
-- blocks whose events lie at a number a live block of another hash holds (a fork's leftovers).
INSERT INTO evp.reverted_blocks (block_number, block_hash)
SELECT e.block_number, evp.normalize_felt(e.block_hash) FROM public.events e
 WHERE EXISTS (SELECT FROM public.starknet_blocks b
                WHERE b.block_number = e.block_number AND b.status <> 'REVERTED'
                  AND evp.normalize_felt(b.block_hash) <> evp.normalize_felt(e.block_hash))
UNION
SELECT block_number, evp.normalize_felt(block_hash) FROM public.starknet_blocks WHERE status = 'REVERTED';

-- How far the journal is pruned: a block at or below pruned_upto cannot be reverted. No row:
-- nothing is. (evp.applied_blocks is not journaled: a revert deletes the block's row, and an
-- empty block, which writes nothing else, journals nothing.) No row until the first prune, so
-- that a restore of the dump does not meet one made by CREATE EXTENSION.
CREATE TABLE evp.journal_pruned (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    pruned_upto numeric(78,0) NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('evp.journal_pruned', '');
-- 0.1.0 journaled evp.applied_blocks, so every applied block had an entry until it was pruned:
-- the highest applied block without one is how far the journal is pruned.
INSERT INTO evp.journal_pruned (pruned_upto)
SELECT max(a.block_number) FROM evp.applied_blocks a
 WHERE NOT EXISTS (SELECT FROM evp.journal_applied_blocks j WHERE j.block_number = a.block_number)
HAVING max(a.block_number) IS NOT NULL;
DROP VIEW evp.journal;
-- Out of the extension first: that also takes it off pg_extension_config_dump's list.
ALTER EXTENSION event_processor DROP TABLE evp.journal_applied_blocks;
DROP TABLE evp.journal_applied_blocks;
DROP TRIGGER evp_changes_insert ON evp.applied_blocks;
DROP TRIGGER evp_changes_update ON evp.applied_blocks;
DROP TRIGGER evp_changes_delete ON evp.applied_blocks;
DROP FUNCTION evp.changed_applied_blocks();

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

-- Whether the queue is below the limit; the first statement to find room after skipping ends
-- the skipping.
CREATE FUNCTION evp.notify_queue_has_room() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    limit_share float8 := coalesce(nullif(current_setting('evp.notify_queue_limit', true), '')::float8, 0.5);
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
-- repeats anything sent before it. evp.notify_round is '' until the transaction notifies.
--
-- The padding of this round, starting round 0 at the transaction's first notification.
-- (PL/pgSQL: a SQL function called from a trigger is planned again on every call.)
CREATE FUNCTION evp.notify_padding() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN pg_catalog.repeat(' ', coalesce(nullif(pg_catalog.current_setting('evp.notify_round', true), ''),
                                           pg_catalog.set_config('evp.notify_round', '0', true))::int);
END $$;

CREATE FUNCTION evp.notify_next_round() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_catalog.current_setting('evp.notify_round', true) <> '' THEN
        PERFORM pg_catalog.set_config('evp.notify_round', (pg_catalog.current_setting('evp.notify_round')::int + 1)::text, true);
    END IF;
END $$;

-- Whether a boolean evp.* setting is on (off, false, no or 0 turn it off; unset is on). Read
-- as text: a trigger may run in a backend where the library has not defined the setting yet.
CREATE FUNCTION evp.enabled(setting text) RETURNS boolean
STABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT lower(coalesce(current_setting(setting, true), 'on')) NOT IN ('off', 'false', 'no', '0')
$$;

-- The blocks without a row that may be applied now: none is applied, reverted or a row at
-- their number, and no row can come for them any more: they lie below the applied tip, or
-- below a row (for a strict caller, the trigger path: seen from a later transaction than the
-- one that brought their events, whose rows may still be coming newest first). A function,
-- not a view: under pg_restore the indexer's tables do not exist yet when the extension is
-- created.
CREATE FUNCTION evp.ready_rowless_blocks(strict boolean) RETURNS TABLE (block_number numeric, block_hash varchar)
STABLE LANGUAGE sql AS $$
    SELECT r.block_number, r.block_hash
      FROM evp.rowless_blocks r,
           (SELECT max(a.block_number) AS n FROM evp.applied_blocks a) tip,
           (SELECT max(b.block_number) AS n FROM public.starknet_blocks b WHERE b.status <> 'REVERTED') newest
     WHERE (r.block_number < tip.n
            OR (r.block_number < newest.n
                AND NOT (strict AND r.noted_in IS NOT DISTINCT FROM pg_catalog.pg_current_xact_id_if_assigned())))
       AND NOT EXISTS (SELECT FROM evp.applied_blocks a WHERE a.block_number = r.block_number)
       AND NOT EXISTS (SELECT FROM evp.reverted_blocks x
                        WHERE x.block_number = r.block_number AND x.block_hash = r.block_hash)
       AND NOT EXISTS (SELECT FROM public.starknet_blocks b
                        WHERE b.block_number = r.block_number AND b.status <> 'REVERTED')
$$;

-- Notes the blocks without a row from the events table itself: at CREATE EXTENSION for the
-- history already there, and by evp_rebuild() (which makes the applied ones pending again).
CREATE FUNCTION evp.note_rowless_blocks() RETURNS void
LANGUAGE sql AS $$
    INSERT INTO evp.rowless_blocks (block_number, block_hash, noted_in)
    SELECT DISTINCT e.block_number, evp.normalize_felt(e.block_hash), NULL::xid8 FROM public.events e
     WHERE NOT EXISTS (SELECT FROM public.starknet_blocks b
                        WHERE b.block_number = e.block_number
                          AND evp.normalize_felt(b.block_hash) = evp.normalize_felt(e.block_hash))
       AND NOT EXISTS (SELECT FROM evp.applied_blocks a WHERE a.block_number = e.block_number)
    ON CONFLICT DO NOTHING
$$;
-- The other events without a row are noted as CREATE EXTENSION notes them: the blocks of SPEC
-- 7.1 without a row (a vault's deployment block, stored while 0.1.0 refused the indexer's
-- blocks) look the same as a fork's leftovers at a number no live block holds, and
-- evp.ready_rowless_blocks applies them only where no row comes.
SELECT evp.note_rowless_blocks();

-- 3. The journal (sql/journal.sql): the table list gains each table's payload function and
-- loses evp.applied_blocks; the trigger functions, revert, prune and clear are made again.
DROP TABLE evp.journaled_tables;
-- Every table the apply path writes in place, with its key, the channel its changes are
-- announced on, the function that makes a row the payload, and its history table.
CREATE TABLE evp.journaled_tables (
    tbl text PRIMARY KEY,
    keys text[] NOT NULL,
    channel text,
    payload text NOT NULL DEFAULT 'row_to_json',
    history text
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

INSERT INTO evp.journaled_tables (tbl, keys, channel, payload, history) VALUES
    ('public."VaultStates"', '{address}', 'vault_update', DEFAULT, 'public."Vault_Historic"'),
    ('public."Liquidity_Providers"', '{address,vault_address}', 'lp_update', DEFAULT, 'public."Liquidity_Providers_Historic"'),
    ('public."Option_Rounds"', '{address}', 'or_update', DEFAULT, NULL),
    ('public."Queued_Liquidity"', '{round_address,address}', NULL, DEFAULT, NULL),
    ('public."Option_Buyers"', '{address,round_address}', 'ob_update', DEFAULT, NULL),
    ('public."Bids"', '{round_address,bid_id}', 'bids_update', 'evp.bid_payload', NULL),
    ('evp.vault_progress', '{vault_address}', NULL, DEFAULT, NULL),
    ('evp.lp_round_liquidity', '{round_address,lp_address}', NULL, DEFAULT, NULL),
    ('evp.failed_events', '{vault_address,event_nonce,block_hash}', NULL, DEFAULT, NULL);
-- sql/journal.sql's generator, less what stays: the journal tables, their indexes and the
-- statement triggers. The trigger functions (payloads, padding, the queue's guard), revert,
-- prune, clear and the view are made as 0.2.0 makes them.
DO $do$
DECLARE
    t record;
    j text;
    keys text;
    key_o text;
    key_n text;
    key_eq text;
    history text;
    history_insert text;
    cols text;
    old_cols text;
    first_images text;
    skip_rewritten text;
    notify text;
    revert_sql text := '';
    prune_sql text := '';
    clear_sql text := '';
    view_sql text := '';
BEGIN
    FOR t IN SELECT jt.tbl, jt.keys, jt.channel, jt.payload, jt.history, c.oid AS rel, c.relname
               FROM evp.journaled_tables jt JOIN pg_class c ON c.oid = jt.tbl::regclass ORDER BY jt.tbl LOOP
        j := format('evp.%I', 'journal_' || t.relname);
        SELECT string_agg(quote_ident(k), ', ' ORDER BY i),
               string_agg('o.' || quote_ident(k), ', ' ORDER BY i),
               string_agg('n.' || quote_ident(k), ', ' ORDER BY i),
               string_agg(format('x.%1$I = j.%1$I', k), ' AND ' ORDER BY i)
          INTO keys, key_o, key_n, key_eq
          FROM unnest(t.keys) WITH ORDINALITY AS u(k, i)
          JOIN pg_attribute a ON a.attrelid = t.rel AND a.attname = k;
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
               string_agg(format('(j.old).%I', attname), ', ' ORDER BY attnum)
          INTO cols, old_cols
          FROM pg_attribute WHERE attrelid = t.rel AND attnum > 0 AND NOT attisdropped;
        skip_rewritten := CASE WHEN EXISTS (SELECT FROM pg_attribute WHERE attrelid = t.rel AND attname = 'latest_block')
                               THEN ' WHERE o.latest_block IS DISTINCT FROM blk' ELSE '' END;

        notify := CASE WHEN t.channel IS NULL THEN '' ELSE format($n$
                IF evp.enabled('evp.notify') THEN
                    pad := evp.notify_padding();
                    IF TG_OP = 'DELETE' THEN
                        IF evp.notify_queue_has_room() THEN
                            PERFORM pg_catalog.pg_notify(%1$L, '{"operation" : "delete", "payload" : ' || %2$s(o)::text || '}' || pad)
                               FROM old_rows o;
                        ELSE
                            PERFORM evp.notifications_skipped((SELECT count(*) FROM old_rows));
                        END IF;
                    ELSIF evp.notify_queue_has_room() THEN
                        PERFORM pg_catalog.pg_notify(%1$L, '{"operation" : "' || lower(TG_OP) || '", "payload" : ' || %2$s(n)::text || '}' || pad)
                           FROM new_rows n;
                    ELSE
                        PERFORM evp.notifications_skipped((SELECT count(*) FROM new_rows));
                    END IF;
                END IF;$n$, t.channel, t.payload) END;
        history_insert := format('INSERT INTO %s (%s, block_number, unlocked_balance, locked_balance, stashed_balance) '
                                 'SELECT %s, blk, n.unlocked_balance, n.locked_balance, n.stashed_balance FROM new_rows n',
                                 t.history, keys, key_n);
        history := CASE WHEN t.history IS NULL THEN '' ELSE format($h$
                IF blk IS NOT NULL AND TG_OP <> 'DELETE' THEN
                    IF TG_OP = 'UPDATE' THEN
                        rewritten := EXISTS (SELECT FROM old_rows o WHERE o.latest_block >= blk);
                    END IF;
                    IF rewritten THEN
                        %1$s
                        ON CONFLICT (%2$s, block_number) DO UPDATE
                           SET unlocked_balance = EXCLUDED.unlocked_balance, locked_balance = EXCLUDED.locked_balance,
                               stashed_balance = EXCLUDED.stashed_balance;
                    ELSE
                        %1$s;
                    END IF;
                END IF;$h$, history_insert, keys) END;
        EXECUTE format($f$
            CREATE OR REPLACE FUNCTION evp.%I() RETURNS trigger LANGUAGE plpgsql AS $body$
            DECLARE
                blk numeric := nullif(current_setting('evp.applying_block', true), '')::numeric;
                rewritten boolean := false;  -- some rows have history at this block already
                pad text;
            BEGIN
                IF blk IS NULL THEN
                    NULL;
                ELSIF TG_OP = 'INSERT' THEN
                    INSERT INTO %s (at_block, %s, old) SELECT blk, %s, NULL FROM new_rows n;
                ELSE
                    INSERT INTO %s (at_block, %s, old) SELECT blk, %s, ROW(o.*)::%s FROM old_rows o%s;
                END IF;%s%s
                RETURN NULL;
            END $body$ $f$, 'changed_' || t.relname, j, keys, key_n, j, keys, key_o, t.tbl, skip_rewritten, history, notify);

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
CREATE OR REPLACE FUNCTION evp.revert_block(blk numeric) RETURNS void LANGUAGE plpgsql AS $body$
BEGIN
    PERFORM evp.notify_next_round();%s
    DELETE FROM evp.applied_blocks WHERE block_number = blk;
    DELETE FROM public."Vault_Historic" WHERE block_number = blk;
    DELETE FROM public."Liquidity_Providers_Historic" WHERE block_number = blk;
END $body$ $f$, revert_sql);
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION evp.prune_journal(upto numeric) RETURNS void LANGUAGE plpgsql AS $body$
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
CREATE OR REPLACE FUNCTION evp.clear_state() RETURNS void LANGUAGE sql AS $body$
    DELETE FROM public."Vault_Historic";
    DELETE FROM public."Liquidity_Providers_Historic";
    DELETE FROM evp.late_blocks;
    DELETE FROM evp.applied_blocks;
    DELETE FROM evp.journal_pruned;%s
$body$ $f$, clear_sql);
    EXECUTE 'CREATE VIEW evp.journal AS ' || view_sql;
END $do$;

COMMENT ON FUNCTION evp.revert_block(numeric) IS 'Undoes one applied block from its journal';
COMMENT ON FUNCTION evp.prune_journal(numeric) IS 'Drops the journal of blocks up to the argument';
-- DELETE, not TRUNCATE: TRUNCATE's ACCESS EXCLUSIVE lock would deadlock with an indexer
-- session that read a state table before waiting for the extension's lock, block every reader
-- until the rebuild commits, and show readers with an older snapshot empty tables.
COMMENT ON FUNCTION evp.clear_state() IS 'Empties every table the apply path writes, and the journal (evp_rebuild)';
COMMENT ON VIEW evp.journal IS 'Every journal table, for inspection: block, order, table, key and image as jsonb';

-- One md5 over every table the apply path writes and the journal: two databases (or one
-- before and after a revert) hold the same state exactly when their digests are equal. Of the
-- journal, what a revert would restore counts: each row's first image in each block (how many
-- later images a block appended depends on how often it was applied in parts, by late events).
CREATE OR REPLACE FUNCTION evp.state_digest() RETURNS text
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

-- 4. evp_status() (sql/status.sql): new columns, so the function and its view are made again.
DROP VIEW evp_status;
DROP FUNCTION evp_status();
-- evp_status(): what the extension is doing, in one row. A view of the same name reads it.
-- Public: it runs with the owner's rights (search_path pinned), so readers need no grant on
-- the bookkeeping.
-- PL/pgSQL, so that evp.worker_status() (created from Rust elsewhere in the script) is resolved
-- at run time. No JIT: the planner takes that function for a thousand rows, and would compile
-- the plan for 700 ms.
CREATE FUNCTION evp_status()
RETURNS TABLE (mode text, preloaded boolean, worker_pid integer, worker_state text,
               last_applied_block numeric, newest_block numeric, lag_blocks numeric, pending_blocks bigint,
               waiting_for text,
               events_applied bigint, events_ignored bigint, failed_events bigint,
               notifications_skipped bigint, notifications_skipping_since timestamptz,
               last_error text, last_failed_event text, journal_blocks bigint, journal_rows bigint,
               worker_blocks_applied bigint, worker_events_applied bigint, worker_errors bigint,
               worker_batch_size integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY
    WITH tip AS (SELECT max(block_number) AS n FROM evp.applied_blocks),
         newest AS (SELECT max(block_number) AS n FROM public.starknet_blocks WHERE status <> 'REVERTED'),
         w AS (SELECT * FROM evp.worker_status()),
         -- The first block row that is not applied, and what stands between it and the tip.
         first_row AS (SELECT b.block_number AS n, b.parent_hash FROM public.starknet_blocks b, tip
                        WHERE b.status <> 'REVERTED' AND b.block_number > coalesce(tip.n, -1)
                        ORDER BY b.block_number LIMIT 1),
         reverted_between AS (SELECT max(b.block_number) AS n FROM public.starknet_blocks b, tip, first_row
                               WHERE b.status = 'REVERTED' AND b.block_number > coalesce(tip.n, -1)
                                 AND b.block_number < first_row.n),
         tip_hash AS (SELECT a.block_hash AS h FROM evp.applied_blocks a, tip WHERE a.block_number = tip.n),
         rowless AS (SELECT count(*) FILTER (WHERE ready) AS ready, min(block_number) FILTER (WHERE NOT ready) AS waiting
                       FROM (SELECT r.block_number, EXISTS (SELECT FROM evp.ready_rowless_blocks(true) x
                                                             WHERE x.block_number = r.block_number
                                                               AND x.block_hash = r.block_hash) AS ready
                               FROM evp.rowless_blocks r) q),
         f AS (SELECT format('block %s, vault %s, event nonce %s (%s): %s [%s]', block_number, vault_address,
                             event_nonce, event_name, reason, sqlstate) AS text, count(*) OVER () AS n
                 FROM evp.failed_events ORDER BY block_number DESC, event_nonce DESC LIMIT 1)
    SELECT current_setting('evp.mode', true), w.preloaded, w.pid, w.state,
           tip.n, newest.n, coalesce(newest.n - tip.n, newest.n),
           (SELECT count(*) FROM public.starknet_blocks b
             WHERE b.status <> 'REVERTED' AND b.block_number > coalesce(tip.n, -1))
           + (SELECT count(*) FROM evp.late_blocks) + rowless.ready,
           CASE
               WHEN (SELECT n FROM reverted_between) IS NOT NULL THEN
                   format('block %s waits for the replacement of block %s, which is REVERTED: the blocks above a '
                          'REVERTED row belong to its fork until the indexer inserts the new one; if it will not '
                          '(it restarted after the reorg), DELETE FROM starknet_blocks WHERE block_number <= %s AND '
                          'status = ''REVERTED'' and SELECT evp_catchup() move on',
                          (SELECT n FROM first_row), (SELECT n FROM reverted_between), (SELECT n FROM reverted_between))
               WHEN current_setting('evp.mode', true) = 'off' AND (SELECT n FROM first_row) IS NOT NULL THEN
                   'evp.mode is off: SELECT evp_catchup() applies the pending blocks'
               WHEN current_setting('evp.mode', true) IN ('sync', 'async') AND (SELECT n FROM first_row) > tip.n + 1
                    AND evp.normalize_felt((SELECT parent_hash FROM first_row))
                        IS DISTINCT FROM evp.normalize_felt((SELECT h FROM tip_hash)) THEN
                   format('block %s waits for its parent %s, which is not the applied tip %s: %s no row (the Pitch '
                          'Lake indexer writes none for the blocks it catches up); SELECT evp_catchup() applies the '
                          'blocks in number order',
                          (SELECT n FROM first_row), (SELECT parent_hash FROM first_row), tip.n,
                          CASE WHEN (SELECT n FROM first_row) = tip.n + 2 THEN format('block %s has', tip.n + 1)
                               ELSE format('blocks %s to %s have', tip.n + 1, (SELECT n FROM first_row) - 1) END)
               WHEN current_setting('evp.mode', true) = 'sync' AND (SELECT n FROM first_row) IS NOT NULL THEN
                   format('block %s arrived while evp.mode was not sync; SELECT evp_catchup() applies it',
                          (SELECT n FROM first_row))
               WHEN rowless.waiting IS NOT NULL THEN
                   format('block %s has events but no row: it is applied when a block row above it arrives',
                          rowless.waiting)
           END,
           (SELECT coalesce(sum(a.events_applied), 0)::bigint FROM evp.applied_blocks a),
           (SELECT coalesce(sum(a.events_ignored), 0)::bigint FROM evp.applied_blocks a),
           coalesce((SELECT f.n FROM f), 0),
           (SELECT g.skipped FROM evp.notify_guard g), (SELECT g.skipping_since FROM evp.notify_guard g),
           w.last_error, (SELECT f.text FROM f),
           (SELECT count(*) FROM evp.applied_blocks a
             WHERE a.block_number > coalesce((SELECT p.pruned_upto FROM evp.journal_pruned p), -1)),
           (SELECT count(*) FROM evp.journal),
           w.blocks_applied, w.events_applied, w.errors, w.batch_size
      FROM tip, newest, w, rowless;
END $$;

CREATE VIEW evp_status AS SELECT * FROM evp_status();

-- 5. The triggers on the indexer's tables (sql/triggers.sql).
-- The indexer's tables drive the extension: inserting a block applies it, inserting events
-- for an applied block applies them, deleting a block or marking it REVERTED reverts it.
-- Plain PL/pgSQL wrappers: the Rust entry points (evp.block_inserted, evp.events_inserted,
-- evp.block_reverted, evp.driver_events_inserted) are created elsewhere in the install
-- script, and PL/pgSQL resolves them at run time. They run with the extension owner's rights
-- (the indexer needs rights on its own tables only) and a pinned search_path, so that nothing
-- in the indexer's schemas stands in for what they call: all else is schema-qualified.

CREATE OR REPLACE FUNCTION evp.on_block_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM evp.block_inserted(NEW.block_number);
    RETURN NULL;
END $$;

-- New events: those of a block without a row (yet) are noted in evp.rowless_blocks (SPEC 7.1:
-- a vault's deployment block and the indexer's catch-up blocks get none; a live block's row
-- follows in the same transaction and removes the note); those of an applied block belong to
-- it and are applied now. The Rust side is called only when there is something to apply.
CREATE OR REPLACE FUNCTION evp.on_events_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    late numeric[];
    noted boolean;
BEGIN
    INSERT INTO evp.rowless_blocks (block_number, block_hash)
    SELECT DISTINCT n.block_number, evp.normalize_felt(n.block_hash) FROM new_events n
     WHERE NOT EXISTS (SELECT FROM public.starknet_blocks b
                        WHERE b.block_number = n.block_number
                          AND evp.normalize_felt(b.block_hash) = evp.normalize_felt(n.block_hash))
       AND NOT EXISTS (SELECT FROM evp.applied_blocks a WHERE a.block_number = n.block_number)
    ON CONFLICT DO NOTHING;
    noted := FOUND;
    SELECT array_agg(DISTINCT n.block_number ORDER BY n.block_number) INTO late
      FROM new_events n JOIN evp.applied_blocks a ON a.block_number = n.block_number
     WHERE evp.normalize_felt(a.block_hash) = evp.normalize_felt(n.block_hash);
    IF late IS NOT NULL OR (noted AND EXISTS (SELECT FROM evp.ready_rowless_blocks(true))) THEN
        PERFORM evp.events_inserted(late);
    END IF;
    RETURN NULL;
END $$;

-- The indexer says block (number, hash) is gone: remembered, so that its events are never
-- applied again unless a row with that hash comes back.
CREATE FUNCTION evp.note_reverted(block_number numeric, block_hash text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO evp.reverted_blocks (block_number, block_hash)
    VALUES (block_number, evp.normalize_felt(block_hash)) ON CONFLICT DO NOTHING
$$;

-- Reorgs arrive as DELETE FROM starknet_blocks or UPDATE … SET status = 'REVERTED'; an UPDATE
-- that brings a block row back (status or hash changed) counts as a new block. A REVERTED row
-- was reverted when it became one.
CREATE OR REPLACE FUNCTION evp.on_block_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM evp.note_reverted(OLD.block_number, OLD.block_hash);
    IF OLD.status IS DISTINCT FROM 'REVERTED' THEN
        PERFORM evp.block_reverted(OLD.block_number, OLD.block_hash);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION evp.on_block_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM 'REVERTED'
       AND (NEW.status = 'REVERTED' OR NEW.block_hash IS DISTINCT FROM OLD.block_hash
            OR NEW.block_number IS DISTINCT FROM OLD.block_number) THEN
        PERFORM evp.note_reverted(OLD.block_number, OLD.block_hash);
        PERFORM evp.block_reverted(OLD.block_number, OLD.block_hash);
    END IF;
    IF NEW.status IS DISTINCT FROM 'REVERTED' AND (OLD.status = 'REVERTED'
       OR NEW.block_hash IS DISTINCT FROM OLD.block_hash OR NEW.block_number IS DISTINCT FROM OLD.block_number) THEN
        PERFORM evp.block_inserted(NEW.block_number);
    END IF;
    RETURN NULL;
END $$;

-- A replacement block (SPEC 7.3): the Pitch Lake indexer marks reorganised blocks REVERTED and
-- then inserts the new fork at the same numbers, which the table's key on block_number alone
-- refuses. The REVERTED row (reverted already) is removed first, its hash remembered by the
-- DELETE trigger, so the INSERT succeeds. evp.replace_reverted_blocks = off leaves the table
-- to its key.
CREATE FUNCTION evp.on_block_replace() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF evp.enabled('evp.replace_reverted_blocks') THEN
        DELETE FROM public.starknet_blocks WHERE block_number = NEW.block_number AND status = 'REVERTED';
    END IF;
    RETURN NEW;
END $$;

-- The indexer's queue of block and vault notices (see src/catchup/driver.rs).
CREATE OR REPLACE FUNCTION evp.on_driver_events_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM evp.driver_events_inserted();
    RETURN NULL;
END $$;

-- The triggers on the indexer's tables: one new, one renamed, and the queue's index.
DO $$
BEGIN
    IF to_regclass('public.starknet_blocks') IS NOT NULL THEN
        CREATE TRIGGER evp_replace_reverted BEFORE INSERT ON public.starknet_blocks
            FOR EACH ROW EXECUTE FUNCTION evp.on_block_replace();
        ALTER TRIGGER evp_replace_reverted ON public.starknet_blocks DEPENDS ON EXTENSION event_processor;
    END IF;
    IF to_regclass('public.events') IS NOT NULL THEN
        ALTER TRIGGER evp_late_events ON public.events RENAME TO evp_new_events;
    END IF;
    IF to_regclass('public.driver_events') IS NOT NULL THEN
        -- The notices not processed yet, through an index of them alone: the indexer's index on
        -- is_processed covers the queue's whole history, and a generic plan, which cannot tell
        -- how few are unprocessed, scans the table instead (a cost that grows with every block).
        CREATE INDEX evp_driver_events_unprocessed ON public.driver_events (sequence_index, id) WHERE NOT is_processed;
        ALTER INDEX public.evp_driver_events_unprocessed DEPENDS ON EXTENSION event_processor;
    END IF;
END $$;

-- 6. Privileges (sql/privileges.sql), for what was made above and what 0.1.0 left open.
ALTER FUNCTION evp_catchup(integer) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION evp_revert_to(numeric) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION evp_reprocess(numeric) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION evp_rebuild() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- What rewrites the state is the owner's to grant (GRANT EXECUTE ON FUNCTION … TO an operator).
REVOKE EXECUTE ON FUNCTION evp_catchup(integer), evp_revert_to(numeric), evp_reprocess(numeric), evp_rebuild()
    FROM PUBLIC;
-- The extension's own: the trigger entry points, the revert and journal functions, helpers.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA evp FROM PUBLIC;
-- evp_status() is everyone's, and so is its view.
GRANT SELECT ON evp_status TO PUBLIC;

-- What the 0.2.0 library deferred while the extension was 0.1.0 (src/version.rs): in sync mode
-- the pending blocks are applied now; the worker, waiting for the update, goes on at its commit.
SELECT evp_catchup() WHERE coalesce(nullif(current_setting('evp.mode', true), ''), 'sync') = 'sync';
SELECT evp.wake_worker();
