#!/usr/bin/env bash
# The Pitch Lake plugin's restart shape (SPEC 7.1, 7.3; plugin_restart.py): Juno starts at a block
# H holding each kind of transition, the catch-up stores H's events (all, or a prefix) without
# H's row, then H's live transaction stores them again with its row. In sync mode and in async
# mode (the worker), each chain must end exactly in the fixture's expected state and history,
# no transaction failing, nothing held, and the copies recorded in evp.event_copies; also when
# a later reorg of the fixture reverts H (the copies across a reorg).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test plugin_restart

start_preloaded_cluster 54355 evp_restart
work=$CLUSTER_DIR/restart
mkdir -p "$work"
runs=0
cases=()
for kind in AuctionStarted AuctionEnded OptionRoundSettled BidPlaced WithdrawalQueued; do
    cases+=("$kind whole" "$kind prefix")
done
cases+=("AuctionEnded reorged" "OptionRoundSettled reorged")
for mode in sync async; do
    for case in "${cases[@]}"; do
        read -r kind variant <<<"$case"
        label="$mode, $kind, $variant"
        chain=$work/$kind-$variant.sql
        shape=$(python3 "$here/plugin_restart.py" "$fixtures/event-logger/chain.sql" "$kind" "$variant" 2>&1 >"$chain")
        copies=$(sed -n 's/^block [0-9]*: \([0-9]*\) of .*/\1/p' <<<"$shape")
        # A block that a reorg reverts later may be reverted before the worker applies it.
        if [ "$mode" = async ] && [ "$variant" = reorged ]; then copies="\($copies\|0\)"; fi
        fresh_db evp_restart "$fixtures/event-logger/setup.sql"
        if ! PGOPTIONS="-c evp.mode=$mode" q -d evp_restart -f "$chain" >/dev/null 2>"$work/err"; then
            fail "$label: the indexer's stream failed: $(head -3 "$work/err")"; continue
        fi
        settled 60 evp_restart || fail "$label: blocks still pending"
        got=$(q -d evp_restart -At -F ' ' -c "SELECT (SELECT count(*) FROM evp.event_copies), (SELECT count(*) FROM evp.held_blocks)")
        grep -qx "$copies 0" <<<"$got" || fail "$label: copies recorded and blocks held: $got, expected $copies 0"
        compare_fixture evp_restart event-logger || fail "$label: state or history differs from expected.json"
        runs=$((runs + 1))
    done
done
echo "ok plugin_restart: $runs chains in the plugin's restart shape (sync and async; H holding each of 5 transitions, copied whole or as a prefix, or reverted by a later reorg): exact, history included, each copy counted once"
exit $status
