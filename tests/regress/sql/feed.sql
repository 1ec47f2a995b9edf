-- The change feed (SPEC 8, sql/feed.sql): what a block, its late events, a revert and
-- evp_rebuild() record; consumers, their lag, retention, a lost consumer, a pruned position;
-- evp.feed off; who may set it. (Each statement outside BEGIN … COMMIT is a transaction.)
\i tests/regress/scenario/helpers.sql
\set SHOW_CONTEXT never
SET evp.journal_horizon = 100;   -- the journal, and the feed, are pruned at every block
SET evp.feed_retention = 2;
SET evp.feed_max_lag = 4;
CREATE FUNCTION t.changes(after bigint)
RETURNS TABLE (pos bigint, block numeric, hash text, table_name text, op text, reverted boolean, address text,
               unlocked text, history_of text)
LANGUAGE sql AS $$
SELECT position, block_number, block_hash, table_name, op, reverted, "row" ->> 'address', "row" ->> 'unlocked_balance',
       "row" ->> 'block_number'
  FROM evp_changes(after, 1000) $$;

-- Block 1 deploys round 1; two consumers start after it.
SELECT t.round_deployed(1, 1, '0xc1'), t.block(1);
SELECT * FROM t.changes(0);
SELECT evp_consumer_create('slow') AS slow_from, evp_consumer_create('fast') AS fast_from;
SELECT evp_consumer_create('fast');

-- Block 2: 0xa deposits 5. One row per row the block wrote, its net change: the vault updated,
-- the LP inserted, their history rows.
SELECT t.liquidity(2, 'Deposit', '0xa', 5, 5, 5), t.block(2);
SELECT * FROM t.changes(3);
-- Late events of block 2 (another transaction): 0xb deposits 3. The vault's row and its
-- history row were there: updates; 0xb's rows are new.
SELECT t.liquidity(2, 'Deposit', '0xb', 3, 3, 8);
SELECT * FROM t.changes(7);
SELECT evp_consumer_ack('fast', evp_feed_position());

-- Blocks 3 to 5: a deposit each; the fast consumer keeps up, the slow one does not.
SELECT t.liquidity(n, 'Deposit', '0xa', 1, 4 + n, 6 + n), t.block(n) FROM generate_series(3, 5) n;
SELECT evp_consumer_ack('fast', evp_feed_position());
SELECT name, acked, lost, lag_positions, lag_blocks, lag_seconds FROM evp_consumers();
-- The slow consumer holds every row after its position, older than evp.feed_retention or not.
SELECT min(pos), count(*) FROM t.changes(3);
-- The consumer that keeps up holds nothing: dropping the slow one leaves the last two blocks'
-- rows at the next prune.
BEGIN;
SELECT evp_consumer_drop('slow');
SELECT t.liquidity(6, 'Deposit', '0xa', 1, 11, 13), t.block(6);
SELECT min(block), count(*) FROM t.changes((SELECT upto FROM evp.feed_pruned));
ROLLBACK;

-- Blocks 6 to 9: the slow consumer falls more than evp.feed_max_lag (4) blocks behind: it is
-- lost at the prune of block 6 and holds nothing more; the fast one holds what it has not
-- acknowledged (blocks 6 and 7), evp.feed_retention the last two blocks.
SELECT t.liquidity(n, 'Deposit', '0xa', 1, 5 + n, 7 + n), t.block(n) FROM generate_series(6, 9) n;
SELECT name, acked, lost, lost_at IS NOT NULL AS lost_at FROM evp_consumers();
SELECT min(block), max(block), (SELECT upto FROM evp.feed_pruned) AS pruned_upto FROM t.changes(23);
-- Its position is gone, and it may not acknowledge any more.
SELECT * FROM t.changes(3);
SELECT evp_consumer_ack('slow', 40);
SELECT evp_consumer_ack('fast', 1000000);
SELECT evp_consumer_drop('slow');
SELECT evp_consumer_drop('slow');

-- A reorg: block 9 reverted records its marker, then its changes, reverted.
SELECT evp_feed_position() AS before_revert \gset
DELETE FROM starknet_blocks WHERE block_number = 9;
SELECT * FROM t.changes(:before_revert);

-- evp.feed off: nothing recorded (block 9 again, by another hash).
SET evp.feed = off;
SELECT t.liquidity(10, 'Deposit', '0xa', 1, 15, 17), t.block(10);
SELECT count(*) AS recorded FROM t.changes(:before_revert);
RESET evp.feed;

-- evp_rebuild(): every row deleted, outside any block, then each block's rows again.
SELECT evp_feed_position() AS before_rebuild \gset
SELECT evp_rebuild();
SELECT op, block IS NULL AS outside_blocks, count(*) FROM t.changes(:before_rebuild) GROUP BY 1, 2 ORDER BY 1, 2;

-- Only a superuser sets the feed's settings.
CREATE ROLE regress_evp_feed;
SET ROLE regress_evp_feed;
SET evp.feed = off;
SET evp.feed_max_lag = 1;
RESET ROLE;
DROP ROLE regress_evp_feed;

SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
RESET client_min_messages;
