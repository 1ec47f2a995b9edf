-- The driver_events queue of the service this extension replaces: StartBlock/NewBlock apply a
-- block, RevertBlock reverts it (and marks its row REVERTED), CatchupVault announces a vault's
-- backfilled events (applied as they arrive); handled rows are marked is_processed, in
-- sequence_index order. tests/regress/sql/indexer.sql has the Pitch Lake indexer's own way.
CREATE TABLE driver_events (id serial PRIMARY KEY, sequence_index bigint NOT NULL, type varchar(32) NOT NULL,
    timestamp timestamptz NOT NULL DEFAULT now(), is_processed boolean NOT NULL DEFAULT false,
    block_hash varchar(66), start_block_hash varchar(66), end_block_hash varchar(66), vault_address varchar(66));
\i tests/regress/scenario/helpers.sql
\set SHOW_CONTEXT never
CREATE FUNCTION t.driver(seq int, kind text, hash text, start_hash text DEFAULT NULL, end_hash text DEFAULT NULL,
                         vault text DEFAULT NULL) RETURNS void LANGUAGE sql AS
$$ INSERT INTO driver_events (sequence_index, type, block_hash, start_block_hash, end_block_hash, vault_address)
   VALUES (seq, kind, hash, start_hash, end_hash, vault) $$;

-- Block 1 is applied when inserted; its NewBlock notice finds it applied.
SELECT t.round_deployed(1, 1, '0xc1'), t.liquidity(1, 'Deposit', '0xa', 100, 100, 100), t.block(1);
SELECT t.driver(1, 'StartBlock', t.felt(7919));
SELECT t.snapshot(1);
-- Block 2 arrives while evp.mode is off; its NewBlock notice waits; evp_catchup() handles the
-- queue and applies the block.
SET evp.mode = off;
SELECT t.liquidity(2, 'Deposit', '0xb', 50, 50, 150), t.block(2), t.driver(2, 'NewBlock', t.felt(2 * 7919));
RESET evp.mode;
SELECT sequence_index, type, is_processed FROM driver_events ORDER BY sequence_index;
SELECT evp_catchup();
SELECT sequence_index, type, is_processed FROM driver_events ORDER BY sequence_index;
SELECT * FROM t.balances();
-- RevertBlock reverts block 2 and marks its row REVERTED, so it is not applied again.
SELECT t.driver(3, 'RevertBlock', t.felt(2 * 7919));
SELECT t.same_as(1) AS equals_block_1, (SELECT status FROM starknet_blocks WHERE block_number = 2) AS status;
SELECT evp_catchup() AS blocks_applied;
DELETE FROM events WHERE block_number = 2;
DELETE FROM starknet_blocks WHERE block_number = 2;

-- A second vault 0xa22 becomes tracked: its events are backfilled into the applied blocks 1
-- and 2. In nonce order they are applied as they arrive; CatchupVault finds nothing left.
SELECT t.liquidity(2, 'Deposit', '0xc', 9, 9, 159), t.block(2);
UPDATE t.config SET vault = '0xa22';
SELECT t.round_deployed(1, 1, '0xd1'), t.liquidity(1, 'Deposit', '0xa', 7, 7, 7), t.liquidity(2, 'Deposit', '0xb', 1, 1, 8);
SELECT t.driver(4, 'CatchupVault', NULL, t.felt(7919), t.felt(2 * 7919), '0xa22');
SELECT address, vault_address, unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE vault_address = '0xa22' ORDER BY 1;
-- A third vault 0xa33: its block-2 event (nonce 2) arrives first and is applied; its block-1
-- event (nonce 1) is backfilled later, before it, and cannot be applied in order on its own:
-- its arrival reprocesses from block 1, so both apply in nonce order, as a fresh replay
-- would. CatchupVault then finds nothing left to do.
UPDATE t.config SET vault = '0xa33';
INSERT INTO events (event_nonce, block_number, block_hash, vault_address, event_name, event_keys, event_data,
                    transaction_hash, from_address)
VALUES (2, 2, t.felt(2 * 7919), '0xa33', 'Deposit', ARRAY[t.sel('Deposit'), '0xb'], t.u256(5) || t.u256(5) || t.u256(8), '0x1', '0xa33');
INSERT INTO events (event_nonce, block_number, block_hash, vault_address, event_name, event_keys, event_data,
                    transaction_hash, from_address)
VALUES (1, 1, t.felt(7919), '0xa33', 'Deposit', ARRAY[t.sel('Deposit'), '0xa'], t.u256(3) || t.u256(3) || t.u256(3), '0x1', '0xa33');
SELECT address, unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE vault_address = '0xa33' ORDER BY 1;
SELECT t.driver(5, 'CatchupVault', NULL, t.felt(7919), t.felt(2 * 7919), '0xa33');
SELECT address, unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE vault_address = '0xa33' ORDER BY 1;
SELECT block_number, unlocked_balance FROM "Vault_Historic" WHERE address = '0xa33' ORDER BY 1;
SELECT count(*) FILTER (WHERE NOT is_processed) AS unprocessed FROM driver_events;
-- The same state as a replay from scratch.
SELECT t.snapshot(99);
SELECT evp_rebuild() > 0 AS rebuilt, t.same_as(99) AS equals_replay;

SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events, driver_events;
RESET client_min_messages;
