#!/usr/bin/env bash
# Readers get {"operation", "payload": row} on vault_update, lp_update, or_update, ob_update and
# bids_update, only for committed changes, and nothing when evp.notify = off.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"

dropdb --if-exists evp_notify && createdb evp_notify
q -d evp_notify -c "CREATE EXTENSION event_processor"
got=$(q -d evp_notify 2>&1 <<'SQL' | sed -E 's/ received from server process with PID [0-9]+\.$//'
LISTEN vault_update; LISTEN lp_update; LISTEN or_update; LISTEN ob_update; LISTEN bids_update;
INSERT INTO "VaultStates"(address, unlocked_balance, latest_block) VALUES ('0xa', 5, 7);
UPDATE "VaultStates" SET locked_balance = 3 WHERE address = '0xa';
INSERT INTO "Liquidity_Providers"(address, vault_address, unlocked_balance, latest_block) VALUES ('0xb', '0xa', 5, 7);
INSERT INTO "Option_Rounds"(address, vault_address, round_id) VALUES ('0xc', '0xa', 1);
INSERT INTO "Option_Buyers"(address, round_address) VALUES ('0xd', '0xc');
INSERT INTO "Bids"(round_address, bid_id, buyer_address, tree_nonce, amount, price) VALUES ('0xc', '0x1', '0xd', 0, 10, 2);
DELETE FROM "Bids";
BEGIN; UPDATE "VaultStates" SET locked_balance = 99; ROLLBACK;
SET evp.notify = off;
UPDATE "VaultStates" SET locked_balance = 4 WHERE address = '0xa';
RESET evp.notify;
SELECT 1 AS done;
SQL
)
read -r -d '' expected <<'OUT' || true
Asynchronous notification "vault_update" with payload "{"operation" : "insert", "payload" : {"address":"0xa","unlocked_balance":5,"locked_balance":0,"stashed_balance":0,"current_round":null,"current_round_address":null,"latest_block":7,"deployment_date":null,"fossil_client_address":null,"eth_address":null,"option_round_class_hash":null,"alpha":null,"strike_level":null,"round_transition_period":null,"auction_duration":null,"round_duration":null}}"
Asynchronous notification "vault_update" with payload "{"operation" : "update", "payload" : {"address":"0xa","unlocked_balance":5,"locked_balance":3,"stashed_balance":0,"current_round":null,"current_round_address":null,"latest_block":7,"deployment_date":null,"fossil_client_address":null,"eth_address":null,"option_round_class_hash":null,"alpha":null,"strike_level":null,"round_transition_period":null,"auction_duration":null,"round_duration":null}}"
Asynchronous notification "lp_update" with payload "{"operation" : "insert", "payload" : {"address":"0xb","vault_address":"0xa","unlocked_balance":5,"locked_balance":0,"stashed_balance":0,"latest_block":7}}"
Asynchronous notification "or_update" with payload "{"operation" : "insert", "payload" : {"address":"0xc","vault_address":"0xa","round_id":1,"state":"Open","start_date":null,"end_date":null,"settlement_date":null,"deployment_date":null,"strike_price":null,"cap_level":null,"reserve_price":null,"starting_liquidity":null,"available_options":null,"queued_liquidity":null,"clearing_price":null,"sold_options":null,"premiums":null,"unsold_liquidity":null,"settlement_price":null,"payout_per_option":null,"remaining_liquidity":null}}"
Asynchronous notification "ob_update" with payload "{"operation" : "insert", "payload" : {"address":"0xd","round_address":"0xc","mintable_options":0,"refundable_amount":0,"has_minted":false,"has_refunded":false}}"
Asynchronous notification "bids_update" with payload "{"operation" : "insert", "payload" : {"round_address":"0xc","bid_id":"0x1","buyer_address":"0xd","tree_nonce":0,"amount":10,"price":2}}"
Asynchronous notification "bids_update" with payload "{"operation" : "delete", "payload" : {"round_address":"0xc","bid_id":"0x1","buyer_address":"0xd","tree_nonce":0,"amount":10,"price":2}}"
 done 
------
    1
(1 row)
OUT
if [ "$got" != "$expected" ]; then
    echo "FAIL notify: notifications differ"; diff <(echo "$expected") <(echo "$got"); exit 1
fi
echo "ok notify: 7 notifications on 5 channels, none for a rollback or with evp.notify = off"

# A block applied, then reverted: readers see "update" for the rows it changed (restored) and
# "delete" for the rows it created (tables are reverted in name order).
got=$(q -d evp_notify 2>&1 <<'SQL' | sed -E 's/ received from server process with PID [0-9]+\.$//'
INSERT INTO events VALUES (1, 8, '0x8', '0xa', 'Deposit',
  '{0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2,0xb2}', '{0x9,0x0,0x9,0x0,0xe,0x0}', '0x1');
INSERT INTO starknet_blocks VALUES (8, '0x8', '0x7', 1700000096, 'MINED');
LISTEN vault_update; LISTEN lp_update;
DELETE FROM starknet_blocks WHERE block_number = 8;
SELECT 1 AS done;
SQL
)
read -r -d '' expected <<'OUT' || true
Asynchronous notification "lp_update" with payload "{"operation" : "delete", "payload" : {"address":"0xb2","vault_address":"0xa","unlocked_balance":9,"locked_balance":0,"stashed_balance":0,"latest_block":8}}"
Asynchronous notification "vault_update" with payload "{"operation" : "update", "payload" : {"address":"0xa","unlocked_balance":5,"locked_balance":4,"stashed_balance":0,"current_round":null,"current_round_address":null,"latest_block":7,"deployment_date":null,"fossil_client_address":null,"eth_address":null,"option_round_class_hash":null,"alpha":null,"strike_level":null,"round_transition_period":null,"auction_duration":null,"round_duration":null}}"
 done 
------
    1
(1 row)
OUT
dropdb evp_notify
if [ "$got" != "$expected" ]; then
    echo "FAIL notify: revert notifications differ"; diff <(echo "$expected") <(echo "$got"); exit 1
fi
echo "ok notify: a reverted block sends update for restored rows and delete for removed ones"
