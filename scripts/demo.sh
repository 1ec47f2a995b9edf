#!/usr/bin/env bash
# The demo: installs what is missing, builds and installs the extension, starts a throwaway
# cluster, loads a sample chain and prints what the extension made of it. Cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

ensure_prerequisites
install_extension
EVP_PORT=${EVP_PORT:-54339} start_cluster
q -c "CREATE DATABASE demo"
export PGDATABASE=demo
q -c "CREATE EXTENSION event_processor"

log "tables created by CREATE EXTENSION event_processor"
q -c "SELECT n.nspname AS schema, c.relname AS table, c.relnatts AS columns,
             CASE WHEN d.objid IS NULL THEN 'indexer (kept on DROP EXTENSION)' ELSE 'extension' END AS owner
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
       WHERE c.relkind = 'r' AND n.nspname IN ('public', 'evp') ORDER BY 4 DESC, 1, 2"

log "loading the sample chain tests/fixtures/forwarded-reorgs/chain.sql"
q -f tests/fixtures/forwarded-reorgs/chain.sql >/dev/null
q -c "SELECT count(*) AS blocks, (SELECT count(*) FROM events) AS events FROM starknet_blocks"

log "the first events of each kind, decoded by evp_decode_event"
q -c "SELECT DISTINCT ON (event_name) block_number, event_nonce, event_name,
             jsonb_pretty(evp_decode_event(event_name, event_keys, event_data)) AS decoded
        FROM events ORDER BY event_name, block_number, event_nonce"

log "a malformed event is rejected with a readable error"
q -c "SELECT evp_decode_event('Deposit', ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2', '0x1'],
                              ARRAY['0x5g', '0x0', '0x5', '0x0', '0x5', '0x0'])" 2>&1 || true
log "demo finished; the cluster is stopped and removed on exit"
