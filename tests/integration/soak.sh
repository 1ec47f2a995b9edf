#!/usr/bin/env bash
# The soak (issue 12): a chain of four vaults with random reorgs (soak_chain.py), written by an
# indexer in async mode and applied by the worker while one reader LISTENs and another queries
# the state in a loop, bounded in time; twice: with every reorg style of SPEC 1, and as the Pitch
# Lake indexer writes (SPEC 7.1: its schema, COUNT(*) + 1 nonces, StartBlock and RevertBlock
# notices, restarts with their catch-up, the deployment block without a row). Each must end in
# the state of a clean sync run of the chain it settles on (evp.state_digest()), with no error,
# no skipped notification, every driver event processed, and each row's last notification
# equal to the row. Meanwhile a consumer of the change feed (feed_consumer.py) reads it in
# batches, restarting from its checkpoint at random points; its copy of the eight tables must
# end equal to them; so must that of one following the same stream in sync mode. EVP_SOAK_ROUNDS
# sets its length (300 rounds: 2,401 blocks); EVP_SOAK_SEED its reorgs.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test soak

soak() { # style: spec or indexer
    local style=$1
    TEST_NAME="soak ($style)"
    start_preloaded_cluster 54353 evp_soak
    local tables=$fixtures/input_tables_with_from_address.sql
    [ "$style" = indexer ] && tables=$fixtures/event-logger/setup.sql
    fresh_db evp_soak "$tables"
    fresh_db evp_final "$tables"
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

    consumer_start follow evp_soak "$work/feed" "${EVP_SOAK_SEED:-1}"

    started=$(date +%s)
    PGOPTIONS="-c evp.mode=async" timeout 900 psql -X -q -v ON_ERROR_STOP=1 -f "$work/soak.sql" >/dev/null \
        || fail "the indexer's stream failed"
    settled 300 || fail "blocks still pending after 300 s"
    elapsed=$(($(date +%s) - started))
    sleep 0.5
    touch "$stop"
    fed=$(consumer_stop evp_soak "$work/feed") || fail "$fed"
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
    [ $status = 0 ] && echo "ok soak ($style, async): a consumer of the change feed that restarted at random points $fed"
    feed_sync "$style" "$tables" "$work"
    [ "$style" = indexer ] || feed_retention "$tables" "$work"
    stop_cluster
}

# The same stream in sync mode, while a consumer of the change feed follows it: its copy ends
# equal to the tables, and the state to the clean run's.
feed_sync() { # style, input tables, work directory
    local style=$1 work=$3/feed_sync fed
    fresh_db evp_soak_sync "$2"
    consumer_start follow evp_soak_sync "$work" "$((${EVP_SOAK_SEED:-1} + 1))"
    PGOPTIONS="-c evp.mode=sync" timeout 900 psql -X -q -v ON_ERROR_STOP=1 -d evp_soak_sync -f "$3/soak.sql" >/dev/null \
        || fail "the indexer's stream failed (sync)"
    settled 60 evp_soak_sync || fail "blocks still pending (sync)"
    [ "$(digest evp_soak_sync)" = "$(digest evp_final)" ] || fail "sync: the state differs from a clean run"
    fed=$(consumer_stop evp_soak_sync "$work") || fail "sync: $fed"
    [ $status = 0 ] && echo "ok soak ($style, sync): a consumer of the change feed that restarted at random points $fed"
}

# Retention (SPEC 8): the same stream in sync mode with a consumer that never acknowledges,
# evp.feed_retention = 50 and evp.feed_max_lag = 200 blocks. It is marked lost, and the feed
# stays bounded: sampled as the chain goes, it never holds more than a fraction of what was
# recorded, and at the end nothing older than the retention window (and the journal's prune
# step, at which the feed is pruned) is left.
feed_retention() { # input tables, work directory
    fresh_db evp_soak_retention "$1"
    q -d evp_soak_retention -c "ALTER DATABASE evp_soak_retention SET evp.feed_retention = 50" \
      -c "ALTER DATABASE evp_soak_retention SET evp.feed_max_lag = 200" -c "SELECT evp_consumer_create('vanished')" >/dev/null
    local done=$2/retention.done most=0 rows
    ( PGOPTIONS="-c evp.mode=sync" timeout 900 psql -X -q -v ON_ERROR_STOP=1 -d evp_soak_retention -f "$2/soak.sql" >/dev/null
      echo $? >"$done" ) &
    while [ ! -e "$done" ]; do
        rows=$(q -d evp_soak_retention -At -c "SELECT count(*) FROM evp.changes")
        ((rows > most)) && most=$rows
        sleep 0.2
    done
    [ "$(cat "$done")" = 0 ] || fail "the indexer's stream failed (retention)"
    local lost recorded old
    read -r lost recorded old < <(q -d evp_soak_retention -At -F ' ' -c "
        SELECT (SELECT lost FROM evp_consumers() WHERE name = 'vanished'), evp_feed_position(),
               (SELECT count(*) FROM evp.changes
                 WHERE block_number <= (SELECT max(block_number) FROM evp.blocks WHERE state = 'applied') - 50 - 100)")
    [ "$lost" = t ] || fail "retention: the consumer that never acknowledged is not lost"
    ((most * 4 < recorded)) || fail "retention: the feed held up to $most rows of $recorded recorded"
    [ "$old" = 0 ] || fail "retention: $old rows older than the retention window are kept"
    [ $status = 0 ] && echo "ok soak (retention): a consumer that never acknowledged is lost past evp.feed_max_lag; the feed held at most $most rows of the $recorded recorded, none older than evp.feed_retention"
    dropdb evp_soak_retention
}

soak spec
soak indexer
exit $status
