-- Errors people read: each class of error a SQL caller can meet has a SQLSTATE, one sentence of
-- cause (a HINT where an action helps) and nothing of the Rust inside: no backtrace, no Rust
-- path, no panic in its message, DETAIL or HINT.
\i tests/regress/scenario/helpers.sql
\set SHOW_CONTEXT never
CREATE FUNCTION t.error_of(statement text)
RETURNS TABLE (sqlstate text, message text, detail text, hint text, rust_inside boolean)
LANGUAGE plpgsql AS $$
DECLARE
    s text; m text; d text; h text;
BEGIN
    EXECUTE statement;
    RETURN QUERY SELECT NULL::text, 'no error'::text, NULL::text, NULL::text, NULL::boolean;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN QUERY SELECT s, m, nullif(d, ''), nullif(h, ''),
        concat_ws(' ', m, d, h) ~ '([a-z_]+::[a-z_]|\.rs:[0-9]|panicked|backtrace|RUST_|SpiTupleTable|called `)';
END $$;

-- The errors of evp.on_error = abort (the default, hold, keeps the indexer's transaction: see
-- apply_errors.sql).
SET evp.on_error = abort;
-- A vault with round 1 at block 1.
SELECT t.round_deployed(1, 1, '0xc1'), t.liquidity(1, 'Deposit', '0xa', 100, 100, 100), t.block(1);
\x on
-- An event that does not decode (22000).
SELECT t.emit(2, 'Deposit', ARRAY['0xa'], ARRAY['0x5g', '0x0', '0x1', '0x0', '0x1', '0x0']);
SELECT * FROM t.error_of('SELECT t.block(2)');
DELETE FROM events WHERE block_number = 2;
-- An event inconsistent with the state (23000): a round the vault does not have.
SELECT t.round_event(2, 'AuctionStarted', ARRAY[]::text[], t.u256(1) || t.u256(1), 9, '0xc9');
SELECT * FROM t.error_of('SELECT t.block(2)');
DELETE FROM events WHERE block_number = 2;
-- A transition that would make a balance negative (23514).
SELECT t.round_event(2, 'AuctionEnded', ARRAY[]::text[], t.u256(0) || t.u256(0) || t.u256(5) || t.felt(0));
SELECT * FROM t.error_of('SELECT t.block(2)');
DELETE FROM events WHERE block_number = 2;
-- A block below the applied tip (55000).
SELECT * FROM t.error_of('SELECT t.block(0)');
-- A revert below the journal horizon (55000).
SET evp.journal_horizon = 1;
SELECT t.block(2), t.block(3), t.block(4);
SELECT * FROM t.error_of('SELECT evp_revert_to(1)');
RESET evp.journal_horizon;
-- Bad settings (22023).
SELECT * FROM t.error_of('SET evp.mode = bogus');
SELECT * FROM t.error_of('SET evp.notify_queue_limit = 2');
-- Bad input to the decoder (22023).
SELECT * FROM t.error_of($$SELECT evp_decode_event('Deposit', ARRAY['0x1'], ARRAY[]::text[])$$);
-- A role without the grant (42501).
CREATE ROLE regress_evp_nobody;
GRANT USAGE ON SCHEMA t TO regress_evp_nobody;
SET ROLE regress_evp_nobody;
SELECT * FROM t.error_of('SELECT evp_rebuild()');
SELECT * FROM t.error_of($$SELECT evp.revert_block(1, '0x1')$$);
RESET ROLE;
\x off

SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP OWNED BY regress_evp_nobody;
DROP ROLE regress_evp_nobody;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
RESET client_min_messages;
