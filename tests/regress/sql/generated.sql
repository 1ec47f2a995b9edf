-- The SQL that sql/journal.sql generates at CREATE EXTENSION, one table of
-- evp.journaled_tables at a time, as the database holds it: the journal's revert, prune and
-- clear statements, its view, and the notification triggers. This file's expected output is
-- where a maintainer reads the generated SQL, and where a change to the generator shows.
CREATE EXTENSION IF NOT EXISTS event_processor;
\a
\t on

-- One journal table per journaled table, typed with its row type.
SELECT format('%s (%s)', c.oid::regclass,
              string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum))
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace = 'evp'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'journal\_%'
   AND c.relname <> 'journal_pruned'
 GROUP BY c.oid ORDER BY c.oid::regclass::text;

SELECT pg_get_functiondef('evp.revert_journal(numeric)'::regprocedure);
SELECT pg_get_functiondef('evp.prune_journal(numeric)'::regprocedure);
SELECT pg_get_functiondef('evp.clear_journaled()'::regprocedure);
SELECT pg_get_viewdef('evp.journal'::regclass, 80);

-- The notification triggers on the tables with a channel.
SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
 WHERE t.tgname LIKE 'evp\_changes\_%' ORDER BY t.tgrelid::regclass::text, t.tgname;

\t off
\a
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
