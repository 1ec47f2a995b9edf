-- event_processor 0.2.0 → 0.3.0: ALTER EXTENSION event_processor UPDATE runs this script.
-- A released artefact once 0.3.0 is released, never edited after: it brings the objects that
-- 0.2.0's install script made (sql/event_processor--0.2.0.sql) to what 0.3.0's makes, keeping
-- every row of state, journal and bookkeeping. The definitions below are those of 0.3.0's
-- sql/*.sql at its release; CI compares the catalog of an updated 0.2.0 (and 0.1.0, through
-- both scripts) with a fresh install (tests/integration/upgrade.sh).
\echo Use "ALTER EXTENSION event_processor UPDATE" to load this file. \quit

-- 0.3.0's changes to the objects go here, above the catch-up: it runs 0.3.0's statements.

-- Last: what the 0.3.0 library deferred while the extension was 0.2.0 (src/version.rs): in sync
-- mode the pending blocks are applied now; the worker, waiting for the update, goes on at its
-- commit. (An update from 0.1.0 runs 0.1.0--0.2.0's script first, whose own catch-up the 0.3.0
-- library leaves to this one.)
SELECT evp_catchup() WHERE coalesce(nullif(current_setting('evp.mode', true), ''), 'sync') = 'sync';
SELECT evp.wake_worker();
