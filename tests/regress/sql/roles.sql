-- Least privilege (README, Roles and security). The Pitch Lake indexer, with rights on its own
-- tables only and a schema of look-alikes first on its search_path, writes the event-logger
-- chain (blocks without a row, driver events, reorgs, replacement blocks): every block is
-- applied exactly and not one look-alike is called with the extension's rights. A reader with
-- SELECT on the output tables reads them and evp_status(); neither role may rewrite the state
-- until the owner grants it.
\set ECHO none
\set QUIET on
\i tests/fixtures/event-logger/setup.sql
\set QUIET off
\set ECHO all
CREATE EXTENSION event_processor;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_evp_indexer;
DROP ROLE IF EXISTS regress_evp_reader;
RESET client_min_messages;
CREATE ROLE regress_evp_indexer;
GRANT SELECT, INSERT, UPDATE, DELETE ON starknet_blocks, events, driver_events, vault_registry TO regress_evp_indexer;
GRANT USAGE ON SEQUENCE driver_events_sequence, driver_events_id_seq, vault_registry_id_seq TO regress_evp_indexer;
CREATE ROLE regress_evp_reader;
GRANT SELECT ON "VaultStates", "Liquidity_Providers", "Option_Rounds", "Option_Buyers", "Bids", "Queued_Liquidity",
                "Vault_Historic", "Liquidity_Providers_Historic" TO regress_evp_reader;

-- Look-alikes of what the extension's SQL calls. Each records the role it was called with,
-- then does what the real one does.
CREATE SCHEMA hostile;
CREATE TABLE hostile.calls (what text NOT NULL, by_role text NOT NULL);
GRANT USAGE ON SCHEMA hostile TO PUBLIC;
GRANT INSERT ON hostile.calls TO PUBLIC;
CREATE FUNCTION hostile.called(what text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO hostile.calls VALUES (what, current_user) $$;
CREATE FUNCTION hostile.normalize_felt(felt text) RETURNS text LANGUAGE sql AS
    $$ SELECT hostile.called('normalize_felt'); SELECT felt $$;
CREATE FUNCTION hostile.div(a numeric, b numeric) RETURNS numeric LANGUAGE sql AS
    $$ SELECT hostile.called('div'); SELECT pg_catalog.div(a, b) $$;
CREATE FUNCTION hostile.md5(t text) RETURNS text LANGUAGE sql AS
    $$ SELECT hostile.called('md5'); SELECT pg_catalog.md5(t) $$;
CREATE FUNCTION hostile.pg_notify(channel text, payload text) RETURNS void LANGUAGE sql AS
    $$ SELECT hostile.called('pg_notify'); SELECT pg_catalog.pg_notify(channel, payload) $$;
CREATE FUNCTION hostile.unnest(a text[]) RETURNS SETOF text LANGUAGE sql AS
    $$ SELECT hostile.called('unnest'); SELECT pg_catalog.unnest(a) $$;
CREATE FUNCTION hostile.eq(a varchar, b text) RETURNS boolean LANGUAGE sql AS
    $$ SELECT hostile.called('='); SELECT a::text OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR hostile.= (LEFTARG = varchar, RIGHTARG = text, FUNCTION = hostile.eq);

-- The indexer writes the chain, in sync mode (the default).
SET ROLE regress_evp_indexer;
SET search_path = hostile, public;
\set ECHO none
\o /dev/null
\i tests/fixtures/event-logger/chain.sql
\o
\set ECHO all
RESET search_path;
RESET ROLE;
SELECT count(*) AS blocks_applied, (SELECT count(*) FROM driver_events WHERE NOT is_processed) AS notices_left
  FROM evp.applied_blocks;
\set expected tests/fixtures/event-logger/expected.json
\set history tests/fixtures/event-logger/expected_history.json
\set ECHO none
\i tests/integration/compare_fixture.sql
\set ECHO all
-- The look-alikes were in force: the indexer's own statements called them (its nonce subquery
-- compares varchar with varchar). Never with the extension owner's rights:
SELECT count(*) > 0 AS called_by_the_indexer FROM hostile.calls WHERE by_role = 'regress_evp_indexer';
SELECT what, by_role, count(*) FROM hostile.calls WHERE by_role <> 'regress_evp_indexer' GROUP BY 1, 2;

-- In async mode and with evp.mode off the indexer's inserts only note the work; the owner's
-- evp_catchup() applies it. (The Deposits' selector from the registry, as a psql variable.)
SELECT selector AS deposit FROM evp_event_kinds() WHERE name = 'Deposit' \gset
SET ROLE regress_evp_indexer;
SET search_path = hostile, public;
SET evp.mode = async;
INSERT INTO events (transaction_hash, vault_address, block_number, block_hash, event_name, event_keys, event_data, event_nonce)
VALUES ('0x1', '0x53811029cb6f16de3c7aca4d02757d71671d14b971f32053e7418eb9408cf8c', 601051, '0xb1051', 'Deposit',
        ARRAY[:'deposit', '0xa'], ARRAY['0x1', '0x0', '0x1', '0x0', '0x1', '0x0'],
        (SELECT count(*) + 1 FROM events WHERE vault_address = '0x53811029cb6f16de3c7aca4d02757d71671d14b971f32053e7418eb9408cf8c'::varchar));
INSERT INTO starknet_blocks VALUES (601051, '0xb1051', '0x3b2265250c07a2f9eee7d8465ff0ed490c6bfe56b4c26914c11ab00250a35ec',
                                    1705550000, 'MINED');
SET evp.mode = off;
INSERT INTO events (transaction_hash, vault_address, block_number, block_hash, event_name, event_keys, event_data, event_nonce)
VALUES ('0x2', '0x53811029cb6f16de3c7aca4d02757d71671d14b971f32053e7418eb9408cf8c', 601052, '0xb1052', 'Deposit',
        ARRAY[:'deposit', '0xa'], ARRAY['0x1', '0x0', '0x2', '0x0', '0x2', '0x0'],
        (SELECT count(*) + 1 FROM events WHERE vault_address = '0x53811029cb6f16de3c7aca4d02757d71671d14b971f32053e7418eb9408cf8c'::varchar));
INSERT INTO starknet_blocks VALUES (601052, '0xb1052', '0xb1051', 1705550012, 'MINED');
RESET evp.mode;
RESET search_path;
-- Neither role may rewrite the state, nor read the bookkeeping.
SELECT evp_catchup();
SELECT evp_revert_to(601050);
SELECT count(*) FROM evp.applied_blocks;
SET ROLE regress_evp_reader;
SELECT evp_rebuild();
SELECT evp_reprocess(601050);
SELECT evp.block_inserted(601051);
-- The reader reads the output tables and evp_status(), and the change feed (it may read every
-- output table); consumers are the owner's to grant.
SELECT count(*) AS vaults FROM "VaultStates";
SELECT last_applied_block, pending_blocks FROM evp_status;
SELECT count(*) > 0 AS changes, bool_and(position > 0) AS positioned FROM evp_changes(0);
SELECT evp_consumer_create('reader');
-- The indexer may not read the output tables, nor the feed: evp_changes() refuses, and a
-- direct read of evp.changes (its policy) shows nothing.
SET ROLE regress_evp_indexer;
SELECT count(*) FROM evp_changes(0);
-- Nor may it set what decides for every session: the journal's horizon, the queue limit, the
-- feed's, and the worker's (the server's configuration sets those).
SET evp.journal_horizon = 1;
SET evp.notify_queue_limit = 1;
SET evp.feed = off;
SET evp.feed_retention = 1;
SET evp.feed_max_lag = 1;
SET evp.batch_size = 1;
SELECT count(*) AS visible FROM evp.changes;
RESET ROLE;
-- The owner grants evp_catchup() to an operator role, here the indexer; it runs with the
-- owner's rights.
GRANT EXECUTE ON FUNCTION evp_catchup(integer) TO regress_evp_indexer;
SET ROLE regress_evp_indexer;
SELECT evp_catchup() AS applied;
RESET ROLE;
SELECT address, unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE address = '0xa';
SELECT what, by_role, count(*) FROM hostile.calls WHERE by_role NOT IN ('regress_evp_indexer', 'regress_evp_reader')
 GROUP BY 1, 2;

SET client_min_messages = warning;
DROP SCHEMA hostile CASCADE;
DROP OWNED BY regress_evp_indexer, regress_evp_reader;
DROP ROLE regress_evp_indexer;
DROP ROLE regress_evp_reader;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events, vault_registry, driver_events;
DROP SEQUENCE driver_events_sequence;
DROP FUNCTION notify_insert_starknet_blocks, notify_revert_starknet_blocks, notify_insert_registry, notify_driver_event;
RESET client_min_messages;
