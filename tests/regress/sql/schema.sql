-- CREATE EXTENSION in an empty database creates the input tables, the eight output tables
-- with their keys, the private bookkeeping schema, and the NOTIFY and history triggers.
CREATE EXTENSION event_processor;

-- Input tables exist and do not belong to the extension.
SELECT c.relname, d.objid IS NOT NULL AS extension_member
  FROM pg_class c LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
 WHERE c.relname IN ('starknet_blocks', 'events') ORDER BY 1;

-- Output tables, their primary keys, and whether pg_dump keeps their rows.
SELECT c.relname,
       pg_get_constraintdef(k.oid) AS key,
       c.oid = ANY (e.extconfig) AS dumped
  FROM pg_class c
  JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
  JOIN pg_extension e ON e.extname = 'event_processor'
 WHERE c.relnamespace = 'public'::regnamespace AND c.relname ~ '^[A-Z]'
 ORDER BY 1;

-- Every amount column is numeric(78,0).
SELECT DISTINCT format_type(atttypid, atttypmod) AS amount_type
  FROM pg_attribute
 WHERE attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname ~ '^[A-Z]')
   AND attname ~ '(balance|liquidity|price|options|amount|premiums|level)$';

SELECT nspname FROM pg_namespace WHERE nspname = 'evp';

-- Every table the apply path writes in place has one statement-level trigger per operation,
-- which journals its changes (for reverts) and notifies on the table's channel; the history
-- tables have none.
SELECT c.relnamespace::regnamespace AS schema, c.relname AS tbl, t.channel,
       string_agg(g.tgname, ', ' ORDER BY g.tgname) AS triggers,
       bool_or(pg_get_triggerdef(g.oid) ~ 'FOR EACH ROW') AS any_per_row
  FROM pg_class c
  LEFT JOIN evp.journaled_tables t ON t.tbl::regclass = c.oid
  LEFT JOIN pg_trigger g ON g.tgrelid = c.oid AND NOT g.tgisinternal
 WHERE c.relkind = 'r' AND (c.relnamespace = 'evp'::regnamespace AND c.relname NOT LIKE 'journal%'
                            OR c.relnamespace = 'public'::regnamespace AND c.relname ~ '^[A-Z]')
 GROUP BY 1, 2, 3 ORDER BY 1, 2;

-- The indexer's inserts, deletes and status updates drive the extension; these triggers go
-- with DROP EXTENSION (DEPENDS ON EXTENSION), the tables stay.
SELECT tgrelid::regclass AS tbl, tgname, pg_get_triggerdef(oid) ~ 'FOR EACH ROW' AS per_row,
       EXISTS (SELECT FROM pg_depend d WHERE d.objid = g.oid AND d.deptype = 'x') AS dropped_with_extension
  FROM pg_trigger g WHERE tgrelid IN ('starknet_blocks'::regclass, 'events'::regclass) ORDER BY 1, 2;

-- The journal (one table per journaled table; evp.journal shows them all): a row's image
-- before each block first wrote it, NULL for rows the block inserted. The apply path's
-- statements write it with their changes (src/apply/statements.rs); here by hand, as they do.
-- Block 7 inserts a vault, an LP and a round; block 8 updates the vault and the LP.
BEGIN;
INSERT INTO "VaultStates"(address, unlocked_balance, locked_balance, latest_block) VALUES ('0xa', 5, 4, 7);
INSERT INTO "Liquidity_Providers"(address, vault_address, unlocked_balance, latest_block) VALUES ('0xb', '0xa', 5, 7);
INSERT INTO "Option_Rounds"(address, vault_address, round_id, start_date, end_date, settlement_date, strike_price, cap_level, reserve_price)
    VALUES ('0xc', '0xa', 1, 1700001000, 1700001600, 1700001900, 0, 0, 0);
INSERT INTO evp."journal_VaultStates" (at_block, address, old) VALUES (7, '0xa', NULL);
INSERT INTO evp."journal_Liquidity_Providers" (at_block, address, vault_address, old) VALUES (7, '0xb', '0xa', NULL);
INSERT INTO evp."journal_Option_Rounds" (at_block, address, old) VALUES (7, '0xc', NULL);
INSERT INTO "Vault_Historic" VALUES ('0xa', 7, 5, 4, 0);
INSERT INTO "Liquidity_Providers_Historic" VALUES ('0xb', '0xa', 7, 5, 0, 0);
INSERT INTO evp."journal_VaultStates" (at_block, address, old) SELECT 8, v.address, v FROM "VaultStates" v;
INSERT INTO evp."journal_Liquidity_Providers" (at_block, address, vault_address, old)
    SELECT 8, l.address, l.vault_address, l FROM "Liquidity_Providers" l;
UPDATE "VaultStates" SET unlocked_balance = 6, stashed_balance = 1, latest_block = 8 WHERE address = '0xa';
UPDATE "Liquidity_Providers" SET locked_balance = 2, latest_block = 8 WHERE address = '0xb';
INSERT INTO "Vault_Historic" VALUES ('0xa', 8, 6, 4, 1);
INSERT INTO "Liquidity_Providers_Historic" VALUES ('0xb', '0xa', 8, 5, 2, 0);
COMMIT;
SELECT block_number, tbl, key, old FROM evp.journal ORDER BY seq;

-- Reverting block 8 puts back the rows as they were after block 7 and drops block 8's
-- history; reverting block 7 removes what it inserted.
SELECT evp.revert_block(8, '0x8');
SELECT address, unlocked_balance, locked_balance, stashed_balance, latest_block FROM "VaultStates";
SELECT * FROM "Liquidity_Providers";
SELECT block_number FROM "Vault_Historic" UNION ALL SELECT block_number FROM "Liquidity_Providers_Historic";
SELECT evp.revert_block(7, '0x7');
SELECT (SELECT count(*) FROM "VaultStates") + (SELECT count(*) FROM "Liquidity_Providers")
       + (SELECT count(*) FROM "Option_Rounds") + (SELECT count(*) FROM evp.journal) AS rows_left;

-- A row the apply path deleted is inserted again by the revert (no transition deletes rows
-- today; the journal covers it all the same).
INSERT INTO "Option_Rounds"(address, vault_address, round_id, state, start_date, end_date, settlement_date, strike_price, cap_level, reserve_price)
    VALUES ('0xc', '0xa', 1, 'Running', 1700001000, 1700001600, 1700001900, 0, 0, 0);
BEGIN;
INSERT INTO evp."journal_Option_Rounds" (at_block, address, old) SELECT 9, r.address, r FROM "Option_Rounds" r;
DELETE FROM "Option_Rounds";
SELECT evp.revert_block(9, '0x9');
COMMIT;
SELECT address, round_id, state FROM "Option_Rounds";

-- The change feed (sql/feed.sql) recorded all of it: the statements above by hand, without a
-- block; each revert as its marker, then its changes, with its block and reverted.
SELECT position, block_number AS block, block_hash AS hash, table_name, op, reverted, "row" ->> 'address' AS address,
       "row" ->> 'block_number' AS history_of, "row" ->> 'latest_block' AS latest_block, "row" ->> 'state' AS state
  FROM evp_changes(0) ORDER BY position;

-- The websocket server scans these into non-null types, where a NULL fails a subscription
-- (SPEC 7.2); the round amounts its views read as 0 before they are set are 0 too (SPEC 7.3).
-- None may hold NULL:
SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'public'::regnamespace AND NOT a.attnotnull AND a.attnum > 0 AND (c.relname, a.attname) IN (
       ('VaultStates', 'address'), ('VaultStates', 'current_round_address'), ('VaultStates', 'deployment_date'),
       ('VaultStates', 'fossil_client_address'), ('VaultStates', 'eth_address'), ('VaultStates', 'option_round_class_hash'),
       ('VaultStates', 'auction_duration'), ('VaultStates', 'round_duration'), ('VaultStates', 'round_transition_period'),
       ('Liquidity_Providers', 'address'), ('Liquidity_Providers', 'vault_address'),
       ('Option_Rounds', 'address'), ('Option_Rounds', 'vault_address'), ('Option_Rounds', 'state'),
       ('Option_Rounds', 'start_date'), ('Option_Rounds', 'end_date'), ('Option_Rounds', 'settlement_date'),
       ('Option_Rounds', 'deployment_date'), ('Option_Rounds', 'clearing_price'), ('Option_Rounds', 'sold_options'),
       ('Option_Rounds', 'premiums'), ('Option_Rounds', 'unsold_liquidity'), ('Option_Rounds', 'settlement_price'),
       ('Option_Rounds', 'payout_per_option'), ('Option_Rounds', 'starting_liquidity'),
       ('Option_Rounds', 'available_options'), ('Option_Rounds', 'queued_liquidity'),
       ('Option_Buyers', 'address'), ('Option_Buyers', 'round_address'), ('Option_Buyers', 'has_minted'),
       ('Option_Buyers', 'has_refunded'), ('Bids', 'buyer_address'), ('Bids', 'round_address'), ('Bids', 'bid_id'),
       ('Bids', 'tree_nonce'));

-- Round states are constrained to the four the readers know.
UPDATE "Option_Rounds" SET state = 'Closed';

DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
