#!/usr/bin/env bash
# The reference chains of tests/fixtures, applied in sync mode (with their reorgs), must produce
# exactly their expected state and history, holding nothing; every bad block must be rejected
# under evp.on_error = abort without changing anything, recorded under skip, and held under
# hold (the default) with the indexer's rows kept, until it is fixed.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test fixtures

# Loads a chain into a fresh database and compares the state with the fixture.
check_chain() { # name, [file creating the input tables]
    local name=$1 db=evp_fx_${1//-/_}
    fresh_db "$db" "${2:-}"
    if ! q -d "$db" -f "$fixtures/$name/chain.sql" >/dev/null 2>"$PGHOST/$name.err"; then
        echo "FAIL fixture $name: chain.sql failed"; cat "$PGHOST/$name.err"; status=1; return
    fi
    compare "$db" "$name" "fixture $name"
    held=$(q -d "$db" -At -c "SELECT count(*) FROM evp.held_blocks")
    [ "$held" = 0 ] || { echo "FAIL fixture $name: $held blocks held"; status=1; }
}

compare() { # db, fixture, label
    if compare_fixture "$1" "$2"; then echo "ok $3: state and history equal expected.json"; else fail "$3"; fi
}

# A chain that check_chain applied, loaded again with evp.mode = off, then one evp_catchup():
# the walk writes the history, notifications and change feed of small blocks a batch at a time
# (src/apply/written.rs). It must leave the fixture's state and record what applying the chain
# block by block recorded: the same change feed, row for row, and the same journal. With a
# bad block loaded after the chain, the catch-up holds it (evp.on_error = hold): the walk is
# rolled back, batches and all, walked again up to it, and the rest must be as without it.
check_catchup() { # name, [file creating the input tables], [a bad block's transaction]
    local name=$1 db=evp_fx_${1//-/_} cu=evp_fx_${1//-/_}_catchup
    fresh_db "$cu" "${2:-}"
    PGOPTIONS="-c evp.mode=off" q -d "$cu" -f "$fixtures/$name/chain.sql" >/dev/null
    [ -z "${3:-}" ] || PGOPTIONS="-c evp.mode=off" q -d "$cu" -c "$3" >/dev/null
    q -d "$cu" -c "SELECT evp_catchup()" >/dev/null
    local held expected_held=0
    [ -z "${3:-}" ] || expected_held=1
    held=$(q -d "$cu" -At -c "SELECT count(*) FROM evp.held_blocks")
    [ "$held" = "$expected_held" ] || fail "fixture $name by evp_catchup(): $held blocks held, $expected_held expected"
    compare "$cu" "$name" "fixture $name by evp_catchup()"
    local feed='SELECT block_number, block_hash, table_name, op, "row", reverted FROM evp.changes ORDER BY position'
    local journal='SELECT at_block, address, vault_address, old FROM evp."journal_Liquidity_Providers" ORDER BY seq'
    local sql same=yes changes
    for sql in "$feed" "$journal"; do
        if ! diff <(q -d "$db" -At -c "$sql") <(q -d "$cu" -At -c "$sql") >"$PGHOST/$name.catchup.diff"; then
            fail "fixture $name by evp_catchup(): it differs from the sync load in: $sql"
            head -20 "$PGHOST/$name.catchup.diff"
            same=no
        fi
    done
    changes=$(q -d "$cu" -At -c "SELECT count(*) FROM evp.changes")
    [ "$same" = no ] ||
        echo "ok fixture $name by evp_catchup(): the same $changes changes, in order, and journal as the sync load"
    dropdb "$cu"
}

check_chain direct "$fixtures/input_tables_with_from_address.sql"
check_chain bad-input
check_chain forwarded-reorgs
# The performance workload (8 vaults, 60 LPs, about 8 events a block): exact too.
check_chain dense
check_catchup dense
check_catchup direct "$fixtures/input_tables_with_from_address.sql"
# Written as the Pitch Lake indexer writes (SPEC 7.1), on its own schema: blocks without a
# row, COUNT(*)+1 nonces, driver events, reorgs as REVERTED rows replaced by the new fork.
check_chain event-logger "$fixtures/event-logger/setup.sql"
left=$(q -d evp_fx_event_logger -At -c "SELECT count(*) FROM driver_events WHERE NOT is_processed")
[ "$left" = 0 ] || { echo "FAIL fixture event-logger: $left driver events left unprocessed"; status=1; }

# The transactions of bad.sql, NUL-separated.
bad_blocks() {
    awk '/^BEGIN;/{buf=""} {buf=buf $0 "\n"} /^COMMIT;/{printf "%s%c", buf, 0}' "$fixtures/bad-input/bad.sql"
}

# Each bad block must fail under evp.on_error = abort and leave the state untouched.
db=evp_fx_bad_input
cases=$(grep -c '^-- bad block' "$fixtures/bad-input/bad.sql")
rejected=0
while IFS= read -r -d '' block; do
    if PGOPTIONS="-c evp.on_error=abort" q -d "$db" -c "$block" >/dev/null 2>>"$PGHOST/bad.err"; then
        echo "FAIL bad-input: a bad block was accepted:"; head -c 400 <<<"$block"; status=1
    else
        rejected=$((rejected + 1))
    fi
done < <(bad_blocks)
[ "$rejected" -eq "$cases" ] || { echo "FAIL bad-input: $rejected of $cases bad blocks rejected"; status=1; }
echo "ok bad-input: $rejected of $cases bad blocks rejected; the errors:"
grep -E '^ERROR' "$PGHOST/bad.err" | sed 's/^/    /'
compare "$db" bad-input "bad-input after the bad blocks"
# The valid chain and its first bad block, applied by one evp_catchup(): the bad block held.
check_catchup bad-input "" "$(bad_blocks | head -z -n 1 | tr -d '\0')"

# Under evp.on_error = skip each bad block is applied without its bad event, which is recorded
# in evp.failed_events with its reason; the state stays that of the valid chain. Each case
# runs on a copy of the database (CREATE DATABASE … TEMPLATE).
recorded=0
while IFS= read -r -d '' block; do
    dropdb --if-exists evp_fx_skip && createdb -T "$db" evp_fx_skip
    PGOPTIONS="-c evp.on_error=skip" q -d evp_fx_skip -c "$block" >/dev/null
    n=$(q -d evp_fx_skip -At -c "SELECT count(*) FROM evp.failed_events f JOIN evp.applied_blocks b USING (block_number)
                                  WHERE b.events_failed = 1 AND f.reason <> ''")
    if [ "$n" = 1 ]; then recorded=$((recorded + 1)); else echo "FAIL bad-input skip: $n failures recorded for:"; head -c 300 <<<"$block"; status=1; fi
    compare evp_fx_skip bad-input "bad-input skip case $recorded" >/dev/null
done < <(bad_blocks)
dropdb --if-exists evp_fx_skip
[ "$recorded" -eq "$cases" ] || { echo "FAIL bad-input skip: $recorded of $cases recorded"; status=1; }
echo "ok bad-input under evp.on_error = skip: $recorded of $cases bad events recorded in evp.failed_events, state as expected"

# Under evp.on_error = hold (the default) each bad block's transaction commits: its rows are
# kept, the block is held with its cause and the state stays that of the valid chain; once the
# bad event is deleted, evp_catchup() applies the block (empty then), and nothing is held.
held=0
while IFS= read -r -d '' block; do
    dropdb --if-exists evp_fx_hold && createdb -T "$db" evp_fx_hold
    if ! q -d evp_fx_hold -c "$block" >/dev/null 2>"$PGHOST/hold.err"; then
        echo "FAIL bad-input hold: the indexer's transaction failed:"; cat "$PGHOST/hold.err"; status=1; continue
    fi
    got=$(q -d evp_fx_hold -At -F ' ' -c "SELECT (SELECT count(*) FROM evp.held_blocks h JOIN starknet_blocks b
                                                      ON b.block_number = h.block_number AND h.reason <> ''),
                                                 (SELECT waiting_for LIKE '% is held, not applied%' FROM evp_status())")
    [ "$got" = "1 t" ] || { echo "FAIL bad-input hold: held and shown: $got"; head -c 300 <<<"$block"; status=1; }
    compare evp_fx_hold bad-input "bad-input hold case $((held + 1))" >/dev/null
    got=$(q -d evp_fx_hold -At -F ' ' \
            -c "DELETE FROM events e USING evp.held_blocks h
                 WHERE e.block_number = h.block_number AND e.event_nonce = h.event_nonce" \
            -c "SELECT evp_catchup()" \
            -c "SELECT (SELECT count(*) FROM evp.held_blocks), (SELECT pending_blocks FROM evp_status())" | tail -2 | paste -sd ' ')
    [ "$got" = "1 0 0" ] || { echo "FAIL bad-input hold: after the fix, evp_catchup() gave $got"; status=1; }
    compare evp_fx_hold bad-input "bad-input hold case $((held + 1)) fixed" >/dev/null
    held=$((held + 1))
done < <(bad_blocks)
dropdb --if-exists evp_fx_hold
[ "$held" -eq "$cases" ] || { echo "FAIL bad-input hold: $held of $cases held"; status=1; }
echo "ok bad-input under evp.on_error = hold: $held of $cases bad blocks committed and held, state as expected; each applied once fixed"
exit $status
