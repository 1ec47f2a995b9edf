-- The indexer's tables drive the extension: inserting a block applies it, inserting events
-- for an applied block applies them, deleting a block or marking it REVERTED reverts it.
-- Plain PL/pgSQL wrappers: the Rust entry points (evp.block_inserted, evp.events_inserted,
-- evp.block_reverted) are created elsewhere in the install script, and PL/pgSQL resolves them
-- at run time.

CREATE FUNCTION evp.on_block_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evp.block_inserted(NEW.block_number);
    RETURN NULL;
END $$;

-- Events inserted after their block was applied belong to that block and are applied now.
CREATE FUNCTION evp.on_events_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evp.events_inserted(array_agg(DISTINCT n.block_number ORDER BY n.block_number))
       FROM new_events n JOIN evp.applied_blocks a ON a.block_number = n.block_number
      WHERE evp.normalize_felt(a.block_hash) = evp.normalize_felt(n.block_hash)
     HAVING count(*) > 0;
    RETURN NULL;
END $$;

-- Reorgs arrive as DELETE FROM starknet_blocks or UPDATE … SET status = 'REVERTED'; an UPDATE
-- that brings a block row back (status or hash changed) counts as a new block.
CREATE FUNCTION evp.on_block_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evp.block_reverted(OLD.block_number, OLD.block_hash);
    RETURN NULL;
END $$;

CREATE FUNCTION evp.on_block_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM 'REVERTED'
       AND (NEW.status = 'REVERTED' OR NEW.block_hash IS DISTINCT FROM OLD.block_hash
            OR NEW.block_number IS DISTINCT FROM OLD.block_number) THEN
        PERFORM evp.block_reverted(OLD.block_number, OLD.block_hash);
    END IF;
    IF NEW.status IS DISTINCT FROM 'REVERTED' AND (OLD.status = 'REVERTED'
       OR NEW.block_hash IS DISTINCT FROM OLD.block_hash OR NEW.block_number IS DISTINCT FROM OLD.block_number) THEN
        PERFORM evp.block_inserted(NEW.block_number);
    END IF;
    RETURN NULL;
END $$;

-- The legacy indexer's queue of block and vault notices (see src/apply/driver.rs).
CREATE FUNCTION evp.on_driver_events_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evp.driver_events_inserted();
    RETURN NULL;
END $$;

-- The triggers hang on the indexer's tables; DEPENDS ON EXTENSION drops them with the
-- extension. Under pg_restore the input tables come later, with their triggers, from the dump.
DO $$
BEGIN
    IF to_regclass('public.starknet_blocks') IS NOT NULL THEN
        CREATE TRIGGER evp_apply_block AFTER INSERT ON public.starknet_blocks
            FOR EACH ROW EXECUTE FUNCTION evp.on_block_insert();
        CREATE TRIGGER evp_revert_block AFTER DELETE ON public.starknet_blocks
            FOR EACH ROW EXECUTE FUNCTION evp.on_block_delete();
        CREATE TRIGGER evp_block_status AFTER UPDATE ON public.starknet_blocks
            FOR EACH ROW EXECUTE FUNCTION evp.on_block_update();
        ALTER TRIGGER evp_apply_block ON public.starknet_blocks DEPENDS ON EXTENSION event_processor;
        ALTER TRIGGER evp_revert_block ON public.starknet_blocks DEPENDS ON EXTENSION event_processor;
        ALTER TRIGGER evp_block_status ON public.starknet_blocks DEPENDS ON EXTENSION event_processor;
    END IF;
    IF to_regclass('public.events') IS NOT NULL THEN
        CREATE TRIGGER evp_late_events AFTER INSERT ON public.events
            REFERENCING NEW TABLE AS new_events
            FOR EACH STATEMENT EXECUTE FUNCTION evp.on_events_insert();
        ALTER TRIGGER evp_late_events ON public.events DEPENDS ON EXTENSION event_processor;
    END IF;
    IF to_regclass('public.driver_events') IS NOT NULL THEN
        CREATE TRIGGER evp_driver_events AFTER INSERT ON public.driver_events
            FOR EACH STATEMENT EXECUTE FUNCTION evp.on_driver_events_insert();
        ALTER TRIGGER evp_driver_events ON public.driver_events DEPENDS ON EXTENSION event_processor;
    END IF;
END $$;
