-- The input tables belong to the indexer: CREATE EXTENSION adopts existing ones that have the
-- columns it reads, fails naming the first missing column otherwise, and DROP EXTENSION never
-- drops them or their rows.
CREATE TABLE starknet_blocks (block_number numeric(78,0) PRIMARY KEY, block_hash varchar(66) NOT NULL,
                              parent_hash varchar(66) NOT NULL, status varchar(255) NOT NULL);
CREATE TABLE events (event_nonce bigint NOT NULL, block_number numeric(78,0) NOT NULL,
                     block_hash varchar(66) NOT NULL, vault_address varchar(255) NOT NULL,
                     event_name varchar(255) NOT NULL, event_keys varchar(256)[] NOT NULL,
                     event_data varchar(256)[] NOT NULL, transaction_hash varchar(66) NOT NULL,
                     from_address varchar(66));
\set SHOW_CONTEXT never
CREATE EXTENSION event_processor;
-- The SQLSTATE is undefined_column (42703).
DO $$ BEGIN CREATE EXTENSION event_processor;
EXCEPTION WHEN undefined_column THEN RAISE NOTICE 'undefined_column: %', SQLERRM; END $$;
-- Nothing of the failed CREATE EXTENSION remains.
SELECT count(*) FROM pg_namespace WHERE nspname = 'evp';

ALTER TABLE starknet_blocks ADD COLUMN timestamp numeric(78,0) NOT NULL DEFAULT 0;
INSERT INTO starknet_blocks VALUES (1, '0x1', '0x0', 'MINED', 1700000000);
CREATE EXTENSION event_processor;
-- Adopted, not taken over: still the indexer's tables, with their rows and extra column.
SELECT c.relname, d.objid IS NOT NULL AS extension_member
  FROM pg_class c LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
 WHERE c.relname IN ('starknet_blocks', 'events') ORDER BY 1;
SELECT attname FROM pg_attribute WHERE attrelid = 'events'::regclass AND attname = 'from_address';
-- The apply path reads events by block number: an adopted events table without an index on it
-- gets one (the indexer's, like the table: it stays after DROP EXTENSION).
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'events'::regclass;

DROP EXTENSION event_processor;
SELECT block_number, block_hash FROM starknet_blocks;
SELECT to_regclass('events') AS events, to_regclass('"VaultStates"') AS vault_states,
       to_regclass('events_block_number_idx') AS events_index;

-- Tables the extension created itself also survive DROP EXTENSION, rows included.
DROP TABLE starknet_blocks, events;
CREATE EXTENSION event_processor;
INSERT INTO starknet_blocks VALUES (2, '0x2', '0x1', 1700000012, 'MINED');
DROP EXTENSION event_processor;
SELECT block_number FROM starknet_blocks;
DROP TABLE starknet_blocks, events;
