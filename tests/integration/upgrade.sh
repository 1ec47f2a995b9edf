#!/usr/bin/env bash
# ALTER EXTENSION event_processor UPDATE keeps users' state, from every released version. For
# each, on a clean PostgreSQL with this version's release package installed, beside the old
# version as released (its install script, sql/event_processor--<old>.sql, and its library,
# built from its commit):
# (a) a reference chain applied in half by the old library and updated holds the state a fresh
#     install holds on that half (equal evp.state_digest(): rows, history, journal, prune
#     watermark); so it does after reverting the old library's last blocks and applying them
#     again, and after the rest of the chain (then it is the fixture's expected state) and a
#     reorg of five blocks. Between the new library and the update, a block is deferred (applied
#     by the update), a revert refused and the worker waits (src/version.rs). From 0.1.0, which
#     kept no record of the blocks it reverted: the events a reorg left under it are never applied;
# (b) the catalog of an updated old version equals a fresh install's (catalog.sql), on the Pitch
#     Lake indexer's own tables (its queue's trigger and index included) and on the chain's.
# (a) needs the old library, which exists for the PostgreSQL versions it was built for: 0.1.0
# for 15 only (on 18, (b) runs 0.1.0's script with this version's library), 0.2.0 for 15 and 18.
#
#   tests/integration/upgrade.sh            from every released version, in turn
#   tests/integration/upgrade.sh 0.2.0      from the versions named
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
here=tests/integration
fixture=tests/fixtures/forwarded-reorgs
setup=tests/fixtures/event-logger/setup.sql
# The released versions: the commit of each, and the PostgreSQL versions it was built for.
RELEASED=(0.1.0 0.2.0)
declare -A COMMIT=([0.1.0]=72f80ef [0.2.0]=b00c56f) BUILT_FOR=([0.1.0]=15 [0.2.0]="15 18")
froms=("$@")
((${#froms[@]})) || froms=("${RELEASED[@]}")
for from in "${froms[@]}"; do
    [ -n "${COMMIT[$from]:-}" ] || { echo "upgrade.sh: $from is not a released version (${RELEASED[*]})" >&2; exit 2; }
done

# Version $1's library for this PostgreSQL, built once from its commit (needs the git history)
# into target/released; the versions share a target directory, so their dependencies build once.
old_library() { # version
    local dir=target/released so=target/released/event_processor-$1-pg$PG_MAJOR.so
    if [ ! -f "$so" ]; then
        log "building event_processor $1 for PostgreSQL $PG_MAJOR (commit ${COMMIT[$1]})" >&2
        rm -rf "$dir/src-$1" && mkdir -p "$dir/src-$1"
        git archive "${COMMIT[$1]}" | tar -x -C "$dir/src-$1"
        (cd "$dir/src-$1" && CARGO_TARGET_DIR=../target cargo build -q --locked --lib "${PG_FEATURES[@]}") >&2
        cp "$dir/target/debug/libevent_processor.so" "$so"
    fi
    echo "$so"
}

tarball=$(bash scripts/package.sh | tail -1)
system_pg_config=$PG_CONFIG
root=$(mktemp -d /tmp/evp-upgrade-pg.XXXXXX)
chmod 755 "$root"
trap 'rm -rf "$root"' EXIT
# Pruning at every block, the same under the old version and this one, so that both journals
# meet it.
export PGOPTIONS="-c evp.journal_horizon=20"
commits=$(grep -c '^COMMIT;' "$fixture/chain.sql")
# The first half, one block more, the rest.
awk -v n=$((commits / 2)) -v a="$root/first.sql" -v w="$root/window.sql" -v b="$root/rest.sql" \
    '{ print > (c < n ? a : c == n ? w : b) } /^COMMIT;/ { c++ }' "$fixture/chain.sql"

status=0
same_catalog() { # updated db, fresh db
    diff <(q -d "$1" -At -f "$here/catalog.sql") <(q -d "$2" -At -f "$here/catalog.sql") >"$root/catalog.diff" \
        && return 0
    echo "FAIL upgrade: the catalog of $1 differs from $2 (< updated, > fresh):"; head -20 "$root/catalog.diff"; status=1
}
same_state() { # what was done
    [ "$(digest updated)" = "$(digest fresh)" ] && return 0
    echo "FAIL upgrade: the updated state differs from a fresh install's after $1"; status=1
}
both() { for db in updated fresh; do q -d "$db" "$@" >/dev/null; done; }
applied() { q -d updated -At -c "SELECT count(*) FROM evp.applied_blocks"; }

# From version $1 to this one, in a clean installation of its own. Sets status.
upgrade_from() { # old version
    local from=$1 start=$SECONDS inst=$root/$1 clean version default facts blocks with_state=no
    status=0
    [[ " ${BUILT_FOR[$from]} " = *" $PG_MAJOR "* ]] && with_state=yes
    clean=$(PG_CONFIG=$system_pg_config clean_installation "$inst")
    install_tarball "$tarball" "$inst/unpacked" "$clean"
    install -m 644 "sql/event_processor--$from.sql" "$("$clean" --sharedir)/extension/"
    if [ $with_state = yes ]; then
        install -m 755 "$(old_library "$from")" "$("$clean" --pkglibdir)/event_processor.so"
    fi
    use_installation "$clean"
    # The library preloaded, its worker in the database with state.
    start_preloaded_cluster 54362 updated
    trap 'stop_cluster; rm -rf "$root"' EXIT
    for db in updated_ix fresh_ix updated fresh; do createdb "$db"; done
    q -d updated_ix -f "$setup" -c "CREATE EXTENSION event_processor VERSION '$from'"
    if [ $with_state = yes ]; then
        q -d updated -c "CREATE EXTENSION event_processor VERSION '$from'" -f "$root/first.sql" >/dev/null
        [ "$(applied)" -gt 10 ] || { echo "FAIL upgrade: $from applied too little of the chain"; exit 1; }
        if [ "$from" = 0.1.0 ]; then
            # An event of a fork block whose row the indexer deleted (0.1.0 keeps no record of
            # it), at the number the next block takes.
            q -d updated -c "INSERT INTO events SELECT event_nonce, (SELECT max(block_number) + 1 FROM starknet_blocks), '0xdead',
                               vault_address, event_name, event_keys, event_data, transaction_hash
                               FROM events ORDER BY block_number DESC LIMIT 1"
        fi
        # This version's library, as a user upgrades: the new files, a restart, the update.
        install_tarball "$tarball" "$inst/unpacked" "$clean"
    fi
    sudo -u postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -w restart >/dev/null
    version=$(q -d updated_ix -At -c "ALTER EXTENSION event_processor UPDATE" \
                -c "SELECT extversion FROM pg_extension WHERE extname = 'event_processor'")
    default=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$("$clean" --sharedir)/extension/event_processor.control")
    [ "$version" = "$default" ] || { echo "FAIL upgrade: $from updated to $version, not $default"; exit 1; }
    q -d fresh_ix -f "$setup" -c "CREATE EXTENSION event_processor"
    same_catalog updated_ix fresh_ix
    facts=$(q -d fresh_ix -At -f "$here/catalog.sql" | wc -l)
    if [ $with_state = yes ]; then
        check_state "$from"
        blocks=$(applied)
    fi
    stop_cluster
    rm -rf "$inst"
    [ $status = 0 ] || return 0
    if [ $with_state = yes ]; then
        echo "ok upgrade: $from → $version keeps the state (a chain half applied by $from: equal to a fresh" \
             "install's after the update, reverts of $from's blocks, the rest of the chain and a reorg;" \
             "$blocks blocks); before the update a block and the worker waited, a revert was refused;" \
             "catalog equal ($facts facts); $((SECONDS - start)) s"
    else
        echo "ok upgrade: the catalog of $from updated to $version equals a fresh install's ($facts facts); the" \
             "state check runs on PostgreSQL ${BUILT_FOR[$from]}, which $from was built for; $((SECONDS - start)) s"
    fi
}

# (a), the cluster running this version's library, the database updated still at version $1.
check_state() { # old version
    local before sql waiting
    # This library under the old version's objects: the next block waits for the update, a
    # revert and the SQL functions are refused.
    before=$(applied)
    # (After an update rolled back in the same session: what matched in it is forgotten.)
    if ! q -d updated -c "BEGIN" -c "ALTER EXTENSION event_processor UPDATE" -c "ROLLBACK" -f "$root/window.sql" \
             >/dev/null 2>"$root/window.err" \
       || ! grep -q "is applied after the update" "$root/window.err" || [ "$(applied)" != "$before" ]; then
        echo "FAIL upgrade: a block under $1 was not deferred:"; cat "$root/window.err"; status=1
    fi
    for sql in "DELETE FROM starknet_blocks WHERE block_number = (SELECT max(block_number) FROM evp.applied_blocks)" \
               "SELECT evp_catchup()"; do
        if q -d updated -c "$sql" 2>"$root/refused.err" || ! grep -q "until the update\|after the update" "$root/refused.err"; then
            echo "FAIL upgrade: '$sql' under $1 was not refused"; cat "$root/refused.err"; status=1
        fi
    done
    waiting=no
    for _ in $(seq 50); do
        [ "$(q -d updated -At -c "SELECT worker_state FROM evp_status()")" = "waiting for ALTER EXTENSION UPDATE" ] \
            && waiting=yes && break
        sleep 0.1
    done
    [ $waiting = yes ] || { echo "FAIL upgrade: the worker does not wait for the update of $1"; status=1; }
    q -d updated -c "ALTER EXTENSION event_processor UPDATE"
    [ "$(applied)" = $((before + 1)) ] || { echo "FAIL upgrade: the update did not apply the deferred block"; status=1; }
    q -d fresh -c "CREATE EXTENSION event_processor" -f "$root/first.sql" -f "$root/window.sql" >/dev/null
    same_state "the update"
    if [ "$1" = 0.1.0 ]; then
        [ "$(q -d updated -At -c "SELECT count(*) FROM evp.blocks WHERE state = 'noted'")" = 0 ] \
            && [ "$(q -d updated -At -c "SELECT state FROM evp.blocks WHERE block_hash = '0xdead'")" = reverted ] \
            || { echo "FAIL upgrade: the events of 0.1.0's reverted block are not remembered as reverted"; status=1; }
    fi
    # The old version's last three blocks reorganised away (their journal is its) and back.
    both -c "CREATE TABLE gone AS SELECT * FROM starknet_blocks
                WHERE block_number > (SELECT max(block_number) - 3 FROM starknet_blocks)" \
         -c "DELETE FROM starknet_blocks WHERE block_number IN (SELECT block_number FROM gone)"
    same_state "reverting $1's last blocks"
    both -c "INSERT INTO starknet_blocks SELECT * FROM gone ORDER BY block_number" -c "DROP TABLE gone"
    same_state "applying them again"
    both -f "$root/rest.sql"
    compare_fixture updated forwarded-reorgs || { echo "FAIL upgrade: the updated state is not the fixture's"; status=1; }
    same_state "the rest of the chain"
    both -c "DELETE FROM starknet_blocks WHERE block_number > (SELECT max(block_number) - 5 FROM starknet_blocks)"
    same_state "a reorg of five blocks"
    same_catalog updated fresh
}

failed=0
for from in "${froms[@]}"; do
    upgrade_from "$from"
    [ $status = 0 ] || failed=1
done
exit $failed
