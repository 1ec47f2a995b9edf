-- Bad or inconsistent events, pending blocks, late events and evp_catchup().
\i tests/regress/scenario/helpers.sql
\set SHOW_CONTEXT never

-- A vault with round 1 auctioning: LP 0xa locked 100, bids 0xb1 (40 @ 5, tree 0) and
-- 0xb2 (60 @ 4, tree 1).
SELECT t.round_deployed(1, 1, '0xc1');
SELECT t.liquidity(1, 'Deposit', '0xa', 100, 100, 100);
SELECT t.round_event(1, 'AuctionStarted', ARRAY[]::text[], t.u256(100) || t.u256(100));
SELECT t.bid_placed(1, '0xb', '0xb1', 40, 5, 0);
SELECT t.bid_placed(1, '0xb', '0xb2', 60, 4, 1);
SELECT t.block(1);
CREATE TABLE t.before AS SELECT * FROM t.balances();

-- Under evp.on_error = abort (for an indexer that retries) each of these fails the block's
-- transaction with an error naming block, vault, event nonce, event name and reason; nothing
-- is applied. Abort is this file's setting, but for the held blocks at its end.
SET evp.on_error = abort;
-- A round event for a round the vault does not have:
BEGIN;
SELECT t.round_event(2, 'PricingDataSet', ARRAY[]::text[], t.u256(1) || t.felt(1) || t.u256(1), 9, '0xc9');
SELECT t.block(2);
ROLLBACK;
-- An AuctionEnded whose clearing bid is not the one the bids give (0xb2, tree nonce 1):
BEGIN;
SELECT t.round_event(2, 'AuctionEnded', ARRAY[]::text[], t.u256(70) || t.u256(4) || t.u256(0) || t.felt(0));
SELECT t.block(2);
ROLLBACK;
-- Options sold that no bid asked for:
BEGIN;
SELECT t.round_event(2, 'AuctionEnded', ARRAY[]::text[], t.u256(101) || t.u256(4) || t.u256(0) || t.felt(1));
SELECT t.block(2);
ROLLBACK;
-- A transition that would make a balance negative (unsold liquidity above what is locked):
BEGIN;
SELECT t.round_event(2, 'AuctionEnded', ARRAY[]::text[], t.u256(0) || t.u256(0) || t.u256(101) || t.felt(0));
SELECT t.block(2);
ROLLBACK;
-- A BidUpdated for a bid that does not exist:
BEGIN;
SELECT t.bid_updated(2, '0xb', '0xb9', 1, 0, 2);
SELECT t.block(2);
ROLLBACK;
-- A malformed felt:
BEGIN;
SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY['0x1', '0x0', '0xZZ', '0x0', '0x1', '0x0']);
SELECT t.block(2);
ROLLBACK;
SELECT (SELECT string_agg(b::text, ';') FROM t.balances() b) = (SELECT string_agg(b::text, ';') FROM t.before b) AS state_unchanged,
       (SELECT count(*) FROM evp.applied_blocks) AS blocks_applied;

-- Under evp.on_error = skip the same events are recorded in evp.failed_events with their
-- SQLSTATE and reason, and the rest of the block is applied.
SET evp.on_error = skip;
SELECT t.round_event(2, 'PricingDataSet', ARRAY[]::text[], t.u256(1) || t.felt(1) || t.u256(1), 9, '0xc9');
SELECT t.round_event(2, 'AuctionEnded', ARRAY[]::text[], t.u256(70) || t.u256(4) || t.u256(0) || t.felt(0));
SELECT t.round_event(2, 'AuctionEnded', ARRAY[]::text[], t.u256(0) || t.u256(0) || t.u256(101) || t.felt(0));
SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY['0x1', '0x0', '0xZZ', '0x0', '0x1', '0x0']);
SELECT t.liquidity(2, 'Deposit', '0xe', 7, 7, 7);
SELECT t.block(2);
SET evp.on_error = abort;
SELECT event_nonce, event_name, sqlstate, reason FROM evp.failed_events ORDER BY event_nonce;
SELECT * FROM t.balances();
SELECT block_number, events_applied, events_ignored, events_failed FROM evp.applied_blocks ORDER BY 1;

-- A block arrives while evp.mode is off: it stays pending until the next walk of the ledger's
-- queue, here block 4's trigger, which applies both, in order (evp_catchup() finds nothing).
SET evp.mode = off;
SELECT t.liquidity(3, 'Deposit', '0xf', 3, 3, 10);
SELECT t.block(3);
RESET evp.mode;
SELECT t.liquidity(4, 'Deposit', '0xf', 1, 4, 11);
SELECT t.block(4);
SELECT block_number FROM evp.applied_blocks WHERE block_number > 2;
SELECT evp_catchup();
SELECT block_number FROM evp.applied_blocks WHERE block_number > 2;
SELECT unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE address = '0xf';

-- Events that arrive after their block was applied belong to it and are applied at once.
SELECT t.liquidity(4, 'Deposit', '0xf', 2, 6, 13);
SELECT unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE address = '0xf';
SELECT events_applied FROM evp.applied_blocks WHERE block_number = 4;

-- Blocks inserted newest first in one transaction: block 6 waits for block 5, whose insert
-- applies both, in order.
BEGIN;
SELECT t.liquidity(5, 'Deposit', '0xf', 1, 7, 14), t.liquidity(6, 'Deposit', '0xf', 1, 8, 15);
INSERT INTO starknet_blocks VALUES (6, t.felt(6 * 7919), t.felt(5 * 7919), 1700000072, 'MINED');
SELECT count(*) AS applied_after_block_6 FROM evp.applied_blocks WHERE block_number >= 5;
INSERT INTO starknet_blocks VALUES (5, t.felt(5 * 7919), t.felt(4 * 7919), 1700000060, 'MINED');
SELECT count(*) AS applied_after_block_5 FROM evp.applied_blocks WHERE block_number >= 5;
COMMIT;
SELECT unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE address = '0xf';

-- A late event of block 5, arriving after block 6 wrote the same LP: applied; the LP's history
-- row of block 5 (already there) follows the balance it leaves.
SELECT t.liquidity(5, 'Deposit', '0xf', 1, 9, 16);
SELECT block_number, unlocked_balance FROM "Liquidity_Providers_Historic" WHERE address = '0xf' ORDER BY 1;

-- A new block below the applied tip is refused: the chain must be reverted first.
SELECT t.block(0);

-- Consecutive Deposits and Withdrawals of a vault are applied by one statement. If it fails,
-- the run is applied event by event, so the error names the event that failed (here a
-- constraint added for the test rejects LP 0xbad) and, under skip, only that one is skipped.
ALTER TABLE "Liquidity_Providers" ADD CONSTRAINT t_no_bad CHECK (address <> '0xbad');
SELECT t.liquidity(7, 'Deposit', '0xd1', 1, 1, 16), t.liquidity(7, 'Deposit', '0xbad', 1, 1, 17),
       t.liquidity(7, 'Withdrawal', '0xd1', 1, 0, 16);
SELECT t.block(7);
SET evp.on_error = skip;
SELECT t.block(7);
SET evp.on_error = abort;
SELECT event_nonce, event_name, sqlstate, reason FROM evp.failed_events WHERE block_number = 7;
SELECT address, unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE address IN ('0xd1', '0xbad');
SELECT unlocked_balance FROM "VaultStates";
ALTER TABLE "Liquidity_Providers" DROP CONSTRAINT t_no_bad;

-- So are consecutive BidPlaced of a round and WithdrawalQueued of a round; here the second
-- bid repeats the first's id, so the bids' statement fails and they are applied one by one:
-- under skip only the repeated bid is recorded. The two queued withdrawals go as one
-- statement: the round's queued liquidity is the last event's.
SET evp.on_error = skip;
SELECT t.bid_placed(8, '0xb', '0xb7', 1, 1, 2), t.bid_placed(8, '0xb', '0xb7', 2, 1, 3),
       t.bid_placed(8, '0xc', '0xb8', 3, 1, 4);
SELECT t.queue(8, '0xa', 100, 0, 5, 5), t.queue(8, '0xf', 200, 0, 3, 8);
SELECT t.block(8);
SET evp.on_error = abort;
SELECT event_nonce, event_name, sqlstate, reason FROM evp.failed_events WHERE block_number = 8;
SELECT bid_id, buyer_address, tree_nonce, amount FROM "Bids" WHERE bid_id IN ('0xb7', '0xb8') ORDER BY bid_id;
SELECT address, bps, queued_liquidity FROM "Queued_Liquidity" ORDER BY address;
SELECT queued_liquidity FROM "Option_Rounds";
SELECT events_applied, events_failed FROM evp.applied_blocks WHERE block_number = 8;

-- Under evp.on_error = hold (the default, for an indexer that never retries) a block that
-- fails is rolled back and held, and the indexer's transaction commits: its rows are kept,
-- the blocks above it wait, evp_status() names the block, the event, the cause and the fix.
RESET evp.on_error;
SHOW evp.on_error;
SELECT t.liquidity(9, 'Deposit', '0xa', 1, 1, 16);
SELECT t.emit(9, 'Deposit', ARRAY['0xa'], ARRAY['0x1', '0x0', '0xZZ', '0x0', '0x1', '0x0']);
SELECT t.block(9);
SELECT t.block(10);
SELECT block_number, event_nonce, event_name, sqlstate, reason FROM evp.held_blocks;
SELECT last_applied_block, newest_block, pending_blocks, held_blocks, waiting_for FROM evp_status();
SELECT count(*) AS rows_kept FROM starknet_blocks WHERE block_number IN (9, 10);
SELECT latest_block FROM "VaultStates";
-- The event corrected, evp_catchup() applies the held block and those above it.
UPDATE events SET event_data[3] = '0x1' WHERE block_number = 9 AND event_data[3] = '0xZZ';
SELECT evp_catchup();
SELECT last_applied_block, pending_blocks, held_blocks, waiting_for FROM evp_status();
SELECT address, unlocked_balance, latest_block FROM "Liquidity_Providers" WHERE address = '0xa';
-- Skipped on purpose: the held block's bad event is recorded in evp.failed_events, the rest of
-- the block applied.
SELECT t.liquidity(11, 'Deposit', '0xa', 1, 2, 17);
SELECT t.emit(11, 'Deposit', ARRAY['0xa'], ARRAY['0x1', '0x0', '0xZZ', '0x0', '0x1', '0x0']);
SELECT t.block(11);
SELECT t.block(12);
BEGIN;
SET LOCAL evp.on_error = 'skip';
SELECT evp_catchup(1);
COMMIT;
SELECT event_nonce, event_name, reason FROM evp.failed_events WHERE block_number = 11;
SELECT last_applied_block, pending_blocks, held_blocks FROM evp_status();
SELECT evp_catchup();
SELECT last_applied_block, pending_blocks, held_blocks FROM evp_status();
-- A block row at or below the applied tip is kept, with a WARNING, and waits for a revert.
SELECT t.block(0);
SELECT count(*) AS kept FROM starknet_blocks WHERE block_number = 0;
-- A transaction that writes blocks in more than 256 statements (a backfill, not the indexer's
-- one block a transaction): the blocks of its later statements are applied after it commits,
-- here by the next block's transaction.
DO $$ BEGIN FOR n IN 13..312 LOOP PERFORM t.block(n); END LOOP; END $$;
SELECT last_applied_block, pending_blocks FROM evp_status();
SELECT t.block(313);
SELECT last_applied_block, pending_blocks FROM evp_status();

SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
RESET client_min_messages;
