-- evp_status(): what the extension is doing, in one row. A view of the same name reads it.
-- Public: it runs with the owner's rights (search_path pinned), so readers need no grant on
-- the bookkeeping.
-- PL/pgSQL, so that evp.worker_status() and evp.waiting_for() (created from Rust elsewhere in
-- the script; the second reads the ledger with the rules the walk applies) are resolved at run
-- time. No JIT: the planner takes that function for a thousand rows, and would compile
-- the plan for 700 ms.
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
