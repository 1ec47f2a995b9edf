#!/usr/bin/env bash
# Replicas (docs/operating.md), on three clusters: a primary with the library preloaded, a
# streaming hot standby of it, and a plain subscriber of its output tables.
# - While the primary applies a chain with reorgs, the standby serves the same state (equal
#   digests) and its evp_status() says it is a standby.
# - Meanwhile a reader polls the change feed on the standby: its copy of the tables ends equal
#   to the primary's, and it read every position.
# - The subscriber's tables and change feed, made from evp_subscriber_ddl(), end equal to the
#   primary's after that chain (reorg deletes included) and after an evp_rebuild().
# - A failover with blocks pending: the primary stopped -m immediate, the standby promoted;
#   the worker on the promoted node applies them, and the state equals the chain's expected.json.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test replicas

start_preloaded_cluster 54361 evp_rep "wal_level = logical"
primary=$CLUSTER_DIR
other_cluster() { # directory: a cluster of its own beside the primary
    mkdir -p "$1" && chown postgres: "$1" && chmod 700 "$1"
}
stop_other() { # directory
    sudo -u postgres "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$1"
}
standby=$(mktemp -d /tmp/evp-standby.XXXXXX)
subscriber=$(mktemp -d /tmp/evp-subscriber.XXXXXX)
trap 'stop_other "$standby"; stop_other "$subscriber"; stop_cluster' EXIT
other_cluster "$standby"
other_cluster "$subscriber"

createdb evp_rep
export PGDATABASE=evp_rep
output_tables='public."VaultStates", public."Liquidity_Providers", public."Option_Rounds", public."Queued_Liquidity",
               public."Option_Buyers", public."Bids", public."Vault_Historic", public."Liquidity_Providers_Historic"'
q -c "CREATE EXTENSION event_processor" -c "CREATE PUBLICATION evp_state FOR TABLE $output_tables, evp.changes"

# The standby: a base backup of the primary, streaming from it.
sudo -u postgres "$PG_BIN/pg_basebackup" -h "$primary" -p 54361 -U postgres -D "$standby/data" -R -X stream
cat >>"$standby/data/postgresql.conf" <<CONF
port = 54362
unix_socket_directories = '$standby'
CONF
sudo -u postgres "$PG_BIN/pg_ctl" -D "$standby/data" -l "$standby/server.log" -w start >/dev/null
on_standby() { PGHOST=$standby PGPORT=54362 q "$@"; }

# The subscriber: a plain cluster; its tables from evp_subscriber_ddl().
sudo -u postgres "$PG_BIN/initdb" -D "$subscriber/data" -U postgres --auth=trust >/dev/null
cat >>"$subscriber/data/postgresql.conf" <<CONF
listen_addresses = ''
port = 54363
unix_socket_directories = '$subscriber'
CONF
sudo -u postgres "$PG_BIN/pg_ctl" -D "$subscriber/data" -l "$subscriber/server.log" -w start >/dev/null
on_subscriber() { PGHOST=$subscriber PGPORT=54363 PGDATABASE=evp_sub q "$@"; }
PGHOST=$subscriber PGPORT=54363 createdb evp_sub
on_subscriber -c "$(q -At -c "SELECT evp_subscriber_ddl()")" \
    -c "CREATE SUBSCRIPTION evp_state CONNECTION 'host=$primary port=54361 dbname=evp_rep user=postgres' PUBLICATION evp_state"

standby_caught_up() {
    local lsn
    lsn=$(q -At -c "SELECT pg_current_wal_lsn()")
    for _ in $(seq 300); do
        [ "$(on_standby -At -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && return 0
        sleep 0.1
    done
    return 1
}
tables_digest() { # the output tables' rows, as any cluster can read them
    "$@" -At -c 'SELECT md5(string_agg(r, $$|$$ ORDER BY r)) FROM (
        SELECT $$v$$ || x::text AS r FROM "VaultStates" x UNION ALL SELECT $$l$$ || x::text FROM "Liquidity_Providers" x
        UNION ALL SELECT $$o$$ || x::text FROM "Option_Rounds" x UNION ALL SELECT $$q$$ || x::text FROM "Queued_Liquidity" x
        UNION ALL SELECT $$b$$ || x::text FROM "Option_Buyers" x UNION ALL SELECT $$i$$ || x::text FROM "Bids" x
        UNION ALL SELECT $$vh$$ || x::text FROM "Vault_Historic" x
        UNION ALL SELECT $$lh$$ || x::text FROM "Liquidity_Providers_Historic" x) u'
}
feed_digest() { # the change feed's rows
    "$@" -At -c 'SELECT md5(string_agg(x::text, $$|$$ ORDER BY x.position)) FROM evp.changes x'
}
subscriber_equal() { # label
    local want feed
    want=$(tables_digest q) feed=$(feed_digest q)
    for _ in $(seq 300); do
        [ "$(tables_digest on_subscriber)" = "$want" ] && [ "$(feed_digest on_subscriber)" = "$feed" ] && return 0
        sleep 0.1
    done
    fail "$1: the subscriber's output tables or change feed differ from the primary's"
}

# 1. A chain with reorgs, applied in sync mode on the primary, while a reader polls the change
# feed on the standby (evp_changes(), without a named consumer: a standby is read-only).
feed=$standby/feed
PGHOST=$standby PGPORT=54362 consumer_start read evp_rep "$feed" 3
PGOPTIONS="-c evp.mode=sync" q -f "$fixtures/forwarded-reorgs/chain.sql" >/dev/null
standby_caught_up || fail "the standby did not catch up within 30 s"
if fed=$(consumer_stop evp_rep "$feed"); then
    echo "ok replicas: a reader of the change feed on the standby (its copy checked against the primary) $fed"
else
    fail "the reader of the change feed on the standby: $fed"
fi
[ "$(on_standby -At -c "SELECT evp.state_digest()")" = "$(digest evp_rep)" ] \
    || fail "the standby's state differs from the primary's"
seen=$(on_standby -At -c "SELECT worker_state FROM evp_status")
[ "$seen" = "standby: the worker starts on promotion" ] || fail "evp_status() on the standby: $seen"
echo "ok replicas: the standby serves the primary's state after the forwarded-reorgs chain; evp_status(): '$seen'"
subscriber_equal "after the chain"
q -c "SELECT evp_rebuild()" >/dev/null
subscriber_equal "after evp_rebuild()"
echo "ok replicas: the subscriber's eight output tables and change feed, made from evp_subscriber_ddl(), equal the primary's after the chain with its reorgs and after evp_rebuild()"
on_subscriber -c "DROP SUBSCRIPTION evp_state"

# 2. A failover with blocks pending: the primary's worker off (evp.mode = off in its own
# configuration: the standby keeps the default), a chain inserted, the primary stopped at once.
q -c "ALTER SYSTEM SET evp.mode = off" -c "SELECT pg_reload_conf()" >/dev/null
q -c "DROP PUBLICATION evp_state" -c "DROP EXTENSION event_processor" -c "DROP TABLE events, starknet_blocks"
q -f "$fixtures/input_tables_with_from_address.sql" -c "CREATE EXTENSION event_processor"
PGOPTIONS="-c evp.mode=off" q -f "$fixtures/direct/chain.sql" >/dev/null
pending=$(q -At -c "SELECT pending_blocks FROM evp_status")
[ "$pending" -gt 0 ] || fail "no block pending on the primary before the failover"
standby_caught_up || fail "the standby did not catch up before the failover"
sudo -u postgres "$PG_BIN/pg_ctl" -D "$primary/data" -m immediate -w stop >/dev/null
sudo -u postgres "$PG_BIN/pg_ctl" -D "$standby/data" -w promote >/dev/null
PGHOST=$standby PGPORT=54362 settled 60 || fail "the promoted node's worker did not apply the pending blocks"
PGHOST=$standby PGPORT=54362 compare_fixture evp_rep direct || fail "after the failover: state differs from direct/expected.json"
echo "ok replicas: failover with $pending blocks pending (primary stopped -m immediate): the promoted node's worker applied them, state and history equal expected.json"
exit $status
