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

-- NOTIFY triggers on the output tables.
SELECT tgrelid::regclass AS tbl, tgname, pg_get_triggerdef(oid) ~ 'FOR EACH ROW' AS per_row
  FROM pg_trigger WHERE tgname = 'evp_notify' ORDER BY 1, 2;

-- Every table the apply path writes is journaled by statement-level triggers (for reverts).
SELECT t.tbl, count(g.oid) AS journal_triggers
  FROM evp.journaled_tables t LEFT JOIN pg_trigger g ON g.tgrelid = t.tbl::regclass AND g.tgname LIKE 'evp_journal_%'
 GROUP BY 1 ORDER BY 1;

-- The indexer's inserts, deletes and status updates drive the extension; these triggers go
-- with DROP EXTENSION (DEPENDS ON EXTENSION), the tables stay.
SELECT tgrelid::regclass AS tbl, tgname, pg_get_triggerdef(oid) ~ 'FOR EACH ROW' AS per_row,
       EXISTS (SELECT FROM pg_depend d WHERE d.objid = g.oid AND d.deptype = 'x') AS dropped_with_extension
  FROM pg_trigger g WHERE tgrelid IN ('starknet_blocks'::regclass, 'events'::regclass) ORDER BY 1, 2;

-- Rows the apply path writes (the notifications they send are tested in
-- tests/integration/notify.sh, which can filter psql's process ids).
INSERT INTO "VaultStates"(address, unlocked_balance, locked_balance, latest_block) VALUES ('0xa', 5, 4, 7);
INSERT INTO "Liquidity_Providers"(address, vault_address, unlocked_balance, latest_block) VALUES ('0xb', '0xa', 5, 7);
INSERT INTO "Option_Rounds"(address, vault_address, round_id) VALUES ('0xc', '0xa', 1);

-- History: evp.record_history(block), called once per applied block, keeps one row per
-- (entity, block) with the balances at the end of that block, for inserted and updated rows.
SELECT evp.record_history(7);
UPDATE "VaultStates" SET unlocked_balance = 6, latest_block = 8 WHERE address = '0xa';
SELECT evp.record_history(8);
UPDATE "VaultStates" SET stashed_balance = 1 WHERE address = '0xa';
UPDATE "Liquidity_Providers" SET locked_balance = 2 WHERE address = '0xb';
SELECT evp.record_history(8);
SELECT * FROM "Vault_Historic" ORDER BY block_number;
SELECT * FROM "Liquidity_Providers_Historic" ORDER BY block_number;

-- Round states are constrained to the four the readers know.
UPDATE "Option_Rounds" SET state = 'Closed';

DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
