-- Undo journal (SPEC section 5). For each applied block: the image of every row of an
-- extension table before the block first touched it, or NULL when the block inserted the row.
-- Reverting a block deletes the rows it inserted and puts the others back as they were: exact,
-- set-based (two statements per table), and independent of the order of changes within the
-- block. The apply path sets evp.applying_block (transaction-local) while it writes; changes
-- made at any other time, such as a revert's own or a restore's COPY, are not journaled.
CREATE TABLE evp.journal (
    block_number numeric(78,0) NOT NULL,
    tbl text NOT NULL,
    key jsonb NOT NULL,
    old jsonb,
    PRIMARY KEY (block_number, tbl, key)
);
SELECT pg_catalog.pg_extension_config_dump('evp.journal', '');

-- Every table the apply path writes, with its key.
CREATE TABLE evp.journaled_tables (
    tbl text PRIMARY KEY,
    keys text[] NOT NULL
);
INSERT INTO evp.journaled_tables VALUES
    ('public."VaultStates"', '{address}'),
    ('public."Liquidity_Providers"', '{address,vault_address}'),
    ('public."Option_Rounds"', '{address}'),
    ('public."Queued_Liquidity"', '{address,round_address}'),
    ('public."Option_Buyers"', '{address,round_address}'),
    ('public."Bids"', '{round_address,bid_id}'),
    ('public."Vault_Historic"', '{address,block_number}'),
    ('public."Liquidity_Providers_Historic"', '{address,vault_address,block_number}'),
    ('evp.applied_blocks', '{block_number}'),
    ('evp.vault_progress', '{vault_address}'),
    ('evp.lp_round_liquidity', '{round_address,lp_address}'),
    ('evp.failed_events', '{vault_address,event_nonce,block_hash}');

-- One trigger function a table, generated here with its key columns written out, so that each
-- is plain static SQL with a cached plan: one INSERT … SELECT over the transition table per
-- statement, however many rows it changed. ON CONFLICT DO NOTHING keeps the first image of a
-- row within the block; an inserted row's image is NULL. (As in the PostgreSQL manual's audit
-- example, each branch names the transition table its trigger has.)
DO $do$
DECLARE
    t record;
    fn text;
    key_new text;
    key_old text;
BEGIN
    FOR t IN SELECT j.tbl, j.keys, c.relname FROM evp.journaled_tables j JOIN pg_class c ON c.oid = j.tbl::regclass LOOP
        fn := format('evp.%I', 'journal_' || t.relname);
        SELECT format('jsonb_build_array(%s)', string_agg('n.' || quote_ident(k), ', ' ORDER BY i)),
               format('jsonb_build_array(%s)', string_agg('o.' || quote_ident(k), ', ' ORDER BY i))
          INTO key_new, key_old
          FROM unnest(t.keys) WITH ORDINALITY AS u(k, i);
        EXECUTE format($f$
            CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $body$
            DECLARE
                blk text := current_setting('evp.applying_block', true);
            BEGIN
                IF coalesce(blk, '') = '' THEN
                    RETURN NULL;
                ELSIF TG_OP = 'INSERT' THEN
                    INSERT INTO evp.journal (block_number, tbl, key, old)
                    SELECT blk::numeric, %L, %s, NULL FROM new_rows n ON CONFLICT DO NOTHING;
                ELSE
                    INSERT INTO evp.journal (block_number, tbl, key, old)
                    SELECT blk::numeric, %L, %s, to_jsonb(o) FROM old_rows o ON CONFLICT DO NOTHING;
                END IF;
                RETURN NULL;
            END $body$ $f$, fn, t.tbl, key_new, t.tbl, key_old);
        EXECUTE format('CREATE TRIGGER evp_journal_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION %s()', t.tbl, fn);
        EXECUTE format('CREATE TRIGGER evp_journal_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION %s()', t.tbl, fn);
    END LOOP;
END $do$;

-- Undoes one block: its inserted rows are deleted, its changed rows restored (as UPDATEs, so
-- readers get "update" notifications for restored rows and "delete" for removed ones).
CREATE FUNCTION evp.revert_block(blk numeric) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    keycond text;
    cols text;
    vals text;
BEGIN
    FOR t IN SELECT * FROM evp.journaled_tables LOOP
        SELECT string_agg(format('x.%I = (j.key ->> %s)::%s', k, i - 1, format_type(a.atttypid, a.atttypmod)), ' AND ')
          INTO keycond
          FROM unnest(t.keys) WITH ORDINALITY AS u(k, i)
          JOIN pg_attribute a ON a.attrelid = t.tbl::regclass AND a.attname = k;
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
               string_agg('o.' || quote_ident(attname), ', ' ORDER BY attnum)
          INTO cols, vals
          FROM pg_attribute WHERE attrelid = t.tbl::regclass AND attnum > 0 AND NOT attisdropped;
        EXECUTE format('DELETE FROM %s x USING evp.journal j '
                       'WHERE j.block_number = $1 AND j.tbl = %L AND j.old IS NULL AND %s', t.tbl, t.tbl, keycond)
          USING blk;
        EXECUTE format('UPDATE %s x SET (%s) = ROW(%s) FROM evp.journal j, jsonb_populate_record(NULL::%s, j.old) o '
                       'WHERE j.block_number = $1 AND j.tbl = %L AND j.old IS NOT NULL AND %s',
                       t.tbl, cols, vals, t.tbl, t.tbl, keycond)
          USING blk;
    END LOOP;
    DELETE FROM evp.journal WHERE block_number = blk;
END $$;

-- One md5 over every table the apply path writes and the journal: two databases (or one
-- before and after a revert) hold the same state exactly when their digests are equal.
CREATE FUNCTION evp.state_digest() RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    rows_sql text;
    digest text;
BEGIN
    SELECT string_agg(format('SELECT %L || x::text AS r FROM %s x', tbl, tbl), ' UNION ALL ')
      INTO rows_sql
      FROM (SELECT tbl FROM evp.journaled_tables UNION ALL SELECT 'evp.journal') t;
    EXECUTE format($q$SELECT md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM (%s) u$q$, rows_sql) INTO digest;
    RETURN digest;
END $$;
