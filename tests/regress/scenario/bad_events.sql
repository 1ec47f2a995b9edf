-- Every class of bad event, under evp.on_error = abort and = skip, for the layout and input
-- style the including file set up (t.config, the helpers). Each case is one statement that
-- writes one bad event into block 2, between two good Deposits of LP 0xe (so a run of
-- Deposits has to fall back to event by event); then the block row. Every attempt is undone,
-- so each case starts from the same state.
--   abort: the block fails with the case's SQLSTATE, the message names block, vault, event
--          nonce and event name, nothing of the Rust inside shows (reason: the message's cause);
--   skip:  the block applies; exactly the bad event is in evp.failed_events with the same
--          SQLSTATE and reason, the block counts 2 applied and 1 failed, and the output tables
--          equal those of block 2 with the good Deposits alone (and, in the indexer's style,
--          every driver event is processed).
\set SHOW_CONTEXT never
\set QUIET on
-- Round 1 auctioning, 100 locked by LP 0xa; bids 0xb1 (40 @ 5, tree 0) and 0xb2 (60 @ 4, tree 1).
SELECT t.round_deployed(1, 1, '0xc1'), t.contract_deployed(1), t.liquidity(1, 'Deposit', '0xa', 100, 100, 100);
SELECT t.round_event(1, 'AuctionStarted', ARRAY[]::text[], t.u256(100) || t.u256(100));
SELECT t.bid_placed(1, '0xb', '0xb1', 40, 5, 0), t.bid_placed(1, '0xb', '0xb2', 60, 4, 1), t.block(1);

CREATE TABLE t.cases (ord serial, name text NOT NULL, layout text, statement text NOT NULL);
-- A layout of NULL: the case holds in every layout and style.
INSERT INTO t.cases (name, layout, statement) VALUES
-- Felts that are not felts (SPEC 3).
('non_hex_felt', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY['0x5g', '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('no_0x_prefix', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY['5', '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('no_hex_digits', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY['0x', '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('negative_felt', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY['-0x1', '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('null_felt', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY[NULL, '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('felt_not_below_p', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0x800000000000011000000000000000000000000000000000000000000000001'],
                                     ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
-- Layouts: selector, missing and extra felts.
('no_selector', NULL, $c$SELECT t.insert_event(2, 'Deposit', ARRAY[]::text[], ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('wrong_selector', NULL, $c$SELECT t.insert_event(2, 'Deposit', ARRAY[t.sel('Withdrawal'), '0xa'], ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('missing_key', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY[]::text[], ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('extra_key', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0xa', '0xa'], ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('missing_data', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY['0x5', '0x0', '0x5', '0x0', '0x5'])$c$),
('extra_data', NULL, $c$SELECT t.emit(2, 'Withdrawal', ARRAY['0xa'], ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0', '0x0'])$c$),
('round_event_extra_data', NULL, $c$SELECT t.round_event(2, 'AuctionStarted', ARRAY[]::text[], t.u256(1) || t.u256(1) || '0x0'::text)$c$),
('forwarded_without_round_id', NULL, $c$SELECT t.emit(2, 'AuctionEnded', ARRAY[]::text[], t.u256(100) || t.u256(4) || t.u256(0) || t.felt(1) || '0xc1'::text)$c$),
('forwarded_without_round_address', NULL, $c$SELECT t.emit(2, 'AuctionEnded', ARRAY['0x1'], t.u256(100) || t.u256(4) || t.u256(0) || t.felt(1))$c$),
('fossil_callback_missing_data', NULL, $c$SELECT t.emit(2, 'FossilCallbackSuccess', ARRAY[]::text[], t.u256(1) || t.felt(1))$c$),
-- Values out of their type's range.
('u256_low_out_of_range', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY[t.felt(t.k(1)), '0x0', '0x5', '0x0', '0x5', '0x0'])$c$),
('u256_high_out_of_range', NULL, $c$SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY['0x5', t.felt(t.k(1)), '0x5', '0x0', '0x5', '0x0'])$c$),
('u128_out_of_range', NULL, $c$SELECT t.emit(2, 'WithdrawalQueued', ARRAY['0xa'], ARRAY[t.felt(t.k(1)), '0x1'] || t.u256(0) || t.u256(1) || t.u256(1))$c$),
('u64_out_of_range', NULL, $c$SELECT t.emit(2, 'WithdrawalQueued', ARRAY['0xa'], ARRAY['0x1', t.felt(2::numeric ^ 64)] || t.u256(0) || t.u256(1) || t.u256(1))$c$),
('i128_out_of_range', NULL, $c$SELECT t.emit(2, 'ContractDeployed', ARRAY[]::text[], ARRAY['0xa11', '0xde', '0x1', '0xc1a55', '0xa', '0xf0551', '0xe7',
       '0xc1a55', '0x9c4', t.felt(2::numeric ^ 127), '0x12c', '0x258', '0x384', '0x7', '0x5'])$c$),
('unknown_vault_generation', NULL, $c$SELECT t.emit(2, 'ContractDeployed', ARRAY[]::text[], ARRAY['0xa11', '0xde', '0x1', '0xc1a55', '0x7', '0xf0551', '0xe7',
       '0xc1a55', '0x9c4', '0x3e8', '0x12c', '0x258'])$c$),
('zero_tree_nonce', NULL, $c$SELECT t.round_event(2, 'BidPlaced', ARRAY['0xb'], ARRAY['0xb3'] || t.u256(1) || t.u256(5) || t.felt(0))$c$),
-- Events that decode but contradict the state.
('unknown_round', NULL, $c$SELECT t.round_event(2, 'AuctionStarted', ARRAY[]::text[], t.u256(1) || t.u256(1), 9, '0xc9')$c$),
('queued_in_unknown_round', NULL, $c$SELECT t.queue(2, '0xa', 100, 0, 1, 1, 9)$c$),
('unknown_bid', NULL, $c$SELECT t.bid_updated(2, '0xb', '0xb9', 1, 0, 2)$c$),
('clearing_bid_mismatch', NULL, $c$SELECT t.round_event(2, 'AuctionEnded', ARRAY[]::text[], t.u256(100) || t.u256(4) || t.u256(0) || t.felt(0))$c$),
('options_sold_unbid', NULL, $c$SELECT t.round_event(2, 'AuctionEnded', ARRAY[]::text[], t.u256(101) || t.u256(4) || t.u256(0) || t.felt(1))$c$),
('negative_balance', NULL, $c$SELECT t.round_event(2, 'AuctionEnded', ARRAY[]::text[], t.u256(0) || t.u256(0) || t.u256(101) || t.felt(0))$c$),
('deployed_under_another_vault', NULL, $c$SELECT t.emit(2, 'ContractDeployed', ARRAY[]::text[], ARRAY['0xbeef', '0xde', '0x1', '0xc1a55', '0xa', '0xf0551', '0xe7',
       '0xc1a55', '0x9c4', '0x3e8', '0x12c', '0x258', '0x384', '0x7', '0x5', '0x5a17'])$c$),
('vault_address_not_a_felt', NULL, $c$UPDATE t.config SET vault = 'vault 1'; SELECT t.liquidity(2, 'Deposit', '0xa', 1, 1, 1); UPDATE t.config SET vault = '0xa11'$c$),
('emitter_not_a_felt', 'direct', $c$SELECT t.emit(2, 'AuctionStarted', ARRAY[]::text[], t.u256(1) || t.u256(1), 'round 1')$c$),
-- Not a Pitch Lake event: counted as ignored, never an error.
('not_a_pitch_lake_event', NULL, $c$SELECT t.emit(2, 'Transfer', ARRAY['0xa', '0xb'], t.u256(1))$c$);

-- The output tables, for comparing states.
CREATE FUNCTION t.outputs() RETURNS text LANGUAGE sql AS $$
SELECT md5(string_agg(r, '|' ORDER BY r)) FROM (
    SELECT 'v' || x::text r FROM "VaultStates" x UNION ALL SELECT 'l' || x::text FROM "Liquidity_Providers" x
    UNION ALL SELECT 'o' || x::text FROM "Option_Rounds" x UNION ALL SELECT 'q' || x::text FROM "Queued_Liquidity" x
    UNION ALL SELECT 'b' || x::text FROM "Option_Buyers" x UNION ALL SELECT 'd' || x::text FROM "Bids" x
    UNION ALL SELECT 'vh' || x::text FROM "Vault_Historic" x UNION ALL SELECT 'lh' || x::text FROM "Liquidity_Providers_Historic" x) u $$;

CREATE TYPE t.attempt AS (sqlstate text, message text, rust_inside boolean, vault text, nonce bigint, name text,
                          failed evp.failed_events[], counts int[], outputs text, unprocessed bigint);
-- Block 2 with the case's event between the good Deposits, under `on_error`; then undone.
CREATE FUNCTION t.attempt(statement text, on_error text) RETURNS t.attempt LANGUAGE plpgsql AS $$
DECLARE
    a t.attempt;
    d text; h text;
BEGIN
    BEGIN
        PERFORM set_config('evp.on_error', on_error, true);
        PERFORM t.liquidity(2, 'Deposit', '0xe', 7, 7, 7);
        EXECUTE statement;
        SELECT vault_address, event_nonce, event_name INTO a.vault, a.nonce, a.name
          FROM events WHERE block_number = 2 AND event_keys[2] IS DISTINCT FROM '0xe';
        PERFORM t.liquidity(2, 'Deposit', '0xe', 1, 8, 8);
        BEGIN
            PERFORM t.block(2);
            a.failed := ARRAY(SELECT f FROM evp.failed_events f WHERE block_number = 2);
            a.counts := ARRAY(SELECT unnest(ARRAY[events_applied, events_ignored, events_failed])
                                FROM evp.applied_blocks WHERE block_number = 2);
            a.outputs := t.outputs();
            IF to_regclass('driver_events') IS NOT NULL THEN
                EXECUTE 'SELECT count(*) FROM driver_events WHERE NOT is_processed' INTO a.unprocessed;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS a.sqlstate = RETURNED_SQLSTATE, a.message = MESSAGE_TEXT,
                                    d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
            a.rust_inside := concat_ws(' ', a.message, d, h)
                             ~ '([a-z_]+::[a-z_]|\.rs:[0-9]|panicked|backtrace|RUST_|SpiTupleTable|called `)';
        END;
        RAISE EXCEPTION USING ERRCODE = 'EVPUN';
    EXCEPTION WHEN SQLSTATE 'EVPUN' THEN
        RETURN a;
    END;
END $$;
CREATE TABLE t.before AS SELECT evp.state_digest() AS digest, (t.attempt('SELECT NULL', 'abort')).outputs AS good_only;
\set QUIET off

SELECT c.name AS "case",
       a.sqlstate,
       a.message LIKE format('%%block 2, vault %s, event nonce %s (%s)%%', s.vault, s.nonce, s.name) AS named,
       NOT a.rust_inside AS clean,
       s.sqlstate IS NULL AND s.counts = ARRAY[2, 0, 1] AND cardinality(s.failed) = 1
           AND (s.failed[1]).event_nonce = s.nonce AND (s.failed[1]).event_name = s.name
           AND (s.failed[1]).sqlstate = a.sqlstate AND a.message LIKE '%' || (s.failed[1]).reason
           AND coalesce(s.unprocessed, 0) = 0 AS skipped,
       s.outputs = b.good_only AS rest_applied,
       coalesce(substring(a.message FROM '\): (.*)$'), a.message, 'no error; counts ' || s.counts::text) AS reason
  FROM t.cases c, t.config cfg, t.before b,
       LATERAL t.attempt(c.statement, 'abort') a, LATERAL t.attempt(c.statement, 'skip') s
 WHERE c.layout IS NULL OR c.layout = cfg.layout
 ORDER BY c.ord;

-- Nothing of any attempt is left.
SELECT evp.state_digest() = digest AS state_unchanged, (SELECT count(*) FROM events WHERE block_number = 2) AS events_of_block_2
  FROM t.before;

SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
DROP TABLE IF EXISTS driver_events, vault_registry;
DROP SEQUENCE IF EXISTS driver_events_sequence;
DROP FUNCTION IF EXISTS notify_insert_starknet_blocks, notify_revert_starknet_blocks, notify_insert_registry, notify_driver_event;
RESET client_min_messages;
