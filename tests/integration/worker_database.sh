#!/usr/bin/env bash
# The worker and its database (evp.database): while the database does not exist, one log line
# and a bounded back-off (no FATAL at every restart); once it is created, the worker starts there
# on its own. Its counters in evp_status() count for one database and one installation of the
# extension: dropping and creating either starts them again. Idle, it takes no transaction ID.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test worker_database

start_preloaded_cluster 54357 evp_later
log=$CLUSTER_DIR/server.log
sleep 6
fatal=$(grep -c 'database "evp_later" does not exist' "$log" || true)
waiting=$(grep -c 'the database "evp_later" (evp.database) does not exist; the worker waits for it' "$log" || true)
[ "$fatal" -le 1 ] && [ "$waiting" = 1 ] \
    || fail "6 s without the database: $fatal FATAL connection failures, $waiting waiting lines (expected at most 1, and 1)"
echo "ok worker_database: 6 s without evp.database: $fatal failed connection, $waiting log line saying the worker waits"
createdb evp_later
for _ in $(seq 400); do grep -q 'event_processor worker started in database evp_later' "$log" && break; sleep 0.1; done
grep -q 'event_processor worker started in database evp_later' "$log" \
    || fail "the worker did not start in the database within 40 s of its creation"
echo "ok worker_database: created, the database is served by the worker"

export PGDATABASE=evp_later
apply_blocks() { # three empty block rows, applied by the worker (async)
    q -c "CREATE EXTENSION event_processor" >/dev/null
    q -c "INSERT INTO starknet_blocks SELECT n, '0x' || n, '0x' || (n - 1), 1700000000 + n, 'MINED' FROM generate_series(1, 3) n"
    settled 30 || fail "the worker did not apply the blocks"
}
PGOPTIONS="-c evp.mode=async" apply_blocks
before=$(q -At -c "SELECT worker_blocks_applied FROM evp_status")
[ "$before" -ge 1 ] || fail "the worker's counter did not count the block: $before"
q -d postgres -c "DROP DATABASE evp_later WITH (FORCE)" -c "CREATE DATABASE evp_later"
for _ in $(seq 100); do
    grep -c 'event_processor worker started in database evp_later' "$log" | grep -qx 2 && break; sleep 0.1
done
q -c "CREATE EXTENSION event_processor" >/dev/null
sleep 1
after=$(q -At -c "SELECT worker_blocks_applied || ' ' || worker_errors FROM evp_status")
[ "$after" = "0 0" ] || fail "after the database was dropped and created, the counters read $after"
echo "ok worker_database: counters $before blocks before the database was dropped and created, then '$after' (blocks, errors)"
# An idle worker's look at the queue only reads: it takes no transaction ID (so it writes no
# WAL, and consumes no XIDs, however short evp.naptime is).
first=$(q -At -c "SELECT pg_current_xact_id()")
sleep 3
last=$(q -At -c "SELECT pg_current_xact_id()")
[ $((last - first)) -le 2 ] || fail "the idle worker took $((last - first - 1)) transaction IDs in 3 s"
echo "ok worker_database: the idle worker took $((last - first - 1)) transaction IDs in 3 s (naptime 200 ms)"
exit $status
