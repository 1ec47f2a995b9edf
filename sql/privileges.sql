-- Privileges (docs/security.md). Last in the install script, when every function
-- exists. The indexer needs rights on its own tables only: the triggers it fires run the apply,
-- revert and queue paths with the extension owner's rights (SECURITY DEFINER wrappers in
-- sql/triggers.sql, search_path pinned). Readers need SELECT on the output tables, which the
-- operator grants; evp_status() runs with the owner's rights, evp_decode_event() is pure.

-- What rewrites the state is the owner's to grant (GRANT EXECUTE ON FUNCTION … TO an operator).
REVOKE EXECUTE ON FUNCTION evp_catchup(integer), evp_revert_to(numeric), evp_reprocess(numeric), evp_rebuild()
    FROM PUBLIC;
-- The extension's own: the trigger entry points, the revert and journal functions, helpers.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA evp FROM PUBLIC;
-- evp_status() is everyone's, and so is its view.
GRANT SELECT ON evp_status, evp_metrics TO PUBLIC;
-- The change feed (sql/feed.sql): evp_changes() runs as its caller, who reads evp.changes
-- under its policy (a role that may read every output table); consumers are the owner's to
-- grant, like the functions above.
GRANT USAGE ON SCHEMA evp TO PUBLIC;
GRANT EXECUTE ON FUNCTION evp.may_read_feed() TO PUBLIC;
GRANT SELECT ON evp.changes, evp.feed_pruned TO PUBLIC;
REVOKE EXECUTE ON FUNCTION evp_consumer_create(text), evp_consumer_ack(text, bigint), evp_consumer_drop(text)
    FROM PUBLIC;

-- The worker, waiting for CREATE EXTENSION, starts at its commit.
SELECT evp.wake_worker();
