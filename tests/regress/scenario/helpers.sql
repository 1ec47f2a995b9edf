-- Helpers for the apply scenarios: build events in the indexer's format from plain numbers.
-- Vault 0xa11; every block's hash is derived from its number; timestamps 1700000000 + 12·n.
-- The input tables come from the file in psql variable input_tables if set (the Pitch Lake
-- indexer's schema, say), else they have the optional events.from_address column.
\set ECHO none
\set QUIET on
\if :{?input_tables}
\i :input_tables
\else
\i tests/fixtures/input_tables_with_from_address.sql
\endif
CREATE EXTENSION event_processor;
CREATE SCHEMA t;
-- Function bodies are resolved when called: a test may replace t.emit for other input tables.
SET check_function_bodies = off;
SET search_path = public, t;

-- A felt: hex of a non-negative integer, or P − |v| for a negative one (i128 fields).
CREATE FUNCTION t.felt(v numeric) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    digits text := '';
    x numeric := CASE WHEN v < 0 THEN 2::numeric ^ 251 + 17 * 2::numeric ^ 192 + 1 + v ELSE v END;
BEGIN
    LOOP
        digits := substr('0123456789abcdef', (mod(x, 16))::int + 1, 1) || digits;
        x := div(x, 16);
        EXIT WHEN x = 0;
    END LOOP;
    RETURN '0x' || digits;
END $$;
-- n·K, K = 2^128.
CREATE FUNCTION t.k(n numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS
$$ SELECT n * 340282366920938463463374607431768211456 $$;
CREATE FUNCTION t.u256(v numeric) RETURNS text[] LANGUAGE sql IMMUTABLE AS
$$ SELECT ARRAY[t.felt(mod(v, t.k(1))), t.felt(div(v, t.k(1)))] $$;

-- A kind's selector, from the registry (evp_event_kinds()). Transfer, the option token's ERC-20
-- event, is not Pitch Lake's: the registry has no selector for it, the tests have the chain's.
CREATE FUNCTION t.sel(name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT coalesce((SELECT k.selector FROM evp_event_kinds() k WHERE k.name = sel.name),
                CASE sel.name WHEN 'Transfer' THEN '0x99cd8bde557814842a3121e8ddfd433a539b8c9f14bf31ebf108d12e6196e9' END) $$;

-- Layout of round events, and the vault, for the events that follow.
CREATE TABLE t.config (layout text NOT NULL, vault text NOT NULL);
INSERT INTO t.config VALUES ('forwarded', '0xa11');

-- One event row as the indexer inserts it, keys with their selector; the indexer's own style
-- (tests/regress/scenario/indexer_helpers.sql) replaces it.
CREATE FUNCTION t.insert_event(blk int, name text, keys text[], data text[], emitter text DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
INSERT INTO events (event_nonce, block_number, block_hash, vault_address, event_name, event_keys, event_data,
                    transaction_hash, from_address)
SELECT coalesce((SELECT max(event_nonce) FROM events WHERE vault_address = c.vault), 0) + 1, blk, t.felt(blk::numeric * 7919),
       c.vault, name, keys, data, t.felt(blk::numeric * 104729), coalesce(emitter, c.vault)
  FROM t.config c $$;
CREATE FUNCTION t.emit(blk int, name text, keys text[], data text[], emitter text DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$ SELECT t.insert_event(blk, name, t.sel(name) || keys, data, emitter) $$;

-- A round event of round `round_id` at `round_addr` (default: round 1 at 0xc1), in the
-- configured layout: forwarded adds the round id key and the round address data felt;
-- direct has the round contract as emitter.
CREATE FUNCTION t.round_event(blk int, name text, keys text[], data text[], round_id int DEFAULT 1,
                              round_addr text DEFAULT '0xc1') RETURNS void LANGUAGE sql AS $$
SELECT CASE c.layout
    WHEN 'forwarded' THEN t.emit(blk, name, keys || t.felt(round_id), data || round_addr)
    ELSE t.emit(blk, name, keys, data, round_addr) END
  FROM t.config c $$;

CREATE FUNCTION t.round_deployed(blk int, round_id int, addr text) RETURNS void LANGUAGE sql AS $$
SELECT t.emit(blk, 'OptionRoundDeployed', ARRAY[]::text[],
              ARRAY[t.felt(round_id), addr, t.felt(1700000000 + 1000 * round_id), t.felt(1700000600 + 1000 * round_id),
                    t.felt(1700000900 + 1000 * round_id)] || t.u256(0) || t.felt(0) || t.u256(0)) $$;

-- The UDC's ContractDeployed stored under the vault (current generation, calldata_len 10):
-- transition period 300, auction 600, round 900.
CREATE FUNCTION t.contract_deployed(blk int) RETURNS void LANGUAGE sql AS $$
SELECT t.emit(blk, 'ContractDeployed', ARRAY[]::text[], ARRAY[c.vault, '0xde', '0x1', '0xc1a55', '0xa', '0xf0551', '0xe7',
       '0xc1a55', '0x9c4', '0x3e8', '0x12c', '0x258', '0x384', '0x7', '0x5', '0x5a17']) FROM t.config c $$;

CREATE FUNCTION t.liquidity(blk int, name text, account text, amount numeric, account_now numeric, vault_now numeric)
RETURNS void LANGUAGE sql AS $$
SELECT t.emit(blk, name, ARRAY[account], t.u256(amount) || t.u256(account_now) || t.u256(vault_now)) $$;

CREATE FUNCTION t.queue(blk int, account text, bps int, before numeric, now numeric, vault_now numeric, round_id int DEFAULT 1)
RETURNS void LANGUAGE sql AS $$
SELECT t.emit(blk, 'WithdrawalQueued', ARRAY[account],
              ARRAY[t.felt(bps), t.felt(round_id)] || t.u256(before) || t.u256(now) || t.u256(vault_now)) $$;

CREATE FUNCTION t.stash(blk int, account text, amount numeric, vault_now numeric) RETURNS void LANGUAGE sql AS $$
SELECT t.emit(blk, 'StashWithdrawn', ARRAY[account], t.u256(amount) || t.u256(vault_now)) $$;

-- BidPlaced: the bid takes tree nonce `tree`; the event reports the round's nonce after it
-- (tree + 1) in both layouts.
CREATE FUNCTION t.bid_placed(blk int, account text, bid_id text, amount numeric, price numeric, tree int,
                             round_id int DEFAULT 1, round_addr text DEFAULT '0xc1') RETURNS void LANGUAGE sql AS $$
SELECT t.round_event(blk, 'BidPlaced', ARRAY[account],
       ARRAY[bid_id] || t.u256(amount) || t.u256(price) || t.felt(tree + 1), round_id, round_addr) $$;

-- BidUpdated: the bid moves from tree nonce `before` to `after`; the forwarded layout reports
-- `after`, the direct one `after + 1`.
CREATE FUNCTION t.bid_updated(blk int, account text, bid_id text, increase numeric, before int, after int,
                              round_id int DEFAULT 1, round_addr text DEFAULT '0xc1') RETURNS void LANGUAGE sql AS $$
SELECT t.round_event(blk, 'BidUpdated', ARRAY[account],
       ARRAY[bid_id] || t.u256(increase) || t.felt(before)
       || t.felt(after + CASE (SELECT layout FROM t.config) WHEN 'direct' THEN 1 ELSE 0 END), round_id, round_addr) $$;

-- The block row, which applies the block's events in sync mode.
CREATE FUNCTION t.block(n int) RETURNS void LANGUAGE sql AS $$
INSERT INTO starknet_blocks VALUES (n, t.felt(n::numeric * 7919), t.felt((n - 1)::numeric * 7919), 1700000000 + 12 * n, 'MINED') $$;

CREATE FUNCTION t.balances() RETURNS TABLE (who text, unlocked numeric, locked numeric, stashed numeric, latest_block numeric)
LANGUAGE sql AS $$
SELECT 'vault', unlocked_balance, locked_balance, stashed_balance, latest_block FROM "VaultStates"
UNION ALL
(SELECT 'LP ' || address, unlocked_balance, locked_balance, stashed_balance, latest_block
   FROM "Liquidity_Providers" ORDER BY address) $$;

-- What must hold for every vault: Σ LP (locked + unlocked + stashed) ≤ the vault's.
CREATE FUNCTION t.totals() RETURNS TABLE (vault_total numeric, lp_total numeric, lp_total_within_vault boolean)
LANGUAGE sql AS $$
SELECT v.unlocked_balance + v.locked_balance + v.stashed_balance, l.total,
       l.total <= v.unlocked_balance + v.locked_balance + v.stashed_balance
  FROM "VaultStates" v,
       LATERAL (SELECT sum(unlocked_balance + locked_balance + stashed_balance) AS total
                  FROM "Liquidity_Providers" WHERE vault_address = v.address) l $$;
-- A digest of everything the extension writes: state, history, bookkeeping and journal.
CREATE FUNCTION t.digest() RETURNS text LANGUAGE sql AS $$ SELECT evp.state_digest() $$;
CREATE TABLE t.digests (block int PRIMARY KEY, digest text NOT NULL);
-- Records the digest as the state after block n.
CREATE FUNCTION t.snapshot(n int) RETURNS void LANGUAGE sql AS
$$ INSERT INTO t.digests VALUES (n, t.digest()) ON CONFLICT (block) DO UPDATE SET digest = EXCLUDED.digest $$;
-- Whether the state now is the state recorded after block n.
CREATE FUNCTION t.same_as(n int) RETURNS boolean LANGUAGE sql AS
$$ SELECT digest = t.digest() FROM t.digests WHERE block = n $$;
\set QUIET off
\set ECHO all
