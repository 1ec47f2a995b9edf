#!/usr/bin/env bash
# The soak (issue 12): a chain of four vaults with random reorgs (soak_chain.py), written by an
# indexer in async mode and applied by the worker while one reader LISTENs and another queries
# the state in a loop, bounded in time; twice: with every reorg style of SPEC 1, and as the Pitch
# Lake indexer writes (SPEC 7.1: its schema, COUNT(*) + 1 nonces, StartBlock and RevertBlock
# notices, restarts with their catch-up, the deployment block without a row). Each must end in
# the state of a clean sync run of the chain it settles on (evp.state_digest()), with no error,
# no skipped notification, every driver event processed, and each row's last notification
# equal to the row. EVP_SOAK_ROUNDS sets its length (300 rounds: 2,401 blocks); EVP_SOAK_SEED
# its reorgs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/common.sh"
status=0

soak() { # style: spec or indexer
    local style=$1
    fail() { echo "FAIL soak ($style): $*"; status=1; }
    start_preloaded_cluster 54353 evp_soak
    local tables=$here/../fixtures/input_tables_with_from_address.sql
    [ "$style" = indexer ] && tables=$here/../fixtures/event-logger/setup.sql
    for db in evp_soak evp_final; do
        createdb "$db"
        q -d "$db" -f "$tables" -c "CREATE EXTENSION event_processor"
    done
    local work=$CLUSTER_DIR/soak
    local figures
    figures=$(python3 "$here/soak_chain.py" "$work" "${EVP_SOAK_ROUNDS:-300}" "${EVP_SOAK_SEED:-1}" "$style")
    PGOPTIONS="-c evp.mode=sync" q -d evp_final -f "$work/final.sql" >/dev/null
    export PGDATABASE=evp_soak

    stop=$work/stop
    { echo "LISTEN vault_update; LISTEN lp_update; LISTEN or_update; LISTEN ob_update; LISTEN bids_update;"
      while [ ! -e "$stop" ]; do echo "SELECT pg_sleep(0.05);"; sleep 0.05; done; } | q >"$work/listened" 2>&1 &
    listener=$!
    queries=0
    ( while [ ! -e "$stop" ]; do
          q -At -c 'SELECT count(*), sum(unlocked_balance + locked_balance) FROM "Liquidity_Providers"' \
                -c 'SELECT count(*) FROM "Bids"' -c 'SELECT pending_blocks FROM evp_status' >/dev/null || exit 1
          queries=$((queries + 1))
      done; echo "$queries" >"$work/queries" ) &
    querier=$!

    started=$(date +%s)
    PGOPTIONS="-c evp.mode=async" timeout 900 psql -X -q -v ON_ERROR_STOP=1 -f "$work/soak.sql" >/dev/null \
        || fail "the indexer's stream failed"
    settled 300 || fail "blocks still pending after 300 s"
    elapsed=$(($(date +%s) - started))
    sleep 0.5
    touch "$stop"
    wait "$listener" || true
    wait "$querier" || fail "a reader's query failed"
    unset PGDATABASE

    read -r errors skipped last_error < <(q -d evp_soak -At -F ' ' -c "SELECT worker_errors + failed_events,
        coalesce(notifications_skipped, 0), coalesce(last_error, '-') FROM evp_status")
    [ "$errors" = 0 ] && [ "$last_error" = - ] || fail "errors reported: $errors ($last_error)"
    [ "$skipped" = 0 ] || fail "$skipped notifications were skipped"
    [ "$(digest evp_soak)" = "$(digest evp_final)" ] \
        || fail "the state differs from a clean run of the chain it settled on"
    [ "$style" = spec ] || [ "$(q -d evp_soak -At -c "SELECT count(*) FROM driver_events WHERE NOT is_processed")" = 0 ] \
        || fail "driver events left unprocessed"
    q -d evp_soak -At -c "SELECT json_build_object('vault_update', (SELECT json_agg(x) FROM \"VaultStates\" x),
                                       'lp_update', (SELECT json_agg(x) FROM \"Liquidity_Providers\" x),
                                       'or_update', (SELECT json_agg(x) FROM \"Option_Rounds\" x))" >"$work/state.json"
    checked=$(python3 "$here/soak_check.py" "$work/listened" "$work/state.json") || fail "what the reader got: $checked"
    [ $status = 0 ] && echo "ok soak ($style): $figures, applied by the worker in ${elapsed} s while $(cat "$work/queries") reader queries ran; $checked"
    stop_cluster
}

soak spec
soak indexer
exit $status
