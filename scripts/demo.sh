#!/usr/bin/env bash
# The demo: installs what is missing, builds and installs the extension, starts a throwaway
# cluster, loads a sample chain and prints what the extension made of it. Cleans up on exit.
# EVP_PG picks the PostgreSQL version (15, 18); EVP_PG_CONFIG=<pg_config> runs it on that
# installation as it is, with the extension installed there already (from the package).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

if [ -z "${EVP_PG_CONFIG:-}" ]; then
    ensure_prerequisites
    install_extension
fi
EVP_PORT=${EVP_PORT:-54339} start_cluster
log "server: $(q -At -c "SELECT version()" | cut -d, -f1); extension library from $(q -At -c \
    "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")"
# The indexer's tables with the optional from_address column: the sample chain's round events
# are emitted by the round contracts (direct layout).
fresh_db demo tests/fixtures/input_tables_with_from_address.sql
export PGDATABASE=demo

log "tables of the extension (the indexer's input tables stay the indexer's)"
q -c "SELECT n.nspname AS schema, c.relname AS table,
             CASE WHEN d.objid IS NULL THEN 'indexer (kept on DROP EXTENSION)' ELSE 'extension' END AS owner
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
       WHERE c.relkind = 'r' AND n.nspname IN ('public', 'evp') ORDER BY 3 DESC, 1, 2"

log "the indexer inserts the sample chain (tests/fixtures/direct): 2 vaults, 5 LPs, 3 rounds each,
    one transaction per block; each block is applied inside its inserting transaction"
start=$(date +%s%N)
q -f tests/fixtures/direct/chain.sql >/dev/null
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
q -c "SELECT count(*) AS blocks, sum(events_applied) AS events_applied, $elapsed_ms AS load_ms FROM evp.applied_blocks"

log "a few events as evp_decode_event sees them"
q -c "SELECT DISTINCT ON (event_name) block_number, event_name,
             left(evp_decode_event(event_name, event_keys, event_data)::text, 110) AS decoded
        FROM events ORDER BY event_name, block_number, event_nonce LIMIT 6"

# Addresses shortened for the terminal; the tables hold them whole.
a() { echo "left($1, 8) || '…'"; }

log '"VaultStates"'
q -c "SELECT $(a address) AS vault, unlocked_balance, locked_balance, stashed_balance, current_round AS round,
             alpha, strike_level, latest_block FROM \"VaultStates\" ORDER BY address"
log '"Liquidity_Providers"'
q -c "SELECT $(a address) AS lp, $(a vault_address) AS vault, unlocked_balance, locked_balance, stashed_balance
        FROM \"Liquidity_Providers\" ORDER BY vault_address, address"
log '"Option_Rounds"'
q -c "SELECT $(a vault_address) AS vault, round_id AS id, state, starting_liquidity, clearing_price, sold_options,
             premiums, payout_per_option, remaining_liquidity
        FROM \"Option_Rounds\" ORDER BY vault_address, round_id"
log '"Option_Buyers"'
q -c "SELECT $(a b.address) AS buyer, $(a r.vault_address) AS vault, r.round_id AS round, mintable_options,
             refundable_amount, has_minted, has_refunded
        FROM \"Option_Buyers\" b JOIN \"Option_Rounds\" r ON r.address = b.round_address
       ORDER BY r.vault_address, r.round_id, b.address"
log "every vault's LPs together never hold more than the vault (rounding is per account)"
q -c "SELECT $(a v.address) AS vault, v.unlocked_balance + v.locked_balance + v.stashed_balance AS vault_total,
             sum(l.unlocked_balance + l.locked_balance + l.stashed_balance) AS lp_total
        FROM \"VaultStates\" v JOIN \"Liquidity_Providers\" l ON l.vault_address = v.address GROUP BY v.address"

log "a reorg: the indexer deletes the newest block that changed a vault; the extension reverts it"
blk=$(q -At -c 'SELECT max(block_number) FROM "Vault_Historic"')
changed=$(q -At -c "SELECT string_agg(quote_literal(address), ',') FROM \"Vault_Historic\" WHERE block_number = $blk")
vaults="SELECT $(a address) AS vault, unlocked_balance, locked_balance, stashed_balance, latest_block
          FROM \"VaultStates\" WHERE address IN ($changed)"
echo "before (block $blk applied):"
q -c "$vaults"
q -c "DELETE FROM starknet_blocks WHERE block_number = $blk"
echo "after DELETE FROM starknet_blocks WHERE block_number = $blk:"
q -c "$vaults"
q -c "SELECT max(block_number) AS applied_tip FROM evp.applied_blocks"

log "a malformed event is rejected with a readable error"
q -c "SELECT evp_decode_event(name, ARRAY[selector, '0x1'], ARRAY['0x5g', '0x0', '0x5', '0x0', '0x5', '0x0'])
        FROM evp_event_kinds() WHERE name = 'Deposit'" 2>&1 || true
log "a chain written the way the Pitch Lake indexer writes (tests/fixtures/event-logger): its own
    schema first, then CREATE EXTENSION; deployment blocks without a row, a StartBlock notice per
    block, two reorgs as REVERTED rows whose numbers the new fork inserts again"
fresh_db demo_indexer tests/fixtures/event-logger/setup.sql
q -d demo_indexer -f tests/fixtures/event-logger/chain.sql >/dev/null
echo "the deployment block has no row: applied at its own number, dates from start_date − round_transition_period:"
q -d demo_indexer -c "SELECT $(a v.address) AS vault, v.deployment_date, r.start_date AS round_1_start,
             v.round_transition_period, a.block_number AS deployment_block,
             EXISTS (SELECT FROM starknet_blocks b WHERE b.block_number = a.block_number) AS has_row
        FROM \"VaultStates\" v JOIN \"Option_Rounds\" r ON r.vault_address = v.address AND r.round_id = 1,
             (SELECT min(block_number) AS block_number FROM evp.applied_blocks) a ORDER BY v.address"
echo "the notices beside the block rows, all handled; the reverted blocks (the block ledger) the new fork replaced:"
q -d demo_indexer -c "SELECT type, count(*) FILTER (WHERE is_processed) AS processed, count(*) AS total
                        FROM driver_events GROUP BY type ORDER BY type"
q -d demo_indexer -c "SELECT block_number, left(block_hash, 12) || '…' AS reverted_hash,
             (SELECT left(b.block_hash, 12) || '…' FROM starknet_blocks b WHERE b.block_number = x.block_number) AS row_now
        FROM evp.blocks x WHERE x.state = 'reverted' ORDER BY block_number"
q -d demo_indexer -c "SELECT last_applied_block, pending_blocks, waiting_for FROM evp_status"

log "demo finished; the cluster is stopped and removed on exit"
