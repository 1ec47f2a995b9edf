#!/usr/bin/env bash
# pg_dump of a database with state restores that state: the extension's tables are marked
# with pg_extension_config_dump, so their rows travel with the dump. Needs a running cluster
# (PGHOST/PGPORT/PGUSER); creates and drops its own databases.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"

dropdb --if-exists evp_dump_src && dropdb --if-exists evp_dump_dst
createdb evp_dump_src && createdb evp_dump_dst
q -d evp_dump_src >/dev/null <<'SQL'
CREATE EXTENSION event_processor;
INSERT INTO starknet_blocks VALUES (7, '0x7', '0x6', 1700000000, 'MINED');
INSERT INTO "VaultStates"(address, unlocked_balance, locked_balance, stashed_balance, latest_block, alpha, strike_level)
     VALUES ('0xa', 115792089237316195423570985008687907853269984665640564039457584007913129639935, 2, 3, 7, 2500, -7518);
INSERT INTO "Liquidity_Providers"(address, vault_address, unlocked_balance, latest_block) VALUES ('0xb', '0xa', 5, 7);
INSERT INTO "Option_Rounds"(address, vault_address, round_id, state, clearing_price) VALUES ('0xc', '0xa', 1, 'Running', 9);
INSERT INTO "Queued_Liquidity" VALUES ('0xb', '0xc', 5000, 2);
INSERT INTO "Option_Buyers" VALUES ('0xd', '0xc', 10, 0, false, true);
INSERT INTO "Bids" VALUES ('0xc', '0x1', '0xd', 0, 10, 9);
SELECT evp.record_history(7);
SQL
pg_dump -Fc evp_dump_src >"$PGHOST/evp.dump"
# A clean restore: no "already exists", no duplicate history, exit status 0.
if ! pg_restore --exit-on-error -d evp_dump_dst "$PGHOST/evp.dump" 2>"$PGHOST/restore.err"; then
    echo "FAIL pg_dump_restore: pg_restore failed"; cat "$PGHOST/restore.err"; exit 1
fi

read -r -d '' state <<'SQL' || true
SELECT string_agg(t, E'\n' ORDER BY t) FROM (
  SELECT 'VaultStates ' || v::text AS t FROM "VaultStates" v UNION ALL
  SELECT 'Liquidity_Providers ' || v::text FROM "Liquidity_Providers" v UNION ALL
  SELECT 'Option_Rounds ' || v::text FROM "Option_Rounds" v UNION ALL
  SELECT 'Queued_Liquidity ' || v::text FROM "Queued_Liquidity" v UNION ALL
  SELECT 'Option_Buyers ' || v::text FROM "Option_Buyers" v UNION ALL
  SELECT 'Bids ' || v::text FROM "Bids" v UNION ALL
  SELECT 'Vault_Historic ' || v::text FROM "Vault_Historic" v UNION ALL
  SELECT 'Liquidity_Providers_Historic ' || v::text FROM "Liquidity_Providers_Historic" v UNION ALL
  SELECT 'starknet_blocks ' || v::text FROM starknet_blocks v) u
SQL
src=$(q -d evp_dump_src -At -c "$state")
dst=$(q -d evp_dump_dst -At -c "$state")
if [ "$src" != "$dst" ]; then
    echo "FAIL pg_dump_restore: restored state differs"; diff <(echo "$src") <(echo "$dst"); cat "$PGHOST/restore.err"; exit 1
fi
rows=$(echo "$src" | wc -l)
[ "$rows" -eq 9 ] || { echo "FAIL pg_dump_restore: expected 9 rows of state, got $rows"; exit 1; }
dropdb evp_dump_src && dropdb evp_dump_dst
echo "ok pg_dump_restore: $rows rows of state restored identically"
