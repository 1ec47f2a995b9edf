#!/usr/bin/env bash
# pg_dump of a database with state restores that state: the extension's tables (state and
# bookkeeping) are marked with pg_extension_config_dump, so their rows travel with the dump, and
# the restored database goes on applying new blocks. Needs a running cluster
# (PGHOST/PGPORT/PGUSER); creates and drops its own databases.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/common.sh"

dropdb --if-exists evp_dump_src && dropdb --if-exists evp_dump_dst
createdb evp_dump_src && createdb evp_dump_dst
q -d evp_dump_src -c "CREATE EXTENSION event_processor"
# A short horizon, so that part of the journal is pruned and the watermark travels too.
PGOPTIONS="-c evp.journal_horizon=20" q -d evp_dump_src -f "$here/../fixtures/bad-input/chain.sql" >/dev/null
[ "$(q -d evp_dump_src -At -c "SELECT count(*) FROM evp.journal_pruned")" = 1 ] \
    || { echo "FAIL pg_dump_restore: the journal was not pruned"; exit 1; }
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
  SELECT 'applied_blocks ' || v::text FROM evp.applied_blocks v UNION ALL
  SELECT 'vault_progress ' || v::text FROM evp.vault_progress v UNION ALL
  SELECT 'lp_round_liquidity ' || v::text FROM evp.lp_round_liquidity v UNION ALL
  SELECT 'journal_pruned ' || v::text FROM evp.journal_pruned v UNION ALL
  SELECT 'journal ' || v::text FROM evp.journal v UNION ALL
  SELECT 'starknet_blocks ' || v::text FROM starknet_blocks v UNION ALL
  SELECT 'events ' || v::text FROM events v) u
SQL
src=$(q -d evp_dump_src -At -c "$state")
dst=$(q -d evp_dump_dst -At -c "$state")
if [ "$src" != "$dst" ]; then
    echo "FAIL pg_dump_restore: restored state differs"; diff <(echo "$src") <(echo "$dst") | head -20; exit 1
fi
rows=$(echo "$src" | wc -l)
[ "$rows" -gt 300 ] || { echo "FAIL pg_dump_restore: only $rows rows of state"; exit 1; }

# The restored database still applies blocks: the triggers came back with the input tables.
# Block 690398 deposits into the fixture's vault; both databases must end equal.
read -r -d '' block <<'SQL' || true
INSERT INTO events VALUES (76, 690398, '0x1', '0x299102f0b6031c4c75c5ab971e40e122d32845f108f4951e399e73fbfde851b', 'Deposit',
  '{0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2,0xabc}', '{0x5,0x0,0x5,0x0,0x1,0x1}', '0x2');
INSERT INTO starknet_blocks VALUES (690398, '0x1', '0x0', 1703607751, 'MINED');
SQL
q -d evp_dump_src -c "$block" && q -d evp_dump_dst -c "$block"
src=$(q -d evp_dump_src -At -c "$state")
dst=$(q -d evp_dump_dst -At -c "$state")
applied=$(q -d evp_dump_dst -At -c "SELECT count(*) FROM \"Liquidity_Providers\" WHERE address = '0xabc'")
if [ "$src" != "$dst" ] || [ "$applied" != 1 ]; then
    echo "FAIL pg_dump_restore: the restored database does not apply new blocks like the original"; exit 1
fi
dropdb evp_dump_src && dropdb evp_dump_dst
echo "ok pg_dump_restore: $rows rows of state and bookkeeping restored identically; new blocks apply after restore"
