-- The plugin's copies (SPEC 7.1, 7.3): events of a block that another transaction stored
-- again are applied once, whichever arrives first and whether the earlier copy was whole or a
-- prefix; identical events of one transaction stay distinct. (Each statement below outside
-- BEGIN … COMMIT is a transaction of its own.)
\i tests/regress/scenario/helpers.sql
\set SHOW_CONTEXT never

SELECT t.round_deployed(1, 1, '0xc1'), t.block(1);

-- 1. Before the row: block 2's two deposits stored by one transaction without the row (the
-- plugin's catch-up), then again with the row by the block's own transaction.
SELECT t.liquidity(2, 'Deposit', '0xa', 5, 5, 5), t.liquidity(2, 'Deposit', '0xb', 3, 3, 8);
BEGIN;
SELECT t.liquidity(2, 'Deposit', '0xa', 5, 5, 5), t.liquidity(2, 'Deposit', '0xb', 3, 3, 8);
SELECT t.block(2);
COMMIT;
-- 2. A prefix: the catch-up stored the first of block 3's two deposits.
SELECT t.liquidity(3, 'Deposit', '0xa', 1, 6, 9);
BEGIN;
SELECT t.liquidity(3, 'Deposit', '0xa', 1, 6, 9), t.liquidity(3, 'Deposit', '0xc', 2, 2, 11);
SELECT t.block(3);
COMMIT;
-- 3. After the row: block 4 applied with its deposit, which another transaction then stores
-- again (a late copy).
BEGIN;
SELECT t.liquidity(4, 'Deposit', '0xb', 4, 7, 15);
SELECT t.block(4);
COMMIT;
SELECT t.liquidity(4, 'Deposit', '0xb', 4, 7, 15);
-- 4. Two identical events in one transaction are two events.
BEGIN;
SELECT t.liquidity(5, 'Deposit', '0xd', 1, 1, 16), t.liquidity(5, 'Deposit', '0xd', 1, 1, 16);
SELECT t.block(5);
COMMIT;

SELECT block_number, events_applied FROM evp.applied_blocks ORDER BY block_number;
SELECT block_number, vault_address, event_nonce FROM evp.event_copies ORDER BY event_nonce;
SELECT address, unlocked_balance, latest_block FROM "Liquidity_Providers" ORDER BY address;
SELECT block_number, address, unlocked_balance FROM "Liquidity_Providers_Historic" ORDER BY block_number, address;
-- A replay decides alike: the copies are recorded.
SELECT evp_rebuild();
SELECT block_number, events_applied FROM evp.applied_blocks ORDER BY block_number;

SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
RESET client_min_messages;
