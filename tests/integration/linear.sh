#!/usr/bin/env bash
# Catch-up is linear in effect (issues 13 and 20), in every load order: a history of N blocks
# (bench/chain.py's: a vault deployed in the first, a Deposit every 100th, the rest empty) is
# inserted with evp.mode = off, its rows first, its events first (as pg_restore loads the
# indexer's tables), or interleaved (a hundred blocks' events, then their rows, and so on), then
# applied by one evp_catchup(); what that transaction did is counted from pg_stat_xact_user_tables (rows
# read by sequential and index scans, rows written, over every table) and
# pg_stat_xact_user_functions (calls of the extension's SQL functions), and the pages of the
# extension's tables and indexes it visited (pg_statio_user_tables: a probe that walks the dead
# index entries of blocks applied earlier in the same transaction, or a join that hashes the
# whole ledger, reads no more rows, but more pages). The counts per block for
# 10,000 blocks must not exceed those for 1,000 (a scan that grows with the blocks applied
# before in the same call would make them grow tenfold). And the indexer's live way, in sync
# mode: the driver_events rows read per block must not grow with the blocks before. Not timed:
# it counts work.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"

# Prints: blocks applied, rows read per block, rows written per block, function calls per block.
per_block() { # order, blocks
    fresh_db evp_linear
    python3 "$(dirname "$0")/../../bench/chain.py" history "$2" --order "$1" --batch 100 \
        | PGOPTIONS="-c evp.mode=off" q -d evp_linear >/dev/null
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

# The Pitch Lake indexer's way, live: per transaction an empty block's row, then its StartBlock
# notice in driver_events, applied in sync mode. The queue keeps one row per block ever indexed
# (processed ones included), so a look at it that scans the table costs more with each block:
# prints the blocks and the driver_events rows read per block (sequential and index scans).
indexer_per_block() { # blocks
    fresh_db evp_linear "$(dirname "$0")/../fixtures/event-logger/setup.sql"
    q -d evp_linear -At <<SQL
SELECT pg_stat_reset();
DO \$\$
BEGIN
    FOR b IN 1000 .. 999 + $1 LOOP
        INSERT INTO starknet_blocks VALUES (b, '0x' || to_hex(b * 7919), '0x' || to_hex((b - 1) * 7919), 1700000000 + 12 * b, 'MINED');
        INSERT INTO driver_events (sequence_index, type, block_hash, timestamp)
        VALUES (nextval('driver_events_sequence'), 'StartBlock', '0x' || to_hex(b * 7919), now());
        COMMIT;
    END LOOP;
END \$\$;
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT (SELECT count(*) FROM evp.blocks WHERE state = 'applied') || ' '
       || (SELECT count(*) FROM driver_events WHERE NOT is_processed) || ' '
       || round((SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE relname = 'driver_events') / $1.0, 2);
SQL
}

# Whether a count per block grows from $1 (the smaller history) to $2, beyond noise.
grows() { python3 -c "import sys; sys.exit(0 if float('$2') > float('$1') * 1.05 + 0.05 else 1)"; }

status=0
read -r small_n small_left small_read < <(indexer_per_block 1000 | tail -1)
read -r large_n large_left large_read < <(indexer_per_block 5000 | tail -1)
if [ "$small_n $small_left $large_n $large_left" != "1000 0 5000 0" ]; then
    echo "FAIL linear (indexer): applied $small_n and $large_n blocks, $small_left and $large_left notices left unprocessed"
    status=1
elif grows "$small_read" "$large_read"; then
    echo "FAIL linear (indexer): driver_events rows read per block grow from $small_read (1,000 blocks) to $large_read (5,000)"
    status=1
else
    echo "ok linear (indexer): sync, a row and a StartBlock per transaction, 1,000 vs 5,000 blocks: driver_events rows" \
        "read per block $small_read vs $large_read"
fi
for order in rows-first events-first interleaved; do
    read -r small_n small_read small_written small_calls small_pages < <(per_block $order 1000 | tail -1)
    read -r large_n large_read large_written large_calls large_pages < <(per_block $order 10000 | tail -1)
    [ "$small_n" = 1000 ] && [ "$large_n" = 10000 ] \
        || { echo "FAIL linear ($order): applied $small_n and $large_n blocks"; status=1; continue; }
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
