-- The Pitch Lake indexer's way of writing (SPEC 7.1), over tests/regress/scenario/helpers.sql:
-- its own schema (driver_events, vault_registry, events without from_address, starknet_blocks
-- keyed by number alone), one INSERT per event with nonce COUNT(*) + 1, a StartBlock notice
-- beside every block row, and reorgs as REVERTED + RevertBlock with the events kept.
\set input_tables tests/fixtures/event-logger/setup.sql
\i tests/regress/scenario/helpers.sql
\set ECHO none
\set QUIET on
-- The hash of block n on the chain being built; a reorg drops the reverted ones and starts a
-- fork, whose blocks get other hashes.
CREATE TABLE t.chain (n int PRIMARY KEY, h text NOT NULL);
CREATE TABLE t.fork (id int NOT NULL);
INSERT INTO t.fork VALUES (0);
CREATE FUNCTION t.hash(blk int) RETURNS text LANGUAGE sql AS $$
    INSERT INTO t.chain SELECT blk, t.felt(blk * 7919 + 100003 * id) FROM t.fork
    ON CONFLICT (n) DO UPDATE SET h = t.chain.h RETURNING h $$;
-- The indexer's INSERT of an event (forwarded layout, the only one it stores).
CREATE OR REPLACE FUNCTION t.insert_event(blk int, name text, keys text[], data text[], emitter text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
INSERT INTO events (transaction_hash, vault_address, block_number, block_hash, event_name, event_keys, event_data, event_nonce)
SELECT t.felt(blk * 104729), c.vault, blk, t.hash(blk), name, keys, data,
       (SELECT count(*) + 1 FROM events WHERE vault_address = c.vault)
  FROM t.config c $$;
CREATE FUNCTION t.driver(kind text, hash text, vault text DEFAULT NULL, start_hash text DEFAULT NULL,
                         end_hash text DEFAULT NULL) RETURNS void LANGUAGE sql AS $$
INSERT INTO driver_events (sequence_index, type, block_hash, vault_address, start_block_hash, end_block_hash, timestamp)
VALUES (nextval('driver_events_sequence'), kind, hash, vault, start_hash, end_hash, now()) $$;
-- A live block: its row (the events were inserted before it), then its StartBlock notice.
CREATE OR REPLACE FUNCTION t.block(n int) RETURNS void LANGUAGE sql AS $$
INSERT INTO starknet_blocks VALUES (n, t.hash(n), t.hash(n - 1), 1700000000 + 12 * n, 'MINED');
SELECT t.driver('StartBlock', t.hash(n)) $$;
-- A reorg step, from the tip down: the row marked REVERTED, then the RevertBlock notice.
CREATE FUNCTION t.revert(n int) RETURNS void LANGUAGE sql AS $$
UPDATE starknet_blocks SET status = 'REVERTED' WHERE block_number = n AND block_hash = t.hash(n);
SELECT t.driver('RevertBlock', t.hash(n));
DELETE FROM t.chain WHERE chain.n = revert.n $$;
CREATE FUNCTION t.new_fork() RETURNS void LANGUAGE sql AS $$ UPDATE t.fork SET id = id + 1 $$;
CREATE FUNCTION t.queue() RETURNS TABLE (type text, processed bigint, unprocessed bigint) LANGUAGE sql AS $$
SELECT type, count(*) FILTER (WHERE is_processed), count(*) FILTER (WHERE NOT is_processed)
  FROM driver_events GROUP BY 1 ORDER BY 1 $$;
\set QUIET off
\set ECHO all
