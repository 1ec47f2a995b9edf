-- event_processor schema (SPEC sections 1 and 2). Included in the install script by pgrx.

-- The extension's own bookkeeping lives in a private schema, out of the readers' way.
CREATE SCHEMA evp;
COMMENT ON SCHEMA evp IS 'event_processor bookkeeping; not a public interface';

-- Input tables belong to the indexer. Create them when absent (and keep them out of the
-- extension, so DROP EXTENSION leaves them and their rows); adopt existing ones only when
-- every column the extension reads is there. CREATE TABLE IF NOT EXISTS cannot be used: an
-- extension script may not skip a table it does not own. Under pg_restore the dump itself
-- creates them right after CREATE EXTENSION, so they are left to it.
CREATE FUNCTION evp.require_columns(tbl regclass, required text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    col text;
BEGIN
    FOREACH col IN ARRAY required LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute
                       WHERE attrelid = tbl AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'event_processor: table % exists but has no column "%"', tbl, col
                USING ERRCODE = 'undefined_column',
                      HINT = format('The indexer''s table %s needs the columns %s.', tbl, array_to_string(required, ', '));
        END IF;
    END LOOP;
END $$;

DO $$
DECLARE
    restoring boolean := current_setting('application_name') = 'pg_restore';
BEGIN
    IF to_regclass('public.starknet_blocks') IS NULL AND NOT restoring THEN
        CREATE TABLE public.starknet_blocks (
            block_number numeric(78,0) PRIMARY KEY,
            block_hash varchar(66) NOT NULL,
            parent_hash varchar(66) NOT NULL,
            timestamp numeric(78,0) NOT NULL,
            status varchar(255) NOT NULL
        );
        ALTER EXTENSION event_processor DROP TABLE public.starknet_blocks;
    ELSIF to_regclass('public.starknet_blocks') IS NOT NULL THEN
        PERFORM evp.require_columns('public.starknet_blocks',
            ARRAY['block_number', 'block_hash', 'parent_hash', 'timestamp', 'status']);
    END IF;
    IF to_regclass('public.events') IS NULL AND NOT restoring THEN
        CREATE TABLE public.events (
            event_nonce bigint NOT NULL,
            block_number numeric(78,0) NOT NULL,
            block_hash varchar(66) NOT NULL,
            vault_address varchar(255) NOT NULL,
            event_name varchar(255) NOT NULL,
            event_keys varchar(256)[] NOT NULL,
            event_data varchar(256)[] NOT NULL,
            transaction_hash varchar(66) NOT NULL
        );
        CREATE INDEX events_block_number_idx ON public.events (block_number);
        ALTER EXTENSION event_processor DROP TABLE public.events;
    ELSIF to_regclass('public.events') IS NOT NULL THEN
        PERFORM evp.require_columns('public.events',
            ARRAY['event_nonce', 'block_number', 'block_hash', 'vault_address', 'event_name',
                  'event_keys', 'event_data', 'transaction_hash']);
        -- The apply path reads a block's events by number: without an index each block would
        -- scan every event ever indexed. The index belongs to the indexer's table (it stays
        -- with DROP EXTENSION and is dumped with the table).
        IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                        WHERE i.indrelid = 'public.events'::regclass AND a.attname = 'block_number') THEN
            CREATE INDEX events_block_number_idx ON public.events (block_number);
        END IF;
    END IF;
END $$;

-- Output tables (SPEC section 2): names and columns are a contract with the readers.
-- Amounts are uint256 in numeric(78,0); addresses, hashes and bid ids are normalised hex.
-- Vault and LP rows are rewritten by every block that touches them, and by auction start, end
-- and settlement all of a vault's LPs at once: half-empty pages let those updates stay on
-- the page without touching an index (HOT), four times cheaper. No index may cover a column
-- the apply path updates, for the same reason.
-- Balances are never negative: a transition that would make one negative is an inconsistent
-- chain, and the CHECK turns it into an error instead of a wrong state.
-- The websocket server scans dates and durations into unsigned integers and addresses into
-- strings, where a NULL fails the whole subscription (SPEC 7.2): what is not known yet (a
-- vault's configuration before its ContractDeployed, say) is 0 or 0x0, never NULL.
CREATE TABLE public."VaultStates" (
    address varchar(66) PRIMARY KEY,
    unlocked_balance numeric(78,0) NOT NULL DEFAULT 0 CHECK (unlocked_balance >= 0),
    locked_balance numeric(78,0) NOT NULL DEFAULT 0 CHECK (locked_balance >= 0),
    stashed_balance numeric(78,0) NOT NULL DEFAULT 0 CHECK (stashed_balance >= 0),
    current_round numeric(78,0) NOT NULL DEFAULT 0,
    current_round_address varchar(66) NOT NULL DEFAULT '0x0',
    latest_block numeric(78,0),
    deployment_date numeric(78,0) NOT NULL DEFAULT 0,
    fossil_client_address varchar(66) NOT NULL DEFAULT '0x0',
    eth_address varchar(66) NOT NULL DEFAULT '0x0',
    option_round_class_hash varchar(66) NOT NULL DEFAULT '0x0',
    alpha numeric(78,0) NOT NULL DEFAULT 0,
    strike_level numeric(78,0) NOT NULL DEFAULT 0,
    round_transition_period numeric(78,0) NOT NULL DEFAULT 0,
    auction_duration numeric(78,0) NOT NULL DEFAULT 0,
    round_duration numeric(78,0) NOT NULL DEFAULT 0
) WITH (fillfactor = 50);

CREATE TABLE public."Liquidity_Providers" (
    address varchar(66) NOT NULL,
    vault_address varchar(66) NOT NULL,
    unlocked_balance numeric(78,0) NOT NULL DEFAULT 0 CHECK (unlocked_balance >= 0),
    locked_balance numeric(78,0) NOT NULL DEFAULT 0 CHECK (locked_balance >= 0),
    stashed_balance numeric(78,0) NOT NULL DEFAULT 0 CHECK (stashed_balance >= 0),
    latest_block numeric(78,0),
    PRIMARY KEY (address, vault_address)
) WITH (fillfactor = 50);
-- A vault's LPs (the LP-wide transitions). With the address too, so that a lookup by the key
-- costs one step whichever index the planner takes: on a table without statistics it may
-- take this one, and on (vault_address) alone each lookup walked all of the vault's LPs.
CREATE INDEX "Liquidity_Providers_vault_idx" ON public."Liquidity_Providers" (vault_address, address);

-- Dates as above. The amounts that the round contract's views read as 0 until they are set
-- (SPEC 7.3) are 0 until then; remaining_liquidity is NULL until the settlement.
CREATE TABLE public."Option_Rounds" (
    address varchar(66) PRIMARY KEY,
    vault_address varchar(66) NOT NULL,
    round_id numeric(78,0) NOT NULL,
    state varchar(16) NOT NULL DEFAULT 'Open'
        CHECK (state IN ('Open', 'Auctioning', 'Running', 'Settled')),
    start_date numeric(78,0) NOT NULL,
    end_date numeric(78,0) NOT NULL,
    settlement_date numeric(78,0) NOT NULL,
    deployment_date numeric(78,0) NOT NULL DEFAULT 0,
    strike_price numeric(78,0) NOT NULL,
    cap_level numeric(78,0) NOT NULL,
    reserve_price numeric(78,0) NOT NULL,
    starting_liquidity numeric(78,0) NOT NULL DEFAULT 0,
    available_options numeric(78,0) NOT NULL DEFAULT 0,
    queued_liquidity numeric(78,0) NOT NULL DEFAULT 0,
    clearing_price numeric(78,0) NOT NULL DEFAULT 0,
    sold_options numeric(78,0) NOT NULL DEFAULT 0,
    premiums numeric(78,0) NOT NULL DEFAULT 0,
    unsold_liquidity numeric(78,0) NOT NULL DEFAULT 0,
    settlement_price numeric(78,0) NOT NULL DEFAULT 0,
    payout_per_option numeric(78,0) NOT NULL DEFAULT 0,
    remaining_liquidity numeric(78,0) CHECK (remaining_liquidity >= 0)
);
CREATE UNIQUE INDEX "Option_Rounds_vault_round_idx" ON public."Option_Rounds" (vault_address, round_id);

CREATE TABLE public."Queued_Liquidity" (
    address varchar(66) NOT NULL,
    round_address varchar(66) NOT NULL,
    bps numeric(78,0) NOT NULL,
    queued_liquidity numeric(78,0) NOT NULL,
    PRIMARY KEY (round_address, address)   -- a settlement reads its round's queue
);

CREATE TABLE public."Option_Buyers" (
    address varchar(66) NOT NULL,
    round_address varchar(66) NOT NULL,
    mintable_options numeric(78,0) NOT NULL DEFAULT 0,
    refundable_amount numeric(78,0) NOT NULL DEFAULT 0,
    has_minted boolean NOT NULL DEFAULT false,
    has_refunded boolean NOT NULL DEFAULT false,
    PRIMARY KEY (address, round_address)
);

CREATE TABLE public."Bids" (
    round_address varchar(66) NOT NULL,
    bid_id varchar(66) NOT NULL,
    buyer_address varchar(66) NOT NULL,
    tree_nonce numeric(78,0) NOT NULL,
    amount numeric(78,0) NOT NULL,
    price numeric(78,0) NOT NULL,
    PRIMARY KEY (round_address, bid_id)
);

CREATE TABLE public."Vault_Historic" (
    address varchar(66) NOT NULL,
    block_number numeric(78,0) NOT NULL,
    unlocked_balance numeric(78,0) NOT NULL,
    locked_balance numeric(78,0) NOT NULL,
    stashed_balance numeric(78,0) NOT NULL,
    PRIMARY KEY (address, block_number)
);

CREATE TABLE public."Liquidity_Providers_Historic" (
    address varchar(66) NOT NULL,
    vault_address varchar(66) NOT NULL,
    block_number numeric(78,0) NOT NULL,
    unlocked_balance numeric(78,0) NOT NULL,
    locked_balance numeric(78,0) NOT NULL,
    stashed_balance numeric(78,0) NOT NULL,
    PRIMARY KEY (address, vault_address, block_number)
);

-- The block ledger: every block the extension knows, by number and hash (normalised), and
-- its state:
-- - noted: events without a row (SPEC 7.1: a vault's deployment block and the blocks the
--   Pitch Lake indexer catches up get none; a live block's row follows in its transaction);
-- - pending: a row not applied yet;
-- - applied;
-- - reverted: the indexer reverted or deleted it; its events are never applied again unless a
--   row with its hash comes back;
-- - held: noted or pending, with an entry in evp.held_blocks (below).
-- Noted and pending blocks are the queue, walked in number order by the rules of
-- src/ledger/rules.rs. Kept current by the triggers on the indexer's tables (sql/triggers.sql)
-- in every mode, so that the next block, and what it waits for, is one step of an index.
CREATE TYPE evp.block_state AS ENUM ('noted', 'pending', 'applied', 'reverted');

CREATE TABLE evp.blocks (
    block_number numeric(78,0) NOT NULL,
    block_hash varchar(66) NOT NULL,
    state evp.block_state NOT NULL,
    has_row boolean NOT NULL DEFAULT false,       -- a row with this hash is in starknet_blocks (REVERTED too)
    has_events boolean NOT NULL DEFAULT false,    -- events with this hash were inserted (if not, it is empty)
    parent_hash varchar(66),                      -- its row's, normalised
    -- The transaction that noted its events (its rows may still be coming, newest first).
    noted_in xid8,
    late boolean NOT NULL DEFAULT false,          -- applied; events arrived after it, not applied yet
    events_applied integer NOT NULL DEFAULT 0,
    events_ignored integer NOT NULL DEFAULT 0,    -- not Pitch Lake events (an option token's Transfer, say)
    events_failed integer NOT NULL DEFAULT 0,     -- skipped under evp.on_error = 'skip'
    PRIMARY KEY (block_number, block_hash)
);
-- Each question the walk asks is one step of one of these (src/ledger, src/catchup/empty.rs):
-- the lowest block of the queue (above the applied tip; below it, the blocks without a row);
-- the applied tip; the first block of the queue that is not an empty row (where a run of empty
-- rows ends); the REVERTED rows above the tip; late blocks.
CREATE INDEX blocks_queue_idx ON evp.blocks (block_number, block_hash) WHERE state IN ('noted', 'pending');
CREATE UNIQUE INDEX blocks_applied_idx ON evp.blocks (block_number) WHERE state = 'applied';
CREATE INDEX blocks_not_empty_idx ON evp.blocks (block_number)
    WHERE state IN ('noted', 'pending') AND (has_events OR NOT has_row);
CREATE INDEX blocks_noted_idx ON evp.blocks (block_number, block_hash) WHERE state = 'noted';
CREATE INDEX blocks_reverted_rows_idx ON evp.blocks (block_number) WHERE state = 'reverted' AND has_row;
CREATE INDEX blocks_late_idx ON evp.blocks (block_number) WHERE late;

-- Held blocks (evp.on_error = hold, SPEC 7.3): a block that could not be applied stays in the
-- queue, not applied, and everything above it waits (src/ledger/hold.rs). Its cause: the event
-- that failed, if one did, the SQLSTATE and the reason. evp_catchup() releases the holds and
-- tries again. An entry that leaves the ledger takes its hold with it.
CREATE TABLE evp.held_blocks (
    block_number numeric(78,0) NOT NULL,
    block_hash varchar(66) NOT NULL,
    held_at timestamptz NOT NULL DEFAULT now(),
    vault_address varchar(255),
    event_nonce bigint,
    event_name varchar(255),
    sqlstate char(5) NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (block_number, block_hash),
    FOREIGN KEY (block_number, block_hash) REFERENCES evp.blocks ON DELETE CASCADE
);

-- The applied blocks and their counters, for operators and tests.
CREATE VIEW evp.applied_blocks AS
SELECT block_number, block_hash, events_applied, events_ignored, events_failed FROM evp.blocks WHERE state = 'applied';

CREATE TABLE evp.vault_progress (
    vault_address varchar(66) PRIMARY KEY,
    last_nonce bigint NOT NULL
);

-- s: each LP's starting liquidity in a round (its locked balance at the auction start).
CREATE TABLE evp.lp_round_liquidity (
    round_address varchar(66) NOT NULL,
    lp_address varchar(66) NOT NULL,
    starting_liquidity numeric(78,0) NOT NULL,
    PRIMARY KEY (round_address, lp_address)
);

-- The plugin's copies (SPEC 7.1, 7.3): when Juno starts, the Pitch Lake plugin stores a
-- block's events twice, in two transactions (its catch-up, then the block's own). Events of a
-- block that repeat, as multisets, events another transaction stored for it (same vault,
-- transaction hash, name, keys and data) are copies: each is applied once, the lowest nonce
-- first (src/apply/block.rs). Recorded when found, so that a replay decides alike after a
-- pg_restore, which loads every event in one transaction.
CREATE TABLE evp.event_copies (
    block_hash varchar(66) NOT NULL,
    vault_address varchar(66) NOT NULL,
    event_nonce bigint NOT NULL,
    block_number numeric(78,0) NOT NULL,
    PRIMARY KEY (block_hash, vault_address, event_nonce)
);

CREATE TABLE evp.failed_events (
    block_number numeric(78,0) NOT NULL,
    block_hash varchar(66) NOT NULL,
    vault_address varchar(255) NOT NULL,
    event_nonce bigint NOT NULL,
    event_name varchar(255) NOT NULL,
    sqlstate char(5) NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (vault_address, event_nonce, block_hash)
);

-- State survives pg_dump: the rows of extension tables are dumped only when marked.
SELECT pg_catalog.pg_extension_config_dump('public."VaultStates"', '');
SELECT pg_catalog.pg_extension_config_dump('public."Liquidity_Providers"', '');
SELECT pg_catalog.pg_extension_config_dump('public."Option_Rounds"', '');
SELECT pg_catalog.pg_extension_config_dump('public."Queued_Liquidity"', '');
SELECT pg_catalog.pg_extension_config_dump('public."Option_Buyers"', '');
SELECT pg_catalog.pg_extension_config_dump('public."Bids"', '');
SELECT pg_catalog.pg_extension_config_dump('public."Vault_Historic"', '');
SELECT pg_catalog.pg_extension_config_dump('public."Liquidity_Providers_Historic"', '');
SELECT pg_catalog.pg_extension_config_dump('evp.blocks', '');
SELECT pg_catalog.pg_extension_config_dump('evp.held_blocks', '');
SELECT pg_catalog.pg_extension_config_dump('evp.vault_progress', '');
SELECT pg_catalog.pg_extension_config_dump('evp.lp_round_liquidity', '');
SELECT pg_catalog.pg_extension_config_dump('evp.failed_events', '');
SELECT pg_catalog.pg_extension_config_dump('evp.event_copies', '');

-- Notifications ({"operation", "payload": row} on vault_update, lp_update, or_update,
-- ob_update and bids_update) are sent by the statement triggers of sql/journal.sql.

-- History: one row per (entity, block) holding the balances at the end of that block, written
-- by the statement triggers of sql/journal.sql. A history row belongs to the block in its key,
-- so reverting a block deletes its rows by number.
CREATE INDEX "Vault_Historic_block_idx" ON public."Vault_Historic" (block_number);
CREATE INDEX "Liquidity_Providers_Historic_block_idx" ON public."Liquidity_Providers_Historic" (block_number);


-- Addresses in the indexer's tables may be upper case or zero padded; this is the form the
-- output tables use, for matching in SQL (the apply path validates felts strictly in Rust).
-- Not STRICT, so that the planner inlines it (it inlines a STRICT function only when it can
-- prove the body strict): a call per row would cost more than the rest of the lookups.
CREATE FUNCTION evp.normalize_felt(felt text) RETURNS text
IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT CASE WHEN felt IS NOT NULL THEN '0x' || coalesce(nullif(ltrim(lower(substr(felt, 3)), '0'), ''), '0') END
$$;

-- The ledger completed from the indexer's tables: at CREATE EXTENSION for the history already
-- there, and by evp_rebuild() (which makes the applied blocks pending again). Rows enter as
-- pending (REVERTED ones as reverted); events as noted where their hash has no row, unless
-- their number holds an applied block or a row of another hash (whose block it is).
-- A function: under pg_restore the indexer's tables do not exist yet when the extension is
-- created, and the ledger comes from the dump.
CREATE FUNCTION evp.note_blocks() RETURNS void
LANGUAGE sql AS $$
    INSERT INTO evp.blocks (block_number, block_hash, state, has_row, parent_hash)
    SELECT b.block_number, evp.normalize_felt(b.block_hash),
           CASE WHEN b.status = 'REVERTED' THEN 'reverted' ELSE 'pending' END::evp.block_state, true,
           evp.normalize_felt(b.parent_hash)
      FROM public.starknet_blocks b
    ON CONFLICT (block_number, block_hash) DO UPDATE SET has_row = true, parent_hash = EXCLUDED.parent_hash;
    INSERT INTO evp.blocks AS x (block_number, block_hash, state, has_events)
    SELECT DISTINCT e.block_number, evp.normalize_felt(e.block_hash), 'noted'::evp.block_state, true
      FROM public.events e
     WHERE NOT EXISTS (SELECT FROM evp.blocks o
                        WHERE o.block_number = e.block_number AND o.block_hash <> evp.normalize_felt(e.block_hash)
                          AND (o.state = 'applied' OR (o.has_row AND o.state <> 'reverted')))
    ON CONFLICT (block_number, block_hash) DO UPDATE SET has_events = true WHERE NOT x.has_events;
$$;
DO $$
BEGIN
    IF current_setting('application_name') <> 'pg_restore' THEN
        PERFORM evp.note_blocks();
    END IF;
END $$;
