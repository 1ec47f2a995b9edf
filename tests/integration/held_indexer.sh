#!/usr/bin/env bash
# Nothing the indexer writes is lost (SPEC 7.3; evp.on_error = hold, the default), in the Pitch
# Lake indexer's style: the event-logger chain in the plugin's restart shape (plugin_restart.py),
# with a lock timeout on one block T (sync mode: another session holds the extension's lock)
# and an event that does not decode in a later block K (plugin_restart.py held), in sync and in
# async mode. No indexer transaction fails; every row it wrote is there; the state is exact up to
# the held block (the digest of the chain before K); once the bad event is deleted,
# evp_catchup() ends in the chain's expected state and history.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test held_indexer

start_preloaded_cluster 54359 evp_held
work=$CLUSTER_DIR/held
read -r t k < <(python3 "$here/plugin_restart.py" held "$fixtures/event-logger/chain.sql" "$work")
fresh() { fresh_db "$1" "$fixtures/event-logger/setup.sql"; }
counts() { q -d "$1" -At -F ' ' -c "SELECT (SELECT count(*) FROM starknet_blocks), (SELECT count(*) FROM events)"; }

# The references: the chain before K, applied; every row of the chain without the faults.
fresh evp_before_k
PGOPTIONS="-c evp.mode=sync" q -d evp_before_k -f "$work/before_k.sql" >/dev/null
before_k=$(digest evp_before_k)
fresh evp_rows
PGOPTIONS="-c evp.mode=off" q -d evp_rows -f "$work/restart.sql" >/dev/null
read -r rows events < <(counts evp_rows)

held() { # expected "number sqlstate" of the held block
    q -d evp_held -At -F ' ' -c "SELECT block_number, sqlstate FROM evp.held_blocks"
}
for mode in sync async; do
    fresh evp_held
    PGOPTIONS="-c evp.mode=$mode" q -d evp_held -f "$work/before_t.sql" >/dev/null || fail "$mode: an indexer transaction failed"
    if [ "$mode" = sync ]; then
        q -d evp_held -c "BEGIN" -c "SELECT evp_catchup(0)" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null & holder=$!
        for _ in $(seq 100); do
            [ "$(q -At -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3)'")" = 1 ] && break
            sleep 0.05
        done
        PGOPTIONS="-c evp.mode=sync -c lock_timeout=100" q -d evp_held -f "$work/t.sql" >/dev/null 2>&1 \
            || fail "sync: block $t's transaction failed on the lock timeout"
        wait "$holder"
        [ "$(held)" = "$t 55P03" ] || fail "sync: block $t is not held for the lock timeout: '$(held)'"
    else
        q -d evp_held -f "$work/t.sql" >/dev/null
    fi
    PGOPTIONS="-c evp.mode=$mode" q -d evp_held -f "$work/after_t.sql" >/dev/null 2>&1 || fail "$mode: an indexer transaction failed"
    [ "$(counts evp_held)" = "$rows $((events + 1))" ] || fail "$mode: rows and events $(counts evp_held), expected $rows $((events + 1))"
    if [ "$mode" = sync ]; then
        q -d evp_held -c "SELECT evp_catchup()" >/dev/null 2>&1
    fi
    for _ in $(seq 300); do [ "$(held)" = "$k 22000" ] && break; sleep 0.1; done
    [ "$(held)" = "$k 22000" ] || fail "$mode: block $k is not held for its bad event: '$(held)'"
    [ "$(digest evp_held)" = "$before_k" ] || fail "$mode: the state is not that of the chain before block $k"
    q -d evp_held -c "DELETE FROM events WHERE transaction_hash = '0xbad'" -c "SELECT evp_catchup()" >/dev/null
    settled 30 evp_held || fail "$mode: blocks still pending after the fix"
    compare_fixture evp_held event-logger || fail "$mode: after the fix, the state differs from expected.json"
    echo "ok held_indexer ($mode): every transaction committed ($rows block rows, $((events + 1)) events kept);" \
         "$([ "$mode" = sync ] && echo "block $t held for a lock timeout, then ")block $k held for its bad event," \
         "the state that of the chain before it; fixed, evp_catchup() ends in expected.json"
done
exit $status
