-- Privileges (README, Roles and security). Last in the install script, when every function
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
GRANT SELECT ON evp_status TO PUBLIC;

-- The worker, waiting for CREATE EXTENSION, starts at its commit.
SELECT evp.wake_worker();
