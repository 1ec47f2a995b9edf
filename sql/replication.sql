-- Replicas (docs/operating.md). A hot standby needs nothing: it replays the primary's state.
-- Logical replication of the output tables to another cluster needs their DDL there, and
-- pg_dump --schema-only skips an extension's member tables: evp_subscriber_ddl() gives it,
-- from the catalog, so it follows the installed version: each output table's columns with
-- their types, defaults and NOT NULL, its keys and checks, and its other indexes; and the
-- change feed's table (SPEC 8), which a subscriber's readers read directly. No trigger: a
-- subscriber applies nothing, it receives the rows.
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
