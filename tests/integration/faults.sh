#!/usr/bin/env bash
# Faults under load (issue 12), each ending in evp.state_digest() equal to a clean sync run:
# two indexer sessions inserting blocks at once; the indexer running while another session runs
# evp_rebuild(), evp_reprocess() and evp_catchup(); both in sync and in async mode; the
# indexer's backend terminated (pg_terminate_backend) and killed (kill -9, which restarts the
# cluster) while it applies an LP-wide transition; statement_timeout and lock_timeout expiring
# in the indexer's session during a settlement. After each fault the state is the one before
# the block (nothing partial) and the retried block applies; under evp.on_error = hold (the
# default) a timeout commits the indexer's transaction and holds the block instead. EVP_FAULT_LPS sizes the large
# chain (20,000 LPs).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test faults

start_preloaded_cluster 54351 evp_async
# The chains, a file a block (bench/chain.py): three vaults through six rounds, and one vault
# with its LPs and their LP-wide transitions, each a block of its own.
chains=$CLUSTER_DIR/chains
python3 "$here/../../bench/chain.py" bench 3 20 6 4 2 --split "$chains/small"
python3 "$here/../../bench/chain.py" scale "${EVP_FAULT_LPS:-20000}" --split "$chains/large"
small=("$chains"/small/*.sql)
large=("$chains"/large/*.sql)
wide() { grep -l "'$1'" "${large[@]}"; } # the large chain's file of transition $1
started=$(wide AuctionStarted) ended=$(wide AuctionEnded) settled=$(wide OptionRoundSettled)

fresh() { fresh_db "$1" "$fixtures/input_tables_with_from_address.sql"; }
insert() { # database, block files…: one session, in order
    local db=$1; shift
    cat "$@" | q -d "$db" >/dev/null
}
expect_digest() { # database, expected, label
    local got
    got=$(digest "$1")
    if [ "$got" = "$2" ]; then echo "ok faults: $3"; else fail "$3: digest $got, expected $2"; fi
}

# The clean runs.
fresh evp_clean_small && PGOPTIONS="-c evp.mode=sync" insert evp_clean_small "${small[@]}"
clean_small=$(digest evp_clean_small)
fresh evp_clean_large && PGOPTIONS="-c evp.mode=sync" insert evp_clean_large "${large[@]}"
clean_large=$(digest evp_clean_large)

# 1. Two indexer sessions (even and odd blocks) at once; one indexer session while another
# runs evp_rebuild(), evp_reprocess() and evp_catchup() in a loop. Meanwhile a consumer of the
# change feed polls it between their commits: its copy of the tables ends equal to them, and
# it read every position (they are in commit order). The chain's first block goes
# first: with nothing applied, whichever block comes first starts the chain (the indexer may
# start anywhere), and a lower one after it lies below the tip.
rest=("${small[@]:1}") odd=() even=()
for i in "${!rest[@]}"; do if ((i % 2)); then odd+=("${rest[i]}"); else even+=("${rest[i]}"); fi; done
first=$(sed -n 's/^INSERT INTO starknet_blocks VALUES (\([0-9]*\),.*/\1/p' "${small[0]}")
running() { # pid of a child not yet waited for
    local st
    read -r _ _ st _ 2>/dev/null <"/proc/$1/stat" && [ "$st" != Z ]
}
concurrent() { # database, mode, sessions (two | meddled)
    local label rounds=0 feed=$CLUSTER_DIR/feed_$1_$2_$3 fed
    consumer_start follow "$1" "$feed" 7
    PGOPTIONS="-c evp.mode=$2" insert "$1" "${small[0]}"
    if [ "$3" = two ]; then
        PGOPTIONS="-c evp.mode=$2" insert "$1" "${even[@]}" & a=$!
        PGOPTIONS="-c evp.mode=$2" insert "$1" "${odd[@]}" & b=$!
        label="two indexer sessions"
    else
        PGOPTIONS="-c evp.mode=$2" insert "$1" "${rest[@]}" & a=$! b=$a
        while running "$a" || ((rounds < 3)); do
            q -d "$1" -c "SELECT evp_rebuild()" -c "SELECT evp_reprocess($first + 7)" -c "SELECT evp_catchup()" >/dev/null \
                || { fail "$2: rebuild, reprocess or catchup failed"; break; }
            rounds=$((rounds + 1))
        done
        label="the indexer and $rounds rounds of rebuild, reprocess and catchup"
    fi
    wait "$a" && wait "$b" || fail "$2, $label: an indexer session failed"
    settled 120 "$1" || fail "$2, $label: blocks still pending"
    expect_digest "$1" "$clean_small" "$2, $label: ${#small[@]} blocks equal a clean run"
    if fed=$(consumer_stop "$1" "$feed"); then
        echo "ok faults: $2, $label: a consumer of the change feed polling between their commits $fed"
    else
        fail "$2, $label: $fed"
    fi
}
fresh evp_sync && concurrent evp_sync sync two
fresh evp_sync && concurrent evp_sync sync meddled
fresh evp_async && concurrent evp_async async two
fresh evp_async && concurrent evp_async async meddled

# 2. The indexer's backend ended while it applies an LP-wide transition.
blocks_before() { # the large chain's files before $1
    for f in "${large[@]}"; do [ "$f" = "$1" ] && break; echo "$f"; done
}
applying() { # database: the pid of the backend inside the block row's INSERT (its trigger)
    for _ in $(seq 2000); do
        pid=$(q -At -c "SELECT pid FROM pg_stat_activity WHERE datname = '$1' AND state = 'active'
                          AND query LIKE 'INSERT INTO starknet_blocks%'")
        [ -n "$pid" ] && { echo "$pid"; return 0; }
        sleep 0.005
    done
    return 1
}
interrupted() { # database, block file, label, how (terminate | kill)
    local before pid indexer
    before=$(digest "$1")
    PGOPTIONS="-c evp.mode=sync" insert "$1" "$2" 2>/dev/null & indexer=$!
    pid=$(applying "$1") || { fail "$3: never saw the block being applied"; return; }
    sleep 0.05
    case $4 in
        terminate) q -c "SELECT pg_terminate_backend($pid)" >/dev/null ;;
        kill) kill -9 "$pid" ;;
    esac
    if wait "$indexer"; then fail "$3: the block committed before the fault"; return; fi
    for _ in $(seq 300); do q -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
    expect_digest "$1" "$before" "$3: state as before the block"
    PGOPTIONS="-c evp.mode=sync" insert "$1" "$2" || fail "$3: the retry failed"
}
fresh evp_kill
mapfile -t head < <(blocks_before "$started")
PGOPTIONS="-c evp.mode=sync" insert evp_kill "${head[@]}"
interrupted evp_kill "$started" "AuctionStarted terminated mid-apply" terminate
PGOPTIONS="-c evp.mode=sync" insert evp_kill "${large[$(( ${#head[@]} + 1 ))]}"
interrupted evp_kill "$ended" "AuctionEnded killed (kill -9) mid-apply" kill

# 3. Timeouts in the indexer's session during the settlement. Under evp.on_error = abort the
# indexer's transaction fails and the state is as before. Under hold (the default) it commits:
# the block row is kept, the block held with the timeout's SQLSTATE and the state as before;
# evp_catchup() applies it.
before=$(digest evp_kill)
abort="-c evp.mode=sync -c evp.on_error=abort"
if out=$(PGOPTIONS="$abort -c statement_timeout=50" insert evp_kill "$settled" 2>&1); then
    fail "statement_timeout: the settlement finished within 50 ms"
else
    grep -q "statement timeout" <<<"$out" || fail "statement_timeout: unexpected error: $out"
    expect_digest evp_kill "$before" "statement_timeout under abort: state as before the settlement"
fi
hold_lock() { # database: holds the extension's lock for 3 s
    q -d "$1" -c "BEGIN" -c "SELECT evp_catchup(0)" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null & holder=$!
    for _ in $(seq 100); do
        [ "$(q -At -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3)'")" = 1 ] && return
        sleep 0.05
    done
}
hold_lock evp_kill
if out=$(PGOPTIONS="$abort -c lock_timeout=100" insert evp_kill "$settled" 2>&1); then
    fail "lock_timeout: the settlement did not wait for the extension's lock"
else
    grep -q "lock timeout" <<<"$out" || fail "lock_timeout: unexpected error: $out"
    expect_digest evp_kill "$before" "lock_timeout under abort: state as before the settlement"
fi
wait "$holder"
held() { # database, SQLSTATE, label: the indexer's last block row is kept, held for SQLSTATE
    local got
    got=$(q -d "$1" -At -c "SELECT h.sqlstate FROM evp.held_blocks h
                             JOIN starknet_blocks b ON b.block_number = h.block_number
                            WHERE h.block_number = (SELECT max(block_number) FROM starknet_blocks)")
    [ "$got" = "$2" ] || fail "$3: the block is not kept and held for $2: '$got'"
}
if ! out=$(PGOPTIONS="-c evp.mode=sync -c statement_timeout=50" insert evp_kill "$settled" 2>&1); then
    fail "statement_timeout under hold: the indexer's transaction failed: $out"
fi
held evp_kill 57014 "statement_timeout under hold"
expect_digest evp_kill "$before" "statement_timeout under hold: the settlement committed and held, state as before it"
q -d evp_kill -c "SELECT evp_catchup()" >/dev/null
# Under hold, a lock timeout on a small chain: the first block is held, the others wait behind
# it; evp_catchup() applies them all.
fresh evp_hold_lock
hold_lock evp_hold_lock
PGOPTIONS="-c evp.mode=sync -c lock_timeout=100" insert evp_hold_lock "${small[0]}" \
    || fail "lock_timeout under hold: the indexer's transaction failed"
wait "$holder"
held evp_hold_lock 55P03 "lock_timeout under hold"
PGOPTIONS="-c evp.mode=sync" insert evp_hold_lock "${small[@]:1}"
[ "$(q -d evp_hold_lock -At -c "SELECT count(*) FROM evp.applied_blocks")" = 0 ] \
    || fail "lock_timeout under hold: blocks above the held one were applied"
q -d evp_hold_lock -c "SELECT evp_catchup()" >/dev/null
expect_digest evp_hold_lock "$clean_small" "lock_timeout under hold: the ${#small[@]}-block chain, its first block held, equals a clean run after evp_catchup()"
expect_digest evp_kill "$clean_large" "after the faults, the ${#large[@]}-block chain of ${EVP_FAULT_LPS:-20000} LPs equals a clean run"
exit $status
