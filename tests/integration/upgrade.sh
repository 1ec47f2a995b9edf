#!/usr/bin/env bash
# ALTER EXTENSION event_processor UPDATE keeps users' state. On a clean PostgreSQL with this
# version's release package installed, beside 0.1.0 as released (its install script,
# sql/event_processor--0.1.0.sql, and its library, built from commit 72f80ef):
# (a) a reference chain applied in half by 0.1.0 and updated holds the state a fresh install
#     holds on that half (equal evp.state_digest(): rows, history, journal, prune watermark);
#     so it does after reverting 0.1.0's last blocks and applying them again, and after the
#     rest of the chain (then it is the fixture's expected state) and a reorg of five blocks.
#     Between the new library and the update, a block is deferred (applied by the update), a
#     revert refused and the worker waits (src/version.rs); the events a reorg left under 0.1.0
#     are never applied;
# (b) the catalog of an updated 0.1.0 equals a fresh install's (catalog.sql), on the Pitch Lake
#     indexer's own tables (its queue's trigger and index included) and on the chain's.
# 0.1.0 was built for PostgreSQL 15 only: on 18, (b) runs 0.1.0's script with this version's
# library, and (a), which needs 0.1.0's library, runs on 15.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
here=tests/integration
fixture=tests/fixtures/forwarded-reorgs
V010_COMMIT=72f80ef

# 0.1.0's library, built once from its commit into target/v0.1.0 (needs the git history).
v010_library() {
    local dir=target/v0.1.0
    if [ ! -f "$dir/target/debug/libevent_processor.so" ]; then
        log "building event_processor 0.1.0 (commit $V010_COMMIT)" >&2
        rm -rf "$dir/src" && mkdir -p "$dir/src"
        git archive "$V010_COMMIT" | tar -x -C "$dir/src"
        (cd "$dir/src" && CARGO_TARGET_DIR=../target cargo build -q --locked --lib "${PG_FEATURES[@]}") >&2
    fi
    echo "$dir/target/debug/libevent_processor.so"
}

tarball=$(bash scripts/package.sh | tail -1)
root=$(mktemp -d /tmp/evp-upgrade-pg.XXXXXX)
clean=$(clean_installation "$root")
install_package() { install_tarball "$tarball" "$root/unpacked" "$clean"; }
install_package
install -m 644 sql/event_processor--0.1.0.sql "$("$clean" --sharedir)/extension/"
with_state=$([ "$PG_MAJOR" = 15 ] && echo yes || echo no)
[ $with_state = yes ] && install -m 755 "$(v010_library)" "$("$clean" --pkglibdir)/event_processor.so"

use_installation "$clean"
# The library preloaded, its worker in the database with state.
start_preloaded_cluster 54362 updated
trap 'stop_cluster; rm -rf "$root"' EXIT
# Pruning at every block, the same under 0.1.0 and this version, so that both journals meet it.
export PGOPTIONS="-c evp.journal_horizon=20"
setup=tests/fixtures/event-logger/setup.sql
for db in updated_ix fresh_ix updated fresh; do createdb "$db"; done
q -d updated_ix -f "$setup" -c "CREATE EXTENSION event_processor VERSION '0.1.0'"

commits=$(grep -c '^COMMIT;' "$fixture/chain.sql")
# The first half, one block more, the rest.
awk -v n=$((commits / 2)) -v a="$root/first.sql" -v w="$root/window.sql" -v b="$root/rest.sql" \
    '{ print > (c < n ? a : c == n ? w : b) } /^COMMIT;/ { c++ }' "$fixture/chain.sql"
if [ $with_state = yes ]; then
    q -d updated -c "CREATE EXTENSION event_processor VERSION '0.1.0'" -f "$root/first.sql" >/dev/null
    [ "$(q -d updated -At -c "SELECT count(*) FROM evp.applied_blocks")" -gt 10 ] \
        || { echo "FAIL upgrade: 0.1.0 applied too little of the chain"; exit 1; }
    # An event of a fork block whose row the indexer deleted (0.1.0 keeps no record of it), at
    # the number the next block takes.
    q -d updated -c "INSERT INTO events SELECT event_nonce, (SELECT max(block_number) + 1 FROM starknet_blocks), '0xdead',
                       vault_address, event_name, event_keys, event_data, transaction_hash
                       FROM events ORDER BY block_number DESC LIMIT 1"
    # This version's library, as a user upgrades: the new files, a restart, the update.
    install_package
fi
sudo -u postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -w restart >/dev/null
version=$(q -d updated_ix -At -c "ALTER EXTENSION event_processor UPDATE" \
            -c "SELECT extversion FROM pg_extension WHERE extname = 'event_processor'")
default=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$("$clean" --sharedir)/extension/event_processor.control")
[ "$version" = "$default" ] || { echo "FAIL upgrade: updated to $version, not $default"; exit 1; }
q -d fresh_ix -f "$setup" -c "CREATE EXTENSION event_processor"

status=0
same_catalog() { # updated db, fresh db
    diff <(q -d "$1" -At -f "$here/catalog.sql") <(q -d "$2" -At -f "$here/catalog.sql") >"$root/catalog.diff" \
        && return 0
    echo "FAIL upgrade: the catalog of $1 differs from $2 (< updated, > fresh):"; head -20 "$root/catalog.diff"; status=1
}
same_catalog updated_ix fresh_ix
facts=$(q -d fresh_ix -At -f "$here/catalog.sql" | wc -l)

if [ $with_state = yes ]; then
    same_state() { # what was done
        [ "$(digest updated)" = "$(digest fresh)" ] && return 0
        echo "FAIL upgrade: the updated state differs from a fresh install's after $1"; status=1
    }
    both() { for db in updated fresh; do q -d "$db" "$@" >/dev/null; done; }
    applied() { q -d updated -At -c "SELECT count(*) FROM evp.applied_blocks"; }
    # The 0.2.0 library under 0.1.0's objects: the next block waits for the update, a revert
    # and the SQL functions are refused.
    before=$(applied)
    # (After an update rolled back in the same session: what matched in it is forgotten.)
    if ! q -d updated -c "BEGIN" -c "ALTER EXTENSION event_processor UPDATE" -c "ROLLBACK" -f "$root/window.sql" \
             >/dev/null 2>"$root/window.err" \
       || ! grep -q "is applied after the update" "$root/window.err" || [ "$(applied)" != "$before" ]; then
        echo "FAIL upgrade: a block under the old version was not deferred:"; cat "$root/window.err"; status=1
    fi
    for sql in "DELETE FROM starknet_blocks WHERE block_number = (SELECT max(block_number) FROM evp.applied_blocks)" \
               "SELECT evp_catchup()"; do
        if q -d updated -c "$sql" 2>"$root/refused.err" || ! grep -q "until the update\|after the update" "$root/refused.err"; then
            echo "FAIL upgrade: '$sql' under the old version was not refused"; cat "$root/refused.err"; status=1
        fi
    done
    waiting=no
    for _ in $(seq 50); do
        [ "$(q -d updated -At -c "SELECT worker_state FROM evp_status()")" = "waiting for ALTER EXTENSION UPDATE" ] \
            && waiting=yes && break
        sleep 0.1
    done
    [ $waiting = yes ] || { echo "FAIL upgrade: the worker does not wait for the update"; status=1; }
    q -d updated -c "ALTER EXTENSION event_processor UPDATE"
    [ "$(applied)" = $((before + 1)) ] || { echo "FAIL upgrade: the update did not apply the deferred block"; status=1; }
    q -d fresh -c "CREATE EXTENSION event_processor" -f "$root/first.sql" -f "$root/window.sql" >/dev/null
    same_state "the update"
    [ "$(q -d updated -At -c "SELECT count(*) FROM evp.rowless_blocks")" = 0 ] \
        && [ "$(q -d updated -At -c "SELECT count(*) FROM evp.reverted_blocks WHERE block_hash = '0xdead'")" = 1 ] \
        || { echo "FAIL upgrade: the events of 0.1.0's reverted block are not remembered as reverted"; status=1; }
    # 0.1.0's last three blocks reorganised away (their journal is 0.1.0's) and back.
    both -c "CREATE TABLE gone AS SELECT * FROM starknet_blocks
                WHERE block_number > (SELECT max(block_number) - 3 FROM starknet_blocks)" \
         -c "DELETE FROM starknet_blocks WHERE block_number IN (SELECT block_number FROM gone)"
    same_state "reverting 0.1.0's last blocks"
    both -c "INSERT INTO starknet_blocks SELECT * FROM gone ORDER BY block_number" -c "DROP TABLE gone"
    same_state "applying them again"
    both -f "$root/rest.sql"
    out=$(q -d updated -v expected="$fixture/expected.json" -v history="$fixture/expected_history.json" \
            -f "$here/compare_fixture.sql")
    grep -q "mismatches: 0" <<<"$out" || { echo "FAIL upgrade: the updated state is not the fixture's:"; echo "$out"; status=1; }
    same_state "the rest of the chain"
    both -c "DELETE FROM starknet_blocks WHERE block_number > (SELECT max(block_number) - 5 FROM starknet_blocks)"
    same_state "a reorg of five blocks"
    same_catalog updated fresh
    applied=$(applied)
fi
[ $status = 0 ] || exit 1
if [ $with_state = yes ]; then
    echo "ok upgrade: 0.1.0 → $version keeps the state (a chain half applied by 0.1.0: equal to a fresh" \
         "install's after the update, reverts of 0.1.0's blocks, the rest of the chain and a reorg;" \
         "$applied blocks); before the update a block and the worker waited, a revert was refused; catalog equal ($facts facts)"
else
    echo "ok upgrade: the catalog of 0.1.0 updated to $version equals a fresh install's ($facts facts); the" \
         "state check runs on PostgreSQL 15, the only version 0.1.0 was built for"
fi
