-- Reorgs (SPEC section 5): reverting blocks N..k+1 leaves every table, history, bookkeeping
-- and journal exactly as after block k. t.snapshot(n) records a digest of all of them after
-- block n; t.same_as(n) compares the state now with it.
\i tests/regress/scenario/helpers.sql
\set SHOW_CONTEXT never

-- Block 1: round 1 deployed, LPs 0xa (100) and 0xb (300) deposit. Block 2: the auction starts
-- (S = 400), 0xb queues half, bids 6 @ 20 and 6 @ 15. Block 3: 10 options sold at 15 (P = 150):
-- 0xa unlocked ⌊150·100/400⌋ = 37, 0xb 112. Block 4: settlement paying 5 an option
-- (R = 350): 0xa unlocked 37 + ⌊350·100/400⌋ = 124; 0xb stashes ⌊350·150/400⌋ = 131 and keeps
-- 112 + 262 − 131 = 243; the vault 150 + 350 − 131 = 369; round 2 deployed. Block 5: a
-- deposit, and a second one that arrives after the block.
SELECT t.round_deployed(1, 1, '0xc1'), t.liquidity(1, 'Deposit', '0xa', 100, 100, 100),
       t.liquidity(1, 'Deposit', '0xb', 300, 300, 400), t.block(1), t.snapshot(1);
SELECT t.round_event(2, 'AuctionStarted', ARRAY[]::text[], t.u256(400) || t.u256(10)),
       t.queue(2, '0xb', 5000, 0, 150, 150), t.bid_placed(2, '0xd', '0xb1', 6, 20, 0),
       t.bid_placed(2, '0xe', '0xb2', 6, 15, 1), t.block(2), t.snapshot(2);
SELECT t.round_event(3, 'AuctionEnded', ARRAY[]::text[], t.u256(10) || t.u256(15) || t.u256(0) || t.felt(1)),
       t.block(3), t.snapshot(3);
SELECT t.round_event(4, 'OptionRoundSettled', ARRAY[]::text[], t.u256(30) || t.u256(5)), t.round_deployed(4, 2, '0xc2'),
       t.block(4), t.snapshot(4);
SELECT t.liquidity(5, 'Deposit', '0xa', 1, 125, 370), t.block(5);
SELECT t.liquidity(5, 'Deposit', '0xa', 2, 127, 372);
SELECT t.snapshot(5);
SELECT * FROM t.balances();
SELECT round_id, state, premiums, remaining_liquidity FROM "Option_Rounds" ORDER BY round_id;

-- DELETE of the newest block (its events stay): the late deposit goes with it.
DELETE FROM starknet_blocks WHERE block_number = 5;
SELECT t.same_as(4) AS after_delete_equals_block_4;
-- Its events are not applied again: the next block 5 is another one, with its own hash and
-- no events, and 0xa keeps its balance of block 4.
INSERT INTO starknet_blocks VALUES (5, '0x5f0', t.felt(4 * 7919), 1700000060, 'MINED');
SELECT events_applied FROM evp.applied_blocks WHERE block_number = 5;
SELECT unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE address = '0xa';
DELETE FROM starknet_blocks WHERE block_number = 5;

-- Status REVERTED on block 3 reverts the newer block 4 first, then 3: settlement, round 2's
-- deployment and the auction end are undone.
UPDATE starknet_blocks SET status = 'REVERTED' WHERE block_number = 3;
SELECT t.same_as(2) AS after_revert_equals_block_2;
SELECT round_id, state, clearing_price FROM "Option_Rounds" ORDER BY round_id;
SELECT * FROM "Option_Buyers" ORDER BY address;
-- A reverted block is never applied again while it stays REVERTED, and block 4 above it belongs
-- to the reverted fork: evp_catchup() applies neither.
SELECT evp_catchup() AS blocks_applied;
-- The indexer removes the old fork and brings another block 3: here the auction ends
-- undersubscribed at 20 (only 0xd's bid).
DELETE FROM events WHERE block_number >= 3;
DELETE FROM starknet_blocks WHERE block_number >= 3;
SELECT t.round_event(3, 'AuctionEnded', ARRAY[]::text[], t.u256(6) || t.u256(20) || t.u256(160) || t.felt(0)), t.block(3);
SELECT * FROM t.balances();
SELECT * FROM "Option_Buyers" ORDER BY address;
SELECT t.snapshot(3);

-- evp_revert_to(1) undoes blocks 3 and 2; the blocks stay in starknet_blocks, so they are
-- pending again and evp_catchup() brings the state back exactly.
SELECT evp_revert_to(1) AS reverted, t.same_as(1) AS equals_block_1;
SELECT evp_catchup() AS reapplied, t.same_as(3) AS equals_block_3;
-- evp_reprocess(2) reverts 3 and 2 and applies them again; evp_rebuild() clears everything and
-- replays every block: both end where a clean run ends.
SELECT evp_reprocess(2) AS events_applied, t.same_as(3) AS equals_block_3;
SELECT evp_rebuild() AS events_applied, t.same_as(3) AS equals_block_3;

-- The journal keeps evp.journal_horizon blocks behind the tip. Below it, a revert is refused
-- with a hint, and evp_reprocess() falls back to a rebuild.
SET evp.journal_horizon = 1;
SELECT t.liquidity(4, 'Deposit', '0xa', 1, 1, 1), t.block(4);
SELECT array_agg(DISTINCT block_number ORDER BY block_number) AS journaled_blocks FROM evp.journal;
DELETE FROM starknet_blocks WHERE block_number = 3;
SELECT evp_reprocess(2) AS events_applied_by_rebuild;
RESET evp.journal_horizon;

SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
RESET client_min_messages;
