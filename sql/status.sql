-- evp_status(): what the extension is doing, in one row. A view of the same name reads it.
-- PL/pgSQL, so that evp.worker_status() (created from Rust elsewhere in the script) is resolved
-- at run time.
CREATE FUNCTION evp_status()
RETURNS TABLE (mode text, preloaded boolean, worker_pid integer, worker_state text,
               last_applied_block numeric, newest_block numeric, lag_blocks numeric, pending_blocks bigint,
               events_applied bigint, events_ignored bigint, failed_events bigint,
               last_error text, last_failed_event text, journal_blocks bigint, journal_rows bigint,
               worker_blocks_applied bigint, worker_events_applied bigint, worker_errors bigint,
               worker_batch_size integer)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH tip AS (SELECT max(block_number) AS n FROM evp.applied_blocks),
         newest AS (SELECT max(block_number) AS n FROM public.starknet_blocks WHERE status <> 'REVERTED'),
         w AS (SELECT * FROM evp.worker_status()),
         f AS (SELECT format('block %s, vault %s, event nonce %s (%s): %s [%s]', block_number, vault_address,
                             event_nonce, event_name, reason, sqlstate) AS text, count(*) OVER () AS n
                 FROM evp.failed_events ORDER BY block_number DESC, event_nonce DESC LIMIT 1)
    SELECT current_setting('evp.mode', true), w.preloaded, w.pid, w.state,
           tip.n, newest.n, coalesce(newest.n - tip.n, newest.n),
           (SELECT count(*) FROM public.starknet_blocks b
             WHERE b.status <> 'REVERTED' AND b.block_number > coalesce(tip.n, -1))
           + (SELECT count(*) FROM evp.late_blocks),
           (SELECT coalesce(sum(a.events_applied), 0)::bigint FROM evp.applied_blocks a),
           (SELECT coalesce(sum(a.events_ignored), 0)::bigint FROM evp.applied_blocks a),
           coalesce((SELECT f.n FROM f), 0),
           w.last_error, (SELECT f.text FROM f),
           (SELECT count(DISTINCT j.at_block) FROM evp.journal_applied_blocks j), (SELECT count(*) FROM evp.journal),
           w.blocks_applied, w.events_applied, w.errors, w.batch_size
      FROM tip, newest, w;
END $$;

CREATE VIEW evp_status AS SELECT * FROM evp_status();
