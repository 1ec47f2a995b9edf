#!/usr/bin/env bash
# pg_dump of a database with state restores that state: the extension's tables (state and
# bookkeeping, the change feed) are marked with pg_extension_config_dump, so their rows travel
# with the dump (a restore records no change: the feed it loads has them), and
# the restored database goes on applying new blocks. The dump comes from PostgreSQL 15: on 15
# from the running cluster (PGHOST/PGPORT/PGUSER); on 18 from a 15 cluster of its own, with
# the 15 release package installed, dumped by 18's pg_dump and restored into 18, as a user
# moves to the new version. Creates and drops its own databases.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/common.sh"
work=$(mktemp -d /tmp/evp-dump.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
dump_bin=$PG_BIN

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
  SELECT 'blocks ' || (to_jsonb(v) - 'noted_in')::text FROM evp.blocks v UNION ALL  -- noted_in: a transaction id
  SELECT 'vault_progress ' || v::text FROM evp.vault_progress v UNION ALL
  SELECT 'lp_round_liquidity ' || v::text FROM evp.lp_round_liquidity v UNION ALL
  SELECT 'journal_pruned ' || v::text FROM evp.journal_pruned v UNION ALL
  SELECT 'journal ' || v::text FROM evp.journal v UNION ALL
  SELECT 'changes ' || v::text FROM evp.changes v UNION ALL           -- the change feed, positions and all
  SELECT 'feed_pruned ' || v::text FROM evp.feed_pruned v UNION ALL
  SELECT 'feed_consumers ' || v.name || ' ' || v.acked FROM evp.feed_consumers v UNION ALL
  SELECT 'starknet_blocks ' || v::text FROM starknet_blocks v UNION ALL
  SELECT 'events ' || v::text FROM events v) u
SQL

# The restored database still applies blocks: the triggers came back with the input tables.
# Block 690398 deposits into the fixture's vault; both databases must end equal.
read -r -d '' block <<'SQL' || true
INSERT INTO events SELECT 76, 690398, '0x1', '0x299102f0b6031c4c75c5ab971e40e122d32845f108f4951e399e73fbfde851b', name,
  ARRAY[selector, '0xabc'], '{0x5,0x0,0x5,0x0,0x1,0x1}', '0x2' FROM evp_event_kinds() WHERE name = 'Deposit';
INSERT INTO starknet_blocks VALUES (690398, '0x1', '0x0', 1703607751, 'MINED');
SQL

# The source: a database with state, its dump, its state before and after one more block.
source_side() {
    fresh_db evp_dump_src
    # A short horizon, so that part of the journal is pruned and the watermark travels too.
    q -d evp_dump_src -c "SELECT evp_consumer_create('reader')" >/dev/null
    PGOPTIONS="-c evp.journal_horizon=20" q -d evp_dump_src -f "$here/../fixtures/bad-input/chain.sql" >/dev/null
    [ "$(q -d evp_dump_src -At -c "SELECT count(*) FROM evp.journal_pruned")" = 1 ] \
        || { echo "FAIL pg_dump_restore: the journal was not pruned"; exit 1; }
    "$dump_bin/pg_dump" -Fc evp_dump_src >"$work/evp.dump"
    q -d evp_dump_src -At -c "SHOW server_version" >"$work/src.version"
    q -d evp_dump_src -At -c "$state" >"$work/src.state"
    q -d evp_dump_src -c "$block"
    q -d evp_dump_src -At -c "$state" >"$work/src.after"
    dropdb evp_dump_src
}
if [ "$PG_MAJOR" = 15 ]; then
    source_side
else
    tarball=$(EVP_PG=15 bash "$here/../../scripts/package.sh" | tail -1)
    (
        export EVP_PG=15 EVP_PORT=54363
        unset EVP_PG_CONFIG
        source "$here/../../scripts/common.sh"
        clean=$(clean_installation "$work/pg15")
        install_tarball "$tarball" "$work/unpacked" "$clean"
        use_installation "$clean"
        start_cluster 2>/dev/null
        source_side
    )
fi

dropdb --if-exists evp_dump_dst && createdb evp_dump_dst
# A clean restore: no "already exists", no duplicate history, exit status 0. Into 18, through
# the script of the dump less Debian 15's pg_attver column options, which 18 refuses
# (docs/operating.md, Backup and restore), run as pg_restore would.
if [ "$PG_MAJOR" = 15 ]; then
    restore() { pg_restore --exit-on-error -d evp_dump_dst "$work/evp.dump"; }
else
    restore() {
        pg_restore -f - "$work/evp.dump" | sed -E '/^ALTER TABLE ONLY .* ALTER COLUMN .* SET \(pg_attver=[0-9]+\);$/d' \
            | PGAPPNAME=pg_restore q -1 -d evp_dump_dst >/dev/null
    }
fi
if ! restore 2>"$work/restore.err"; then
    echo "FAIL pg_dump_restore: the restore failed"; cat "$work/restore.err"; exit 1
fi

src=$(cat "$work/src.state")
dst=$(q -d evp_dump_dst -At -c "$state")
if [ "$src" != "$dst" ]; then
    echo "FAIL pg_dump_restore: restored state differs"; diff <(echo "$src") <(echo "$dst") | head -20; exit 1
fi
rows=$(echo "$src" | wc -l)
[ "$rows" -gt 300 ] || { echo "FAIL pg_dump_restore: only $rows rows of state"; exit 1; }

q -d evp_dump_dst -c "$block"
applied=$(q -d evp_dump_dst -At -c "SELECT count(*) FROM \"Liquidity_Providers\" WHERE address = '0xabc'")
if [ "$(cat "$work/src.after")" != "$(q -d evp_dump_dst -At -c "$state")" ] || [ "$applied" != 1 ]; then
    echo "FAIL pg_dump_restore: the restored database does not apply new blocks like the original"; exit 1
fi
dropdb evp_dump_dst
echo "ok pg_dump_restore: $rows rows of state and bookkeeping from PostgreSQL $(cat "$work/src.version")" \
     "restored identically into $(q -d postgres -At -c "SHOW server_version"); new blocks apply after restore"
