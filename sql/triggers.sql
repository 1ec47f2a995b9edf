-- The indexer's tables drive the extension: inserting a block applies it, inserting events
-- for an applied block applies them, deleting a block or marking it REVERTED reverts it.
-- Plain PL/pgSQL wrappers: the Rust entry points (evp.blocks_inserted, evp.block_inserted,
-- evp.events_inserted, evp.block_reverted, evp.driver_events_inserted) are created elsewhere
-- in the install script, and PL/pgSQL resolves them at run time. They run with the extension owner's rights
-- (the indexer needs rights on its own tables only) and a pinned search_path, so that nothing
-- in the indexer's schemas stands in for what they call: all else is schema-qualified.

-- New block rows, once per statement: one row from the indexer, a whole history from a COPY.
CREATE FUNCTION evp.on_block_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM evp.blocks_inserted(array_agg(n.block_number)) FROM new_blocks n HAVING count(*) > 0;
    RETURN NULL;
END $$;

-- New events enter the ledger: a block of theirs with no entry is noted (SPEC 7.1: a vault's
-- deployment block and the indexer's catch-up blocks get no row; a live block's row follows in
-- the same transaction); an applied block of theirs is late (they belong to it). Not a block of
-- their own where their number holds an applied block or a row of another hash. One statement,
-- a conflict with nothing to change in the common case (the block's second event on). The Rust
-- side is called only when there is something to apply: late events, or a noted block below
-- the applied tip (a vault registered after later blocks were applied).
CREATE FUNCTION evp.on_events_insert() RETURNS trigger
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

-- Reorgs arrive as DELETE FROM starknet_blocks or UPDATE … SET status = 'REVERTED'; an UPDATE
-- that brings a block row back (status or hash changed) counts as a new block. A REVERTED row
-- was reverted when it became one.
CREATE FUNCTION evp.on_block_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM 'REVERTED' THEN
        PERFORM evp.block_reverted(OLD.block_number, OLD.block_hash);
    END IF;
    PERFORM evp.note_reverted(OLD.block_number, OLD.block_hash, false);
    RETURN NULL;
END $$;

CREATE FUNCTION evp.on_block_update() RETURNS trigger
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
CREATE FUNCTION evp.on_driver_events_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM evp.driver_events_inserted();
    RETURN NULL;
END $$;

-- The triggers hang on the indexer's tables; DEPENDS ON EXTENSION drops them with the
-- extension. Under pg_restore the input tables come later, with their triggers, from the dump.
DO $$
BEGIN
    IF to_regclass('public.starknet_blocks') IS NOT NULL THEN
        CREATE TRIGGER evp_replace_reverted BEFORE INSERT ON public.starknet_blocks
            FOR EACH ROW EXECUTE FUNCTION evp.on_block_replace();
        CREATE TRIGGER evp_apply_block AFTER INSERT ON public.starknet_blocks
            REFERENCING NEW TABLE AS new_blocks FOR EACH STATEMENT EXECUTE FUNCTION evp.on_block_insert();
        CREATE TRIGGER evp_revert_block AFTER DELETE ON public.starknet_blocks
            FOR EACH ROW EXECUTE FUNCTION evp.on_block_delete();
        CREATE TRIGGER evp_block_status AFTER UPDATE ON public.starknet_blocks
            FOR EACH ROW EXECUTE FUNCTION evp.on_block_update();
        ALTER TRIGGER evp_replace_reverted ON public.starknet_blocks DEPENDS ON EXTENSION event_processor;
        ALTER TRIGGER evp_apply_block ON public.starknet_blocks DEPENDS ON EXTENSION event_processor;
        ALTER TRIGGER evp_revert_block ON public.starknet_blocks DEPENDS ON EXTENSION event_processor;
        ALTER TRIGGER evp_block_status ON public.starknet_blocks DEPENDS ON EXTENSION event_processor;
    END IF;
    IF to_regclass('public.events') IS NOT NULL THEN
        CREATE TRIGGER evp_new_events AFTER INSERT ON public.events
            REFERENCING NEW TABLE AS new_events
            FOR EACH STATEMENT EXECUTE FUNCTION evp.on_events_insert();
        ALTER TRIGGER evp_new_events ON public.events DEPENDS ON EXTENSION event_processor;
    END IF;
    IF to_regclass('public.driver_events') IS NOT NULL THEN
        CREATE TRIGGER evp_driver_events AFTER INSERT ON public.driver_events
            FOR EACH STATEMENT EXECUTE FUNCTION evp.on_driver_events_insert();
        ALTER TRIGGER evp_driver_events ON public.driver_events DEPENDS ON EXTENSION event_processor;
        -- The notices not processed yet, through an index of them alone: the indexer's index on
        -- is_processed covers the queue's whole history, and a generic plan, which cannot tell
        -- how few are unprocessed, scans the table instead (a cost that grows with every block).
        CREATE INDEX evp_driver_events_unprocessed ON public.driver_events (sequence_index, id) WHERE NOT is_processed;
        ALTER INDEX public.evp_driver_events_unprocessed DEPENDS ON EXTENSION event_processor;
    END IF;
END $$;
