#!/usr/bin/env bash
# Monitoring (docs/operating.md, Monitoring): Debian's prometheus-postgres-exporter, with
# monitoring/postgres_exporter.yml, against a cluster whose worker applies a chain with reorgs
# (the forwarded-reorgs fixture) and then holds a block with an event that does not decode,
# while a consumer of the feed never acknowledges. The exporter connects as a role that is no
# superuser and was granted nothing. Its /metrics must carry every evp_ metric with the
# database's value, and the documented alerts, at their thresholds, must fire for the held block
# and the stalled consumer and for nothing else.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test exporter

start_preloaded_cluster 54364 evp_exporter
createdb evp_exporter
export PGDATABASE=evp_exporter
q -c "CREATE EXTENSION event_processor" -c "CREATE ROLE evp_monitor LOGIN"
q -At -c "SELECT evp_consumer_create('stalled')" >/dev/null
PGOPTIONS="-c evp.mode=async" q -f "$here/../fixtures/forwarded-reorgs/chain.sql" >/dev/null
settled 60 || fail "the worker did not apply the chain"
# One more block, whose Deposit has one data felt of six: held (evp.on_error = hold).
PGOPTIONS="-c client_min_messages=error" q -c "INSERT INTO events (event_nonce, block_number, block_hash, vault_address, event_name, event_keys, event_data,
                         transaction_hash)
      SELECT last_nonce + 1, 606532, '0xbad', vault_address, k.name, ARRAY[k.selector, '0xabc'], '{0x1}', '0xbad1'
        FROM evp.vault_progress, evp_event_kinds() k WHERE k.name = 'Deposit' ORDER BY vault_address LIMIT 1" \
  -c "INSERT INTO starknet_blocks VALUES (606532, '0xbad', (SELECT block_hash FROM starknet_blocks WHERE block_number = 606531),
                                         (SELECT timestamp + 12 FROM starknet_blocks WHERE block_number = 606531), 'MINED')"
for _ in $(seq 100); do [ "$(q -At -c "SELECT held_blocks FROM evp_status")" = 1 ] && break; sleep 0.1; done
[ "$(q -At -c "SELECT held_blocks FROM evp_status")" = 1 ] || fail "the bad block is not held"

listen=127.0.0.1:54366
DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=evp_monitor dbname=evp_exporter sslmode=disable" \
    prometheus-postgres-exporter --web.listen-address="$listen" --extend.query-path="$here/../../monitoring/postgres_exporter.yml" \
    --disable-default-metrics --disable-settings-metrics >"$CLUSTER_DIR/exporter.log" 2>&1 &
exporter=$!
trap 'kill $exporter 2>/dev/null || true' EXIT

# What the database says, read as the monitoring role: "name value" per metric.
expected=$(psql -X -q -At -U evp_monitor -F ' ' <<'SQL'
SELECT 'evp_' || key, value FROM evp_metrics m, jsonb_each_text(to_jsonb(m) - 'worker_state' - 'feed_consumer_max_lag_blocks')
UNION ALL SELECT format('evp_consumer_%s{consumer="%s"}', key, c.name), value
  FROM evp_consumers() c, jsonb_each_text(jsonb_build_object('lost', c.lost::int, 'lag_positions', c.lag_positions,
                                                             'lag_blocks', c.lag_blocks, 'lag_seconds', c.lag_seconds))
SQL
) || fail "the monitoring role cannot read evp_metrics or evp_consumers()"
checked=$(python3 "$here/exporter_check.py" "http://$listen/metrics" <<<"$expected") || fail "$checked"
[ $status = 0 ] && echo "ok exporter: $checked"
stop_cluster
exit $status
