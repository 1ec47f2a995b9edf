-- With the Pitch Lake indexer (SPEC 7.1 and 7.3): its own schema (driver_events, vault_registry,
-- events without from_address, starknet_blocks keyed by number alone), one INSERT per event
-- with nonce COUNT(*) + 1, a StartBlock notice beside every block row, deployment and
-- catch-up blocks without a row, reorgs as REVERTED + RevertBlock with the events kept, and
-- the new fork inserted at the same numbers.
\i tests/regress/scenario/indexer_helpers.sql
\set SHOW_CONTEXT never

-- 1. The operator registers vault 0xa11, deployed in block 100: the indexer stores round 1's
-- OptionRoundDeployed (nonce 1) and the UDC's ContractDeployed (nonce 2) of that block, with no
-- block row and no notice. Nothing is applied yet: no row above it has arrived, and in the
-- indexer's own transaction one still could.
BEGIN;
INSERT INTO vault_registry (vault_address, deployed_at) VALUES ('0xa11', t.hash(100));
SELECT t.round_deployed(100, 1, '0xc1'), t.contract_deployed(100);
COMMIT;
SELECT count(*) AS applied FROM evp.applied_blocks;
SELECT pending_blocks, waiting_for FROM evp_status;

-- 2. The first live block, 101 (a deposit), follows in the indexer's way: block 100 is applied
-- first, at its own number. Its timestamp is unknown; the contract's rule gives the deployment
-- date: round 1's auction starts 300 s (the transition period) after deployment, so round 1
-- and the vault were deployed at 1700001000 − 300 = 1700000700.
BEGIN;
SELECT t.liquidity(101, 'Deposit', '0xa', 100, 100, 100);
SELECT t.block(101);
COMMIT;
SELECT block_number, events_applied FROM evp.applied_blocks ORDER BY 1;
SELECT address, current_round, deployment_date, round_transition_period, unlocked_balance, latest_block FROM "VaultStates";
SELECT address, round_id, state, start_date, deployment_date FROM "Option_Rounds";
SELECT block_number, unlocked_balance FROM "Vault_Historic" ORDER BY 1;
SELECT * FROM t.queue();

-- 3. An empty block, 102: a row and a StartBlock. The notice finds its block applied: a
-- no-op, marked processed.
SELECT t.block(102);
SELECT * FROM t.queue();

-- 4. Vault 0xb22 is registered later: its deployment block 50 lies below the applied tip. It
-- is applied in the indexer's transaction, at block 50 (history and latest_block), event by
-- event: round 1 first, whose date waits for the vault's transition period, then the vault.
UPDATE t.config SET vault = '0xb22';
BEGIN;
INSERT INTO vault_registry (vault_address, deployed_at) VALUES ('0xb22', t.hash(50));
SELECT t.round_deployed(50, 1, '0xd1');
SELECT address, round_id, deployment_date FROM "Option_Rounds" WHERE vault_address = '0xb22';
SELECT t.contract_deployed(50);
COMMIT;
SELECT address, deployment_date, round_transition_period, latest_block FROM "VaultStates" WHERE address = '0xb22';
SELECT address, round_id, deployment_date FROM "Option_Rounds" WHERE vault_address = '0xb22';
SELECT address, block_number FROM "Vault_Historic" WHERE address = '0xb22';
UPDATE t.config SET vault = '0xa11';
SELECT t.snapshot(102);

-- 5. Block 103 (empty) and 104 (a deposit), then a reorg: the indexer reverts 104 and 103,
-- newest first, each in a transaction of its own: status REVERTED, then a RevertBlock notice.
-- The status update reverts; the notice finds nothing left to do (no error, no second
-- revert). Block 50 of vault 0xb22, applied after them, lies below and stays.
SELECT t.block(103);
SELECT t.liquidity(104, 'Deposit', '0xa', 5, 105, 105), t.block(104);
SELECT t.revert(104);
SELECT t.revert(103);
SELECT t.same_as(102) AS same_as_after_102, last_applied_block FROM evp_status;
SELECT * FROM t.queue();
-- Blocks 103 and 104 of the old fork stay REVERTED: never applied again.
SELECT evp_catchup() AS applied;
SELECT block_number, status FROM starknet_blocks WHERE block_number > 102 ORDER BY 1;

-- 6. The new fork at the same numbers. The indexer INSERTs block 103' while the REVERTED row
-- 103 holds the number: the extension removes that row first (its hash stays known), so the
-- INSERT succeeds. Nonces go on after the old fork's (COUNT(*) + 1 counts its rows too): the
-- gap changes nothing.
SELECT t.new_fork();
SELECT t.liquidity(103, 'Deposit', '0xb', 7, 7, 107), t.block(103);
SELECT t.liquidity(104, 'Withdrawal', '0xa', 50, 50, 57), t.block(104);
SELECT block_number, status, block_hash = t.hash(block_number::int) AS new_fork FROM starknet_blocks
 WHERE block_number > 102 ORDER BY 1;
SELECT block_number, block_hash = t.felt(block_number * 7919) AS old_fork_hash FROM evp.blocks WHERE state = 'reverted' ORDER BY 1;
SELECT block_number, event_nonce, event_name, block_hash = t.hash(block_number::int) AS canonical FROM events
 WHERE vault_address = '0xa11' AND block_number > 102 ORDER BY event_nonce;
SELECT vault_address, last_nonce FROM evp.vault_progress ORDER BY 1;
SELECT * FROM t.balances();
SELECT t.snapshot(104);
-- With evp.replace_reverted_blocks off, the table's key refuses a block at a REVERTED number.
SELECT t.liquidity(105, 'Deposit', '0xa', 1, 51, 58), t.block(105);
SELECT t.revert(105);
SELECT t.new_fork();
SET evp.replace_reverted_blocks = off;
INSERT INTO starknet_blocks VALUES (105, t.hash(105), t.hash(104), 1700001260, 'MINED');
RESET evp.replace_reverted_blocks;
SELECT t.same_as(104) AS same_as_104;

-- 7. A restart and its catch-up: the events of blocks 105 .. 108 (the head), but a row for
-- the first of them only, and a CatchupVault notice. Blocks 106 .. 108 have events and no
-- row; 107 has none of the vault's events.
BEGIN;
SELECT t.liquidity(105, 'Deposit', '0xc', 1, 1, 58), t.liquidity(106, 'Deposit', '0xc', 2, 3, 60),
       t.liquidity(108, 'Deposit', '0xc', 4, 7, 64);
INSERT INTO starknet_blocks VALUES (105, t.hash(105), t.hash(104), 1700001260, 'MINED');
SELECT t.driver('CatchupVault', NULL, '0xa11', t.hash(104), t.hash(105));
COMMIT;
SELECT block_number, events_applied FROM evp.applied_blocks WHERE block_number > 104 ORDER BY 1;
SELECT pending_blocks, waiting_for FROM evp_status;
-- The next live block, 109: blocks 106 and 108 go first, at their numbers. 109's parent 108
-- is then the applied tip.
SELECT t.liquidity(109, 'Deposit', '0xc', 8, 15, 72), t.block(109);
SELECT block_number, events_applied FROM evp.applied_blocks WHERE block_number > 104 ORDER BY 1;
SELECT block_number, unlocked_balance FROM "Liquidity_Providers_Historic" WHERE address = '0xc' ORDER BY 1;
SELECT * FROM t.queue();

-- 8. A catch-up whose head block 112 has no vault event: the live block 113 names a parent
-- that is neither a row nor an applied block. Its row alone waits, and evp_status() says
-- why; its StartBlock (or evp_catchup()) applies it in number order.
BEGIN;
SELECT t.liquidity(111, 'Deposit', '0xc', 1, 16, 73);
INSERT INTO starknet_blocks VALUES (110, t.hash(110), t.hash(109), 1700001320, 'MINED');
SELECT t.driver('CatchupVault', NULL, '0xa11', t.hash(109), t.hash(110));
COMMIT;
SELECT t.snapshot(110);
BEGIN;
SELECT t.liquidity(113, 'Deposit', '0xc', 1, 17, 74);
INSERT INTO starknet_blocks VALUES (113, t.hash(113), t.hash(112), 1700001356, 'MINED');
SELECT last_applied_block, pending_blocks, waiting_for FROM evp_status;
SELECT t.driver('StartBlock', t.hash(113));
SELECT last_applied_block, pending_blocks, waiting_for FROM evp_status;
COMMIT;

-- 9. A reorg through blocks without a row: the indexer reverts 113, 112 and 111. For 112 and
-- 111 it has no row: its UPDATE changes nothing and the RevertBlock notice does the work (for
-- 112, a block the extension never saw, nothing). Block 111's events are never applied again.
SELECT t.revert(113);
SELECT t.revert(112);
SELECT t.revert(111);
SELECT last_applied_block, t.same_as(110) AS same_as_after_110,
       (SELECT unlocked_balance FROM "Liquidity_Providers" WHERE address = '0xc') AS lp_0xc FROM evp_status;
SELECT evp_catchup() AS applied;
SELECT block_number FROM evp.blocks WHERE state = 'reverted' AND block_number > 110 ORDER BY 1;
SELECT * FROM t.queue();
-- A rebuild replays rows and blocks without a row in number order and ends in the same state.
SELECT evp_rebuild() AS events_applied, t.same_as(110) AS same_state;

-- 10. A restart between a reorg and the new fork: block 113 stays REVERTED (step 9), and the
-- catch-up brings the new fork's row 111 and events, none at 113. The live block 114 waits for
-- the REVERTED row's replacement, which will not come, even past its StartBlock; evp_status()
-- gives the statement that moves on.
SELECT t.new_fork();
BEGIN;
SELECT t.liquidity(111, 'Deposit', '0xc', 5, 20, 77);
INSERT INTO starknet_blocks VALUES (111, t.hash(111), t.hash(110), 1700001332, 'MINED');
SELECT t.driver('CatchupVault', NULL, '0xa11', t.hash(110), t.hash(111));
COMMIT;
SELECT t.liquidity(114, 'Deposit', '0xc', 1, 21, 78), t.block(114);
SELECT last_applied_block, pending_blocks, waiting_for FROM evp_status;
SELECT * FROM t.queue();
DELETE FROM starknet_blocks WHERE block_number <= 113 AND status = 'REVERTED';
SELECT evp_catchup() AS applied;
SELECT last_applied_block, pending_blocks, waiting_for FROM evp_status;
SELECT * FROM t.queue();
SELECT t.snapshot(114);
SELECT evp_rebuild() AS events_applied, t.same_as(114) AS same_state;

-- 11. A reorg whose notices wait for the worker (async mode): the old fork's block 116 came by
-- a catch-up (no row) and is applied; its RevertBlock notice is not handled yet when the new
-- fork's 116 arrives with a Deposit and its row. The new events are not a block of their own
-- while the old 116 holds the number, but they are 116's: once the notices are handled, the
-- old 116 is reverted and the new one applied with its Deposit (0xc: 22 after 115, then 26).
BEGIN;
SELECT t.liquidity(115, 'Deposit', '0xc', 1, 22, 79), t.liquidity(116, 'Deposit', '0xc', 1, 23, 80);
INSERT INTO starknet_blocks VALUES (115, t.hash(115), t.hash(114), 1700001380, 'MINED');
SELECT t.driver('CatchupVault', NULL, '0xa11', t.hash(114), t.hash(115));
COMMIT;
SELECT t.block(117);
SELECT block_number, events_applied FROM evp.applied_blocks WHERE block_number > 114 ORDER BY 1;
SET evp.mode = async;
SELECT t.revert(117);
SELECT t.revert(116);
SELECT t.new_fork();
BEGIN;
SELECT t.liquidity(116, 'Deposit', '0xc', 4, 26, 83);
SELECT t.block(116);
COMMIT;
RESET evp.mode;
SELECT evp_catchup() AS applied;
SELECT block_number, block_hash = t.hash(block_number::int) AS new_fork, events_applied
  FROM evp.applied_blocks WHERE block_number > 114 ORDER BY 1;
SELECT unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE address = '0xc';
SELECT * FROM t.queue();

SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events, vault_registry, driver_events;
DROP SEQUENCE driver_events_sequence;
DROP FUNCTION notify_insert_starknet_blocks, notify_revert_starknet_blocks, notify_insert_registry, notify_driver_event;
RESET client_min_messages;
