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
