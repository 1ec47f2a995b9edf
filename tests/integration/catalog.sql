-- What event_processor put in this database's catalog, one line per fact, sorted, without
-- OIDs: its members (tables, columns, defaults, indexes, constraints, sequences, views,
-- functions with their security and settings, comments, grants), the triggers and the index
-- it made on the indexer's tables, and its pg_extension_config_dump entries. Two databases
-- whose lines are equal have the same extension schema (tests/integration/upgrade.sh compares
-- an updated older version with a fresh install).
WITH ext AS (
    SELECT oid FROM pg_extension WHERE extname = 'event_processor'
),
-- Members, and what depends on the extension without being one (ALTER … DEPENDS ON EXTENSION).
member AS (
    SELECT d.classid, d.objid, d.deptype FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype IN ('e', 'x')
),
rel AS (
    SELECT c.oid, c.oid::regclass::text AS name, c.relkind, c.reloptions, c.relacl, m.deptype
      FROM pg_class c JOIN member m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
),
-- Tables whose columns, constraints and indexes count: the extension's, and the indexer's
-- tables that carry its triggers or indexes.
tbl AS (
    SELECT oid, name FROM rel WHERE relkind IN ('r', 'p')
    UNION
    SELECT t.tgrelid, t.tgrelid::regclass::text FROM pg_trigger t
      JOIN member m ON m.classid = 'pg_trigger'::regclass AND m.objid = t.oid
    UNION
    SELECT i.indrelid, i.indrelid::regclass::text FROM pg_index i JOIN rel r ON r.oid = i.indexrelid
     WHERE r.deptype = 'x'
),
fn AS (
    SELECT p.oid::regprocedure::text AS name, p.* FROM pg_proc p
      JOIN member m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
),
facts(line) AS (
    SELECT format('schema %s owner-is-superuser=%s acl=%s', n.nspname, r.rolsuper, n.nspacl)
      FROM pg_namespace n JOIN member m ON m.classid = 'pg_namespace'::regclass AND m.objid = n.oid
      JOIN pg_roles r ON r.oid = n.nspowner
    UNION ALL
    SELECT format('relation %s kind=%s dep=%s options=%s acl=%s', name, relkind, deptype, reloptions, relacl)
      FROM rel
    -- Columns of the tables and views, in their order among the live ones (a dropped column
    -- leaves a gap in attnum).
    UNION ALL
    SELECT format('column %s #%s %s %s notnull=%s default=%s', t.name,
                  row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid))
      FROM (SELECT oid, name FROM tbl UNION SELECT oid, name FROM rel WHERE relkind = 'v') t
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT format('index %s on %s: %s', i.indexrelid::regclass, t.name,
                  regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ', ''))
      FROM tbl t JOIN pg_index i ON i.indrelid = t.oid
    UNION ALL
    SELECT format('constraint %s on %s: %s', co.conname, t.name, pg_get_constraintdef(co.oid))
      FROM tbl t JOIN pg_constraint co ON co.conrelid = t.oid
    UNION ALL
    SELECT format('trigger %s on %s: %s enabled=%s', tg.tgname, t.name,
                  regexp_replace(pg_get_triggerdef(tg.oid), '^CREATE (CONSTRAINT )?TRIGGER \S+ ', ''), tg.tgenabled)
      FROM tbl t JOIN pg_trigger tg ON tg.tgrelid = t.oid AND NOT tg.tgisinternal
    UNION ALL
    SELECT format('sequence %s start=%s increment=%s cache=%s cycle=%s', r.name, s.seqstart, s.seqincrement,
                  s.seqcache, s.seqcycle)
      FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
    UNION ALL
    SELECT format('view %s: %s', r.name, pg_get_viewdef(r.oid)) FROM rel r WHERE r.relkind = 'v'
    UNION ALL
    SELECT format('function %s returns %s lang=%s volatile=%s parallel=%s strict=%s security-definer=%s '
                  'config=%s acl=%s bin=%s src=%s', f.name, pg_get_function_result(f.oid), l.lanname,
                  f.provolatile, f.proparallel, f.proisstrict, f.prosecdef, f.proconfig, f.proacl, f.probin,
                  md5(f.prosrc))
      FROM fn f JOIN pg_language l ON l.oid = f.prolang
    UNION ALL
    SELECT format('type %s', t.oid::regtype) FROM pg_type t
      JOIN member m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
    UNION ALL
    SELECT format('comment on %s %s: %s', c.classoid::regclass, pg_describe_object(c.classoid, c.objoid, c.objsubid),
                  c.description)
      FROM pg_description c JOIN member m ON m.classid = c.classoid AND m.objid = c.objoid
    UNION ALL
    SELECT format('config_dump %s condition=%s', cfg::regclass, cond)
      FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(cfg, cond)
     WHERE e.extname = 'event_processor'
)
SELECT line FROM facts ORDER BY line COLLATE "C";
