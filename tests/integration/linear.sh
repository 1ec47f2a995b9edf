#!/usr/bin/env bash
# Catch-up is linear in effect (issues 13 and 20), in every load order: a history of N blocks (a
# vault deployed in the first, a Deposit every 100th, the rest empty) is inserted with
# evp.mode = off, its rows first, its events first (as pg_restore loads the indexer's tables), or
# interleaved (a hundred blocks' events, then their rows, and so on), then applied by
# one evp_catchup(); what that transaction did is counted from pg_stat_xact_user_tables (rows
# read by sequential and index scans, rows written, over every table) and
# pg_stat_xact_user_functions (calls of the extension's SQL functions), and the pages of the
# extension's tables and indexes it visited (pg_statio_user_tables: a probe that walks the dead
# index entries of blocks applied earlier in the same transaction, or a join that hashes the
# whole ledger, reads no more rows, but more pages). The counts per block for
# 10,000 blocks must not exceed those for 1,000 (a scan that grows with the blocks applied
# before in the same call would make them grow tenfold). Not timed: it counts work.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"

deposit=0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2
# The history's rows of blocks $1 to $2.
rows() {
    echo "INSERT INTO starknet_blocks
SELECT b, '0x' || to_hex(b * 7919), '0x' || to_hex((b - 1) * 7919), 1700000000 + 12 * b, 'MINED'
  FROM generate_series($1, $2) b;"
}
# Its events of blocks $1 to $2 ($3: the Deposits of the whole history).
events() {
    cat <<SQL
INSERT INTO events (event_nonce, block_number, block_hash, vault_address, event_name, event_keys, event_data, transaction_hash)
SELECT n, b, '0x' || to_hex(b * 7919), '0xa11', name, keys, data, '0x1' FROM (VALUES
  (1, 1000, 'OptionRoundDeployed', '{0xd659a517d721168cbed4f7cb1abb424037bf0f34a8a22948c502429045b312}'::varchar[],
   '{0x1,0xc1,0x6553f101,0x6553f359,0x6553f485,0x0,0x0,0x0,0x0,0x0}'::varchar[]),
  (2, 1000, 'ContractDeployed', '{0x26b160f10156dea0639bec90696772c640b9706a47f5b8c52ea1abe5858b34d}',
   '{0xa11,0xde,0x1,0xc1a55,0xa,0xf0551,0xe7,0xc1a55,0x9c4,0x14d,0x12c,0x258,0x384,0x7,0x5,0x5a17}')) v(n, b, name, keys, data)
 WHERE b BETWEEN $1 AND $2
UNION ALL
SELECT 2 + k, 1000 + 100 * k, '0x' || to_hex((1000 + 100 * k) * 7919), '0xa11', 'Deposit', '{$deposit,0xb0b}',
       ARRAY['0x1', '0x0', '0x' || to_hex(k), '0x0', '0x' || to_hex(k), '0x0'], '0x1'
  FROM generate_series(1, $3) k WHERE 1000 + 100 * k BETWEEN $1 AND $2;
SQL
}

# Prints: blocks applied, rows read per block, rows written per block, function calls per block.
per_block() { # order, blocks
    local order=$1 n=$2 last=$((999 + $2)) deposits=$((($2 - 1) / 100))
    dropdb --if-exists evp_linear && createdb evp_linear
    q -d evp_linear -c "CREATE EXTENSION event_processor"
    case $order in
        rows-first) { rows 1000 $last; events 1000 $last $deposits; } ;;
        events-first) { events 1000 $last $deposits; rows 1000 $last; } ;;
        interleaved) for ((b = 1000; b <= last; b += 100)); do
                         events $b $((b + 99 < last ? b + 99 : last)) $deposits
                         rows $b $((b + 99 < last ? b + 99 : last))
                     done ;;
    esac | PGOPTIONS="-c evp.mode=off" q -d evp_linear >/dev/null
    q -d evp_linear -At -F ' ' <<'SQL'
SET track_functions = 'all';
SELECT pg_stat_reset();
BEGIN;
SELECT evp_catchup() AS applied \gset
SELECT :applied AS applied,
       round((SELECT sum(seq_tup_read + coalesce(idx_tup_fetch, 0)) FROM pg_stat_xact_user_tables) / :applied, 2) AS read,
       round((SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_xact_user_tables) / :applied, 2) AS written,
       round((SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions) / :applied, 2) AS calls \gset
COMMIT;
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT :applied, :read, :written, :calls,
       round((SELECT sum(heap_blks_hit + heap_blks_read + coalesce(idx_blks_hit + idx_blks_read, 0)) FROM pg_statio_user_tables
                WHERE schemaname = 'evp') / :applied, 2);
SQL
}

status=0
for order in rows-first events-first interleaved; do
    read -r small_n small_read small_written small_calls small_pages < <(per_block $order 1000 | tail -1)
    read -r large_n large_read large_written large_calls large_pages < <(per_block $order 10000 | tail -1)
    [ "$small_n" = 1000 ] && [ "$large_n" = 10000 ] \
        || { echo "FAIL linear ($order): applied $small_n and $large_n blocks"; status=1; continue; }
    grows() { python3 -c "import sys; sys.exit(0 if float('$2') > float('$1') * 1.05 + 0.05 else 1)"; }
    ok=yes
    for what in read written calls pages; do
        small=small_$what large=large_$what
        if grows "${!small}" "${!large}"; then
            echo "FAIL linear ($order): $what per block grow from ${!small} (1,000 blocks) to ${!large} (10,000 blocks)"
            status=1 ok=no
        fi
    done
    [ $ok = yes ] && echo "ok linear ($order): evp_catchup() per block, 1,000 vs 10,000 blocks: rows read $small_read vs" \
        "$large_read, rows written $small_written vs $large_written, function calls $small_calls vs $large_calls," \
        "pages of the extension's tables and indexes $small_pages vs $large_pages"
done
dropdb evp_linear
exit $status
