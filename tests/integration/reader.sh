#!/usr/bin/env bash
# The state and the notifications as the Pitch Lake websocket server reads them (SPEC 7.2):
# every fixture is loaded by a session that LISTENs on the five channels (reorgs and their
# reverts included); each notification is decoded by reader.py with the types the server
# decodes into, and its SQL is run for every vault, LP and buyer. Then a stalled reader: a
# session that LISTENs and never reads fills the notification queue; above
# evp.notify_queue_limit notifications are skipped and counted, with one WARNING, while the
# indexer's blocks keep committing and the state stays exact; once the reader goes, they are
# sent again.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test reader
listen="LISTEN vault_update; LISTEN lp_update; LISTEN or_update; LISTEN ob_update; LISTEN bids_update;"

for fx in direct forwarded-reorgs event-logger bad-input; do
    db=evp_reader_${fx//-/_}
    case $fx in
        direct) fresh_db "$db" "$fixtures/input_tables_with_from_address.sql" ;;
        event-logger) fresh_db "$db" "$fixtures/event-logger/setup.sql" ;;
        *) fresh_db "$db" ;;
    esac
    out=$PGHOST/reader-$fx.out
    { echo "$listen"; cat "$fixtures/$fx/chain.sql"; } | q -d "$db" >"$out"
    if python3 "$here/reader.py" notifications "$out" >"$out.check" \
       && python3 "$here/reader.py" queries "$db" "$fixtures/$fx/expected.json" >>"$out.check"; then
        echo "ok reader $fx: $(grep -h '^decoded\|^ran' "$out.check" | paste -sd ';' | sed 's/;/; /')"
    else
        echo "FAIL reader $fx:"; grep -v '^reader problems' "$out.check" | head -20; status=1
    fi
    dropdb "$db"
done

# A stalled reader. The limit is one that this chain's notifications pass: a hundred-thousandth
# of the queue (the queue has about a million 8 kB pages).
db=evp_reader_stalled
fresh_db "$db" "$fixtures/input_tables_with_from_address.sql"
{ echo "$listen"; echo "SELECT pg_sleep(600);"; } | psql -X -q -d "$db" >/dev/null 2>&1 &
stalled=$!
for _ in $(seq 100); do
    [ "$(q -d "$db" -At -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600);'")" = 1 ] && break
    sleep 0.1
done
limit=0.00001
if ! PGOPTIONS="-c evp.notify_queue_limit=$limit" q -d "$db" -f "$fixtures/direct/chain.sql" >/dev/null 2>"$PGHOST/stalled.err"; then
    echo "FAIL reader stalled: the indexer's inserts failed:"; head -5 "$PGHOST/stalled.err"; status=1
fi
share=$(q -d "$db" -At -c "SELECT round((100 * pg_notification_queue_usage())::numeric, 4)")
read -r blocks skipped since <<<"$(q -d "$db" -At -F ' ' -c \
    "SELECT (SELECT count(*) FROM evp.applied_blocks), notifications_skipped, notifications_skipping_since IS NOT NULL FROM evp_status")"
warnings=$(grep -c 'WARNING:  event_processor: the notification queue is' "$PGHOST/stalled.err" || true)
state="mismatches: 0"
compare_fixture "$db" direct >"$PGHOST/stalled.compare" || state=$(tail -1 "$PGHOST/stalled.compare")
if [ "$blocks" = 168 ] && [ "$skipped" -gt 0 ] && [ "$since" = t ] && [ "$warnings" = 1 ] && [ "$state" = "mismatches: 0" ]; then
    echo "ok reader stalled: with a listener that never reads, the queue reached $share % (limit $(awk "BEGIN {print $limit * 100}") %); $skipped notifications skipped, one WARNING; all $blocks blocks committed, state exact"
else
    echo "FAIL reader stalled: blocks $blocks, skipped $skipped, skipping $since, $warnings warnings, $state"; status=1
fi
# The reader goes: the queue drains, and the next block's notifications are sent again.
q -d "$db" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600);'" >/dev/null
wait "$stalled" || true
read -r tip hash <<<"$(q -d "$db" -At -F ' ' -c "SELECT block_number, block_hash FROM starknet_blocks ORDER BY block_number DESC LIMIT 1")"
got=$(PGOPTIONS="-c evp.notify_queue_limit=$limit" q -d "$db" <<SQL
LISTEN vault_update;
BEGIN;
INSERT INTO events SELECT 1, $((tip + 1)), '0xb10c', '0xd1', name, ARRAY[selector, '0xd2'], '{0x1,0x0,0x1,0x0,0x1,0x0}', '0x1', '0xd1'
  FROM evp_event_kinds() WHERE name = 'Deposit';
INSERT INTO starknet_blocks VALUES ($((tip + 1)), '0xb10c', '$hash', 1800000000, 'MINED');
COMMIT;
SQL
)
if grep -q '^Asynchronous notification "vault_update"' <<<"$got" \
   && [ "$(q -d "$db" -At -c 'SELECT notifications_skipping_since IS NULL FROM evp_status')" = t ]; then
    echo "ok reader stalled: once the reader is gone, notifications are sent again (queue at $(q -d "$db" -At -c 'SELECT pg_notification_queue_usage()'))"
else
    echo "FAIL reader stalled: no notification after the reader went"; status=1
fi
dropdb "$db"
exit $status
