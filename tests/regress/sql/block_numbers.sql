-- Block numbers are numbers (SPEC 7.3): blocks 999998 .. 1000002 gain a digit, where text
-- order ('1000000' < '999998') would stall or misorder, in every way of applying them: the
-- trigger (sync), evp_catchup() after evp.mode = off, evp_rebuild(), evp_reprocess(); the
-- worker in tests/integration/worker.sh.
\i tests/regress/scenario/helpers.sql
\set SHOW_CONTEXT never
-- A block below the tip is refused (under hold it would be kept, with a WARNING).
SET evp.on_error = abort;

-- Sync: each block deposits 1 for LP 0xa, whose balance after block n is n − 999997.
SELECT t.round_deployed(999998, 1, '0xc1'), t.liquidity(999998, 'Deposit', '0xa', 1, 1, 1), t.block(999998);
SELECT t.liquidity(n, 'Deposit', '0xa', 1, n - 999997, n - 999997), t.block(n) FROM generate_series(999999, 1000002) n;
SELECT block_number, events_applied FROM evp.applied_blocks ORDER BY block_number;
SELECT address, unlocked_balance, latest_block FROM "Liquidity_Providers";
SELECT t.snapshot(1000002);

-- A new block below the tip is refused: 999997 < 1000002 (as text it would be above).
SELECT t.block(999997);
-- Events of vault 0xb22 without a row at 999997, below the tip: applied at once, at 999997.
UPDATE t.config SET vault = '0xb22';
SELECT t.liquidity(999997, 'Deposit', '0xb', 4, 4, 4);
SELECT address, vault_address, unlocked_balance, latest_block FROM "Liquidity_Providers" ORDER BY 1;
UPDATE t.config SET vault = '0xa11';
SELECT t.snapshot(1000002);

-- evp_revert_to() reverts newest first, and evp_catchup() applies the five again in order.
SELECT evp_revert_to(999997) AS reverted;
SELECT pending_blocks FROM evp_status;
SELECT evp_catchup() AS applied, t.same_as(1000002) AS same_state;

-- Inserted while evp.mode is off: evp_catchup() applies all five, in number order.
SELECT evp_revert_to(999997) AS reverted;
DELETE FROM starknet_blocks;
SET evp.mode = off;
SELECT t.block(n) FROM generate_series(999998, 1000002) n;
RESET evp.mode;
SELECT last_applied_block, newest_block, lag_blocks, pending_blocks FROM evp_status;
SELECT evp_catchup() AS applied, t.same_as(1000002) AS same_state;

-- evp_rebuild() and evp_reprocess() replay in number order.
SELECT evp_rebuild() AS events_applied, t.same_as(1000002) AS same_state;
SELECT evp_reprocess(999999) AS events_applied, t.same_as(1000002) AS same_state;
SELECT block_number FROM evp.applied_blocks ORDER BY block_number;

SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
RESET client_min_messages;
