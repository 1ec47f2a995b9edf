#!/usr/bin/env bash
# The background worker, on a cluster of its own with the library preloaded: it applies history
# that was there before CREATE EXTENSION, applies async inserts without being called, ends in
# exactly the state of a sync-mode run, survives kill -9 and an immediate shutdown mid-batch
# with nothing lost or applied twice, reloads evp.batch_size on SIGHUP, reports a bad block in
# evp_status() without dying, and wakes within milliseconds of a commit.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test worker

start_preloaded_cluster 54349 evp_worker "evp.mode = 'async'" "evp.naptime = 500"
createdb evp_worker
export PGDATABASE=evp_worker

compare() { compare_fixture evp_worker "$1" || fail "$2: state differs from $1/expected.json"; } # fixture, label
# A session that LISTENs on the five channels while the worker applies what follows; reader_check
# stops it and decodes what it got as the websocket server does, then runs the server's SQL
# for fixture $1 (SPEC 7.2).
reader_start() {
    listened=$CLUSTER_DIR/async-$1.out
    { echo "LISTEN vault_update; LISTEN lp_update; LISTEN or_update; LISTEN ob_update; LISTEN bids_update;"
      for _ in $(seq 900); do echo "SELECT pg_sleep(0.1);"; done; } | q >"$listened" 2>&1 &
    listener=$!
    for _ in $(seq 100); do
        [ "$(q -At -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(0.1);'")" = 1 ] && return
        sleep 0.05
    done
}
reader_check() { # fixture
    sleep 0.5
    kill "$listener" 2>/dev/null || true
    wait "$listener" 2>/dev/null || true
    if python3 "$here/reader.py" notifications "$listened" >"$listened.check" \
       && python3 "$here/reader.py" queries evp_worker "$fixtures/$1/expected.json" >>"$listened.check"; then
        echo "ok worker: $1 as the websocket server reads it: $(grep -h '^decoded' "$listened.check")"
    else
        fail "$1: what the websocket server gets does not decode:"; grep -v '^reader problems' "$listened.check" | head -20
    fi
}
# Drops the extension and the input tables (the Pitch Lake indexer's too) of database $1.
drop_inputs() {
    q -d "$1" -c "SET client_min_messages = warning" -c "DROP EXTENSION IF EXISTS event_processor" \
        -c "DROP TABLE IF EXISTS events, starknet_blocks, vault_registry, driver_events" \
        -c "DROP SEQUENCE IF EXISTS driver_events_sequence"
}
# A sync-mode run of the same chain in another database, for the digest comparison.
sync_digest() { # fixture, [input tables file]
    fresh_db evp_sync "${2:-}"
    PGOPTIONS="-c evp.mode=sync" q -d evp_sync -f "$fixtures/$1/chain.sql" >/dev/null
    digest evp_sync
}
fresh() { # [input tables file]: an empty database state, with the extension not yet created
    drop_inputs evp_worker
    if [ -n "${1:-}" ]; then q -f "$1"; else q -f "$fixtures/input_tables_with_from_address.sql"; fi
}

# 1. History that was there before CREATE EXTENSION is applied by the worker, from the first
# block. (Every fixture is read as the websocket server reads it, too.)
fresh
q -f "$fixtures/direct/chain.sql" >/dev/null
reader_start direct
q -c "CREATE EXTENSION event_processor"
settled 60 || fail "history was not applied within 60 s"
compare direct "history before CREATE EXTENSION"
reader_check direct
expected=$(sync_digest direct "$fixtures/input_tables_with_from_address.sql")
[ "$(digest evp_worker)" = "$expected" ] || fail "history: state differs from a sync-mode run"
echo "ok worker: applied the direct chain's $(q -At -c 'SELECT count(*) FROM evp.applied_blocks') blocks of history after CREATE EXTENSION; equal to a sync run"

# 2. Async inserts, reorgs included, are applied without calling anything.
q -c "DROP EXTENSION event_processor" -c "DROP TABLE events, starknet_blocks" -c "CREATE EXTENSION event_processor"
reader_start forwarded-reorgs
q -f "$fixtures/forwarded-reorgs/chain.sql" >/dev/null
settled 60 || fail "async inserts were not applied within 60 s"
compare forwarded-reorgs "async inserts"
reader_check forwarded-reorgs
# (no input tables file: CREATE EXTENSION creates them, without from_address, as in evp_worker)
[ "$(digest evp_worker)" = "$(sync_digest forwarded-reorgs)" ] || fail "async: state differs from a sync-mode run"
echo "ok worker: async inserts of the forwarded-reorgs chain (with its reorgs) applied by the worker; equal to a sync run"
# The worker reports its writes to the statistics system when it goes idle, so that
# pg_stat_user_tables (and autovacuum) see them while it runs.
for _ in $(seq 50); do
    inserted=$(q -At -c "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'Liquidity_Providers_Historic'")
    [ "$inserted" -gt 0 ] && break
    sleep 0.1
done
[ "$inserted" -gt 0 ] || fail "the worker's writes are not in pg_stat_user_tables: n_tup_ins = $inserted"
echo "ok worker: its writes reach pg_stat_user_tables while it runs (Liquidity_Providers_Historic: $inserted rows inserted)"

# 2b. The Pitch Lake indexer's way (SPEC 7.1): its schema, blocks without a row, driver
# events, reorgs as REVERTED rows replaced by the new fork; the worker applies it all.
fresh "$fixtures/event-logger/setup.sql"
q -c "CREATE EXTENSION event_processor"
reader_start event-logger
q -f "$fixtures/event-logger/chain.sql" >/dev/null
settled 60 || fail "the event-logger chain was not applied within 60 s"
compare event-logger "async, the indexer's way"
reader_check event-logger
[ "$(q -At -c "SELECT count(*) FROM driver_events WHERE NOT is_processed")" = 0 ] \
    || fail "async, the indexer's way: driver events left unprocessed"
[ "$(digest evp_worker)" = "$(sync_digest event-logger "$fixtures/event-logger/setup.sql")" ] \
    || fail "async, the indexer's way: state differs from a sync-mode run"
echo "ok worker: the event-logger chain written the indexer's way, applied by the worker; equal to a sync run"
# 2c. The bad-input fixture's valid chain, read as the websocket server reads it.
fresh
q -c "CREATE EXTENSION event_processor"
reader_start bad-input
q -f "$fixtures/bad-input/chain.sql" >/dev/null
settled 60 || fail "the bad-input chain was not applied within 60 s"
compare bad-input "async, bad-input's valid chain"
reader_check bad-input
fresh
q -c "CREATE EXTENSION event_processor"

# 3. Commit-to-applied latency while idle (naptime is 500 ms: a wake-up by latch is far faster).
latencies=()
for i in $(seq 1 20); do
    b=$((700000 + i))
    ms=$(q -At <<SQL
INSERT INTO events SELECT 1000 + $i, $b, '0x$b', '0x18a456a0eb7e20b7688276559b2268cffa19cc0b06fc5538ce2aef88c6ce80a', name,
  ARRAY[selector, '0xabc'], '{0x1,0x0,0x$i,0x0,0x$i,0x0}', '0x1' FROM evp_event_kinds() WHERE name = 'Deposit';
INSERT INTO starknet_blocks VALUES ($b, '0x$b', '0x0', 1700000000, 'MINED');
SELECT clock_timestamp() AS t0 \gset
DO \$\$ BEGIN
    LOOP
        EXIT WHEN EXISTS (SELECT FROM evp.applied_blocks WHERE block_number = $b);
        PERFORM pg_sleep(0.0005);
    END LOOP;
END \$\$;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000, 1);
SQL
)
    latencies+=("$ms")
done
sorted=$(printf '%s\n' "${latencies[@]}" | sort -n)
echo "ok worker: commit-to-applied latency over 20 blocks, idle worker, naptime 500 ms: median $(sed -n 10p <<<"$sorted") ms, max $(tail -1 <<<"$sorted") ms"

# An event that arrives after its block was applied is noted for the worker, which applies it.
q <<'SQL'
INSERT INTO events SELECT 1021, 700001, '0x700001', '0x18a456a0eb7e20b7688276559b2268cffa19cc0b06fc5538ce2aef88c6ce80a', name,
  ARRAY[selector, '0xabc'], '{0x1,0x0,0x99,0x0,0x99,0x0}', '0x1' FROM evp_event_kinds() WHERE name = 'Deposit';
SQL
for _ in $(seq 100); do
    [ "$(q -At -c "SELECT unlocked_balance FROM \"Liquidity_Providers\" WHERE address = '0xabc'")" = 153 ] && break
    sleep 0.05
done
[ "$(q -At -c "SELECT unlocked_balance FROM \"Liquidity_Providers\" WHERE address = '0xabc'")" = 153 ] \
    || fail "a late event in async mode was not applied by the worker"
echo "ok worker: a late event for an applied block, inserted in async mode, is applied by the worker"

# 4. SIGHUP reloads evp.batch_size without a restart.
pid=$(q -At -c "SELECT worker_pid FROM evp_status")
q -c "ALTER SYSTEM SET evp.batch_size = 7" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 50); do [ "$(q -At -c 'SELECT worker_batch_size FROM evp_status')" = 7 ] && break; sleep 0.1; done
[ "$(q -At -c 'SELECT worker_batch_size FROM evp_status')" = 7 ] || fail "evp.batch_size was not reloaded"
[ "$(q -At -c 'SELECT worker_pid FROM evp_status')" = "$pid" ] || fail "the worker restarted on SIGHUP"
echo "ok worker: SIGHUP: evp.batch_size 100 -> 7 in the running worker (pid $pid unchanged)"

# 4b. Terminated outside a shutdown (pg_terminate_backend, DROP DATABASE … WITH (FORCE)), the
# worker is started again.
q -c "SELECT pg_terminate_backend($pid)" >/dev/null
for _ in $(seq 50); do
    new_pid=$(q -At -c "SELECT worker_pid FROM evp_status WHERE worker_state <> 'stopped'")
    [ -n "$new_pid" ] && [ "$new_pid" != "$pid" ] && break; sleep 0.1
done
[ -n "$new_pid" ] && [ "$new_pid" != "$pid" ] || fail "the worker did not come back after pg_terminate_backend"
echo "ok worker: terminated (pid $pid), started again (pid $new_pid)"
pid=$new_pid

# 5. A bad block does not kill the worker. Under evp.on_error = hold (the default) the worker
# holds it: evp_status() names the block, the event and the fix, and the worker is idle, not in
# error. Under abort it stays pending and its error shows as the worker's last error. Either
# way, once the indexer removes it, the worker goes on.
bad_block() {
    q <<'SQL' >/dev/null
INSERT INTO events SELECT 2000, 800000, '0xbad', '0x18a456a0eb7e20b7688276559b2268cffa19cc0b06fc5538ce2aef88c6ce80a', name,
  ARRAY[selector, '0xabc'], '{0x5g,0x0,0x5,0x0,0x5,0x0}', '0x1' FROM evp_event_kinds() WHERE name = 'Deposit';
INSERT INTO starknet_blocks VALUES (800000, '0xbad', '0x0', 1700000000, 'MINED');
SQL
}
remove_bad_block() { # label
    q -c "DELETE FROM starknet_blocks WHERE block_number = 800000" -c "DELETE FROM events WHERE block_number = 800000"
    settled 60 || fail "the worker did not recover after the bad block ($1) was removed"
    [ "$(q -At -c 'SELECT worker_pid FROM evp_status')" = "$pid" ] || fail "the worker restarted after a bad block ($1)"
}
cause='event nonce 2000 (Deposit): Deposit: data\[0\] (amount.low): "0x5g" has a non-hex character'
bad_block
for _ in $(seq 50); do [ "$(q -At -c 'SELECT held_blocks FROM evp_status')" = 1 ] && break; sleep 0.1; done
held=$(q -At -c "SELECT worker_state || ' | ' || pending_blocks || ' | ' || waiting_for FROM evp_status")
grep -q "^idle | 1 | block 800000 is held, not applied, and the blocks above it wait: vault 0x18a456a0eb7e20b7688276559b2268cffa19cc0b06fc5538ce2aef88c6ce80a, $cause" <<<"$held" \
    || fail "the held block is not in evp_status(): $held"
remove_bad_block hold
echo "ok worker: a bad block under hold: evp_status() shows '$(cut -c1-60 <<<"$held")…'; the worker goes on once it is removed"
q -c "ALTER SYSTEM SET evp.on_error = abort" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
bad_block
for _ in $(seq 50); do [ "$(q -At -c 'SELECT worker_state FROM evp_status')" = error ] && break; sleep 0.1; done
err=$(q -At -c "SELECT worker_state || ' | ' || pending_blocks || ' | ' || last_error FROM evp_status")
grep -q "^error | 1 | event_processor: block 800000, vault 0x18a456a0eb7e20b7688276559b2268cffa19cc0b06fc5538ce2aef88c6ce80a, $cause" <<<"$err" \
    || fail "the bad block's error is not in evp_status(): $err"
remove_bad_block abort
q -c "ALTER SYSTEM RESET evp.on_error" -c "SELECT pg_reload_conf()" >/dev/null
echo "ok worker: a bad block under abort: evp_status() shows '$(cut -c1-60 <<<"$err")…'; the worker (pid $pid) goes on once it is removed"

# 5b. Block numbers are numbers: five blocks that gain a digit (999998 .. 1000002), committed
# together, are applied in number order (as text, '1000000' sorts first and the worker waits).
q <<'SQL' >/dev/null
BEGIN;
INSERT INTO events SELECT n - 999997, n, '0x' || to_hex(n), '0xd1617', k.name, ARRAY[k.selector, '0xd161'],
       ARRAY['0x1', '0x0', '0x' || to_hex(n - 999997), '0x0', '0x1', '0x0'], '0x1'
  FROM generate_series(999998, 1000002) n, evp_event_kinds() k WHERE k.name = 'Deposit';
INSERT INTO starknet_blocks SELECT n, '0x' || to_hex(n), '0x' || to_hex(n - 1), 1700000000 + n, 'MINED'
  FROM generate_series(999998, 1000002) n;
COMMIT;
SQL
settled 60 || fail "blocks 999998 .. 1000002 were not applied within 60 s"
got=$(q -At -c "SELECT string_agg(block_number::text, ',' ORDER BY block_number) FROM evp.applied_blocks WHERE block_number >= 999998")
[ "$got" = 999998,999999,1000000,1000001,1000002 ] || fail "blocks 999998 .. 1000002: applied $got"
[ "$(q -At -c "SELECT unlocked_balance || '@' || latest_block FROM \"Liquidity_Providers\" WHERE address = '0xd161'")" = 5@1000002 ] \
    || fail "blocks 999998 .. 1000002: LP 0xd161 is not 5 at block 1000002"
echo "ok worker: blocks 999998 .. 1000002 applied in number order"

# 6. Crashes mid-batch: kill -9 of the worker, then an immediate shutdown of the whole cluster.
# Nothing may be lost or applied twice: the state must equal a sync run's, bookkeeping included.
q -c "ALTER SYSTEM SET evp.batch_size = 10" -c "SELECT pg_reload_conf()" >/dev/null
expected=$(sync_digest direct "$fixtures/input_tables_with_from_address.sql")
crash() { # how
    fresh
    q -f "$fixtures/direct/chain.sql" >/dev/null
    q -c "CREATE EXTENSION event_processor"
    # Wait until the worker is under way, then crash it.
    for _ in $(seq 500); do
        [ "$(q -At -c 'SELECT count(*) >= 30 FROM evp.applied_blocks')" = t ] && break
        sleep 0.01
    done
    local applied
    applied=$(q -At -c "SELECT count(*) FROM evp.applied_blocks")
    if [ "$1" = kill ]; then
        kill -9 "$(q -At -c 'SELECT worker_pid FROM evp_status')"
    else
        sudo -u postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop >/dev/null
        sudo -u postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w start >/dev/null
    fi
    for _ in $(seq 100); do q -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
    settled 60 || fail "$1: the worker did not finish after the crash"
    compare direct "after $1"
    [ "$(digest evp_worker)" = "$expected" ] || fail "$1: state differs from a sync run"
    echo "ok worker: $1 with $applied of 168 blocks applied: resumed, state equal to a sync run (nothing lost or applied twice)"
}
crash kill
crash immediate-shutdown

sudo -u postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null
grep -q "event_processor worker stopped" "$CLUSTER_DIR/server.log" || fail "the worker did not stop cleanly on SIGTERM"
echo "ok worker: stopped cleanly on SIGTERM (fast shutdown)"
exit $status
