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
