#!/usr/bin/env bash
# Readers get {"operation", "payload": row} on vault_update, lp_update, or_update, ob_update and
# bids_update (whose row also carries "address", the buyer, and tree_nonce as a string: SPEC
# 7.2), only for committed changes, and nothing when evp.notify = off.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"

fresh_db evp_notify
# What a reader gets for the SQL on stdin, run in evp_notify: the notifications (without the
# server's PID) and what the SQL prints, then "done".
notified() {
    { cat; echo "SELECT 'done';"; } | q -At -d evp_notify 2>&1 | sed -E 's/ received from server process with PID [0-9]+\.$//'
}
# Ends the test unless what a reader got ($2) is what stdin says; $1 names it.
expect() { # what, got
    local want
    want=$(cat)
    [ "$2" = "$want" ] && return 0
    echo "FAIL notify: $1 differ"; diff <(echo "$want") <(echo "$2"); exit 1
}
got=$(notified <<'SQL'
LISTEN vault_update; LISTEN lp_update; LISTEN or_update; LISTEN ob_update; LISTEN bids_update;
INSERT INTO "VaultStates"(address, unlocked_balance, latest_block) VALUES ('0xa', 5, 7);
UPDATE "VaultStates" SET locked_balance = 3 WHERE address = '0xa';
INSERT INTO "Liquidity_Providers"(address, vault_address, unlocked_balance, latest_block) VALUES ('0xb', '0xa', 5, 7);
INSERT INTO "Option_Rounds"(address, vault_address, round_id, start_date, end_date, settlement_date, strike_price,
                            cap_level, reserve_price)
VALUES ('0xc', '0xa', 1, 1700001000, 1700001600, 1700001900, 7, 5000, 3);
INSERT INTO "Option_Buyers"(address, round_address) VALUES ('0xd', '0xc');
INSERT INTO "Bids"(round_address, bid_id, buyer_address, tree_nonce, amount, price) VALUES ('0xc', '0x1', '0xd', 0, 10, 2);
DELETE FROM "Bids";
BEGIN; UPDATE "VaultStates" SET locked_balance = 99; ROLLBACK;
SET evp.notify = off;
UPDATE "VaultStates" SET locked_balance = 4 WHERE address = '0xa';
RESET evp.notify;
SQL
)
expect notifications "$got" <<'OUT'
Asynchronous notification "vault_update" with payload "{"operation" : "insert", "payload" : {"address":"0xa","unlocked_balance":5,"locked_balance":0,"stashed_balance":0,"current_round":0,"current_round_address":"0x0","latest_block":7,"deployment_date":0,"fossil_client_address":"0x0","eth_address":"0x0","option_round_class_hash":"0x0","alpha":0,"strike_level":0,"round_transition_period":0,"auction_duration":0,"round_duration":0}}"
Asynchronous notification "vault_update" with payload "{"operation" : "update", "payload" : {"address":"0xa","unlocked_balance":5,"locked_balance":3,"stashed_balance":0,"current_round":0,"current_round_address":"0x0","latest_block":7,"deployment_date":0,"fossil_client_address":"0x0","eth_address":"0x0","option_round_class_hash":"0x0","alpha":0,"strike_level":0,"round_transition_period":0,"auction_duration":0,"round_duration":0}}"
Asynchronous notification "lp_update" with payload "{"operation" : "insert", "payload" : {"address":"0xb","vault_address":"0xa","unlocked_balance":5,"locked_balance":0,"stashed_balance":0,"latest_block":7}}"
Asynchronous notification "or_update" with payload "{"operation" : "insert", "payload" : {"address":"0xc","vault_address":"0xa","round_id":1,"state":"Open","start_date":1700001000,"end_date":1700001600,"settlement_date":1700001900,"deployment_date":0,"strike_price":7,"cap_level":5000,"reserve_price":3,"starting_liquidity":0,"available_options":0,"queued_liquidity":0,"clearing_price":0,"sold_options":0,"premiums":0,"unsold_liquidity":0,"settlement_price":0,"payout_per_option":0,"remaining_liquidity":null}}"
Asynchronous notification "ob_update" with payload "{"operation" : "insert", "payload" : {"address":"0xd","round_address":"0xc","mintable_options":0,"refundable_amount":0,"has_minted":false,"has_refunded":false}}"
Asynchronous notification "bids_update" with payload "{"operation" : "insert", "payload" : {"round_address" : "0xc", "bid_id" : "0x1", "buyer_address" : "0xd", "address" : "0xd", "tree_nonce" : "0", "amount" : 10, "price" : 2}}"
Asynchronous notification "bids_update" with payload "{"operation" : "delete", "payload" : {"round_address" : "0xc", "bid_id" : "0x1", "buyer_address" : "0xd", "address" : "0xd", "tree_nonce" : "0", "amount" : 10, "price" : 2}}"
done
OUT
echo "ok notify: 7 notifications on 5 channels, none for a rollback or with evp.notify = off"

# A block applied, then reverted: readers see "update" for the rows it changed (restored) and
# "delete" for the rows it created (tables are reverted in name order).
got=$(notified <<'SQL'
INSERT INTO events SELECT 1, 8, '0x8', '0xa', name, ARRAY[selector, '0xb2'], '{0x9,0x0,0x9,0x0,0xe,0x0}', '0x1'
  FROM evp_event_kinds() WHERE name = 'Deposit';
INSERT INTO starknet_blocks VALUES (8, '0x8', '0x7', 1700000096, 'MINED');
LISTEN vault_update; LISTEN lp_update;
DELETE FROM starknet_blocks WHERE block_number = 8;
SQL
)
expect "revert notifications" "$got" <<'OUT'
Asynchronous notification "lp_update" with payload "{"operation" : "delete", "payload" : {"address":"0xb2","vault_address":"0xa","unlocked_balance":9,"locked_balance":0,"stashed_balance":0,"latest_block":8}}"
Asynchronous notification "vault_update" with payload "{"operation" : "update", "payload" : {"address":"0xa","unlocked_balance":5,"locked_balance":4,"stashed_balance":0,"current_round":0,"current_round_address":"0x0","latest_block":7,"deployment_date":0,"fossil_client_address":"0x0","eth_address":"0x0","option_round_class_hash":"0x0","alpha":0,"strike_level":0,"round_transition_period":0,"auction_duration":0,"round_duration":0}}"
done
OUT
echo "ok notify: a reverted block sends update for restored rows and delete for removed ones"

# Blocks 8 and 9 applied and 9 reverted in one transaction (as a worker batch can): the revert
# restores LP 0xb3 to the image block 8 sent, and PostgreSQL drops a notification that repeats
# one of its transaction. The revert's round of payloads ends in a space, so the reader's last
# message is the row as it is.
got=$(notified <<'SQL'
LISTEN lp_update;
BEGIN;
INSERT INTO events SELECT 2, 8, '0x8b', '0xa', name, ARRAY[selector, '0xb3'], '{0x1,0x0,0x1,0x0,0x6,0x0}', '0x1'
  FROM evp_event_kinds() WHERE name = 'Deposit';
INSERT INTO starknet_blocks VALUES (8, '0x8b', '0x7', 1700000096, 'MINED');
INSERT INTO events SELECT 3, 9, '0x9', '0xa', name, ARRAY[selector, '0xb3'], '{0x2,0x0,0x3,0x0,0x8,0x0}', '0x1'
  FROM evp_event_kinds() WHERE name = 'Deposit';
INSERT INTO starknet_blocks VALUES (9, '0x9', '0x8b', 1700000108, 'MINED');
DELETE FROM starknet_blocks WHERE block_number = 9;
COMMIT;
SELECT 'now: ' || row_to_json(l) FROM "Liquidity_Providers" l WHERE address = '0xb3';
SQL
)
expect "notifications after a revert in the applying transaction" "$got" <<'OUT'
Asynchronous notification "lp_update" with payload "{"operation" : "insert", "payload" : {"address":"0xb3","vault_address":"0xa","unlocked_balance":1,"locked_balance":0,"stashed_balance":0,"latest_block":8}}"
Asynchronous notification "lp_update" with payload "{"operation" : "update", "payload" : {"address":"0xb3","vault_address":"0xa","unlocked_balance":3,"locked_balance":0,"stashed_balance":0,"latest_block":9}}"
Asynchronous notification "lp_update" with payload "{"operation" : "update", "payload" : {"address":"0xb3","vault_address":"0xa","unlocked_balance":1,"locked_balance":0,"stashed_balance":0,"latest_block":8}} "
now: {"address":"0xb3","vault_address":"0xa","unlocked_balance":1,"locked_balance":0,"stashed_balance":0,"latest_block":8}
done
OUT
echo "ok notify: a block applied and reverted in one transaction leaves the reader's last message equal to the row"

# The change feed's doorbell (SPEC 8): one notification on evp_changes per transaction that
# recorded changes, at its commit, its payload the newest position; none for a rollback.
read -r before vaults < <(q -d evp_notify -At -F ' ' -c 'SELECT evp_feed_position(), count(*) FROM "VaultStates"')
got=$(notified <<'SQL'
LISTEN evp_changes;
UPDATE "VaultStates" SET locked_balance = 5;
BEGIN;
UPDATE "VaultStates" SET locked_balance = 6;
UPDATE "VaultStates" SET locked_balance = 7;
COMMIT;
BEGIN; UPDATE "VaultStates" SET locked_balance = 8; ROLLBACK;
SQL
)
dropdb evp_notify
expect "the feed's doorbell notifications" "$got" <<OUT
Asynchronous notification "evp_changes" with payload "$((before + vaults))"
Asynchronous notification "evp_changes" with payload "$((before + 3 * vaults))"
done
OUT
echo "ok notify: the feed's doorbell rings once per committed transaction with the newest position"
