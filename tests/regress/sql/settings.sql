-- The evp prefix is reserved, settings are read through evp.setting(), and the transaction
-- state that the apply path, the revert and the feed share lives in the library (src/xact.rs):
-- it ends with the transaction and rolls back with a subtransaction, as set_config(…, true) did.
CREATE EXTENSION IF NOT EXISTS event_processor;
SET client_min_messages = warning;

-- A misspelt setting is an error, not a placeholder nothing reads.
SET evp.notfy = off;
SELECT set_config('evp.applying_block', '1', true);
-- The real ones, with their defaults stated once (src/guc.rs).
SELECT evp.setting('evp.notify_queue_limit') AS queue_limit, evp.setting('evp.feed') AS feed,
       evp.enabled('evp.notify') AS notify;
SELECT evp.setting('evp.nope');
SET evp.notify = off;
SELECT evp.enabled('evp.notify') AS notify_off;
RESET evp.notify;

-- Notification rounds: none until the transaction notifies; each revert after that starts one.
BEGIN;
SELECT evp.notify_next_round();
SELECT length(evp.notify_padding()) AS round_at_first_notification;
SELECT evp.notify_next_round();
SELECT length(evp.notify_padding()) AS after_a_revert;
SAVEPOINT s;
SELECT evp.notify_next_round();
SELECT length(evp.notify_padding()) AS inside_the_savepoint;
ROLLBACK TO SAVEPOINT s;
SELECT length(evp.notify_padding()) AS rolled_back_with_it;
SAVEPOINT t;
SELECT evp.notify_next_round();
RELEASE SAVEPOINT t;
SELECT length(evp.notify_padding()) AS kept_when_released;
COMMIT;
SELECT length(evp.notify_padding()) AS next_transaction;

-- The block being reverted, for the change feed.
BEGIN;
SELECT evp.reverting_block() IS NULL AS none_yet;
SELECT evp.set_reverting(12, '0xab');
SELECT evp.reverting_block() AS blk, evp.reverting_hash() AS hash;
SAVEPOINT s;
SELECT evp.set_reverting(NULL, NULL);
ROLLBACK TO SAVEPOINT s;
SELECT evp.reverting_block() AS still_reverting;
COMMIT;
SELECT evp.reverting_block() IS NULL AS ended_with_the_transaction, evp.applying() AS applying;

DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
