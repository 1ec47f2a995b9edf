-- A vault's life over two rounds, applied block by block in sync mode (SPEC section 4).
-- Three LPs (0xa, 0xb, 0xc), three bidders (0xd, 0xe, 0xf), vault 0xa11, rounds 0xc1 and 0xc2.
-- Expected values are computed by hand (Python as the calculator) from the formulas in the
-- comments; K = 2^128 = 340282366920938463463374607431768211456, so every LP balance is above
-- 2^128. Sourced by apply_forwarded.sql and apply_direct.sql: both layouts give the same state.

-- Block 1: the vault's constructor deploys round 1, then the Universal Deployer reports the
-- vault (alpha 2500, strike level -1039, durations 300/600/900).
SELECT t.round_deployed(1, 1, '0xc1');
SELECT t.emit(1, 'ContractDeployed', ARRAY[]::text[], ARRAY['0xa11', '0xde', '0x1', '0xc1a55', '0xa', '0xf0551', '0xe7',
       '0xc1a55', '0x9c4', t.felt(-1039), '0x12c', '0x258', '0x384', '0x7', '0x5', '0x5a17']);
SELECT t.block(1);
SELECT address, current_round, current_round_address, deployment_date, fossil_client_address, alpha, strike_level,
       round_transition_period, auction_duration, round_duration, unlocked_balance, latest_block FROM "VaultStates";
SELECT address, round_id, state, deployment_date, start_date FROM "Option_Rounds";

-- Block 2: deposits of A (K + 7), B (3K), C (6K + 1) and a withdrawal of 7 by A. Each event
-- carries the account's and the vault's unlocked balance after it.
SELECT t.liquidity(2, 'Deposit', '0xa', t.k(1) + 7, t.k(1) + 7, t.k(1) + 7);
SELECT t.liquidity(2, 'Deposit', '0xb', t.k(3), t.k(3), t.k(4) + 7);
SELECT t.liquidity(2, 'Deposit', '0xc', t.k(6) + 1, t.k(6) + 1, t.k(10) + 8);
SELECT t.liquidity(2, 'Withdrawal', '0xa', 7, t.k(1), t.k(10) + 1);
SELECT t.block(2);
SELECT * FROM t.balances();

-- Block 3: pricing for round 1.
SELECT t.round_event(3, 'PricingDataSet', ARRAY[]::text[], t.u256(5e16) || t.felt(5000) || t.u256(2e15));
SELECT t.block(3);
SELECT round_id, strike_price, cap_level, reserve_price FROM "Option_Rounds";

-- Block 4: the auction starts with S = 10K + 1 and 1000 options. Every LP's unlocked balance
-- becomes its locked balance s. Then, during Auctioning: A deposits 5 (for the next round);
-- B queues 50% of s, then re-queues 25% (q_B = ⌊3K·2500/10000⌋ = 0.75K); C queues 100% and
-- cancels with bps 0; A queues 33.33% (q_A = ⌊K·3333/10000⌋). Bids: X 400 @ 10e15 (tree 0),
-- Y 500 @ 8e15 (tree 1), Z 300 @ 8e15 (tree 2), X 100 @ 5e15 (tree 3); Z then raises by 2e15,
-- taking tree nonce 4 and so losing its time priority.
SELECT t.round_event(4, 'AuctionStarted', ARRAY[]::text[], t.u256(t.k(10) + 1) || t.u256(1000));
SELECT t.liquidity(4, 'Deposit', '0xa', 5, 5, 5);
SELECT t.queue(4, '0xb', 5000, 0, div(t.k(3), 2), div(t.k(3), 2));
SELECT t.queue(4, '0xb', 2500, div(t.k(3), 2), div(t.k(3), 4), div(t.k(3), 4));
SELECT t.queue(4, '0xc', 10000, 0, t.k(6) + 1, div(t.k(3), 4) + t.k(6) + 1);
SELECT t.queue(4, '0xc', 0, t.k(6) + 1, 0, div(t.k(3), 4));
SELECT t.queue(4, '0xa', 3333, 0, 113416112894748789872342756657008344878, 368627888085452637469873712230834503470);
SELECT t.bid_placed(4, '0xd', '0xb1', 400, 10e15, 0);
SELECT t.bid_placed(4, '0xe', '0xb2', 500, 8e15, 1);
SELECT t.bid_placed(4, '0xf', '0xb3', 300, 8e15, 2);
SELECT t.bid_placed(4, '0xd', '0xb4', 100, 5e15, 3);
SELECT t.bid_updated(4, '0xf', '0xb3', 2e15, 2, 4);
SELECT t.block(4);
SELECT * FROM t.balances();
SELECT address, bps, queued_liquidity FROM "Queued_Liquidity" ORDER BY address;
SELECT state, starting_liquidity, available_options, queued_liquidity FROM "Option_Rounds" WHERE round_id = 1;
SELECT bid_id, buyer_address, tree_nonce, amount, price FROM "Bids" ORDER BY bid_id;
SELECT * FROM "Option_Buyers" ORDER BY address;

-- Block 5: the auction ends: 1000 options sold at 8e15, nothing unsold, clearing bid tree
-- nonce 1 (Y). Walk by price desc, tree nonce asc: X 400 @ 10e15 wins (refund 400·2e15);
-- Z 300 @ 10e15 wins (refund 300·2e15); Y clears 300 of 500 (refund 200·8e15); X 100 @ 5e15
-- loses (refund 100·5e15). P = 1000·8e15 = 8e18.
-- LPs: unlocked += ⌊P·s/S⌋, locked = ⌊S·s/S⌋ = s:
--   A: 5 + ⌊8e18·K/(10K+1)⌋ = 800000000000000004; B: ⌊8e18·3K/S⌋ = 2399999999999999999;
--   C: ⌊8e18·(6K+1)/S⌋ = 4800000000000000000. Vault: unlocked 5 + 8e18, locked S.
-- Then, while Running, B deposits 9.
SELECT t.round_event(5, 'AuctionEnded', ARRAY[]::text[], t.u256(1000) || t.u256(8e15) || t.u256(0) || t.felt(1));
SELECT t.liquidity(5, 'Deposit', '0xb', 9, 2400000000000000008, 8000000000000000014);
SELECT t.block(5);
SELECT * FROM t.balances();
SELECT state, clearing_price, sold_options, premiums, unsold_liquidity FROM "Option_Rounds" WHERE round_id = 1;
-- X: 400 options, 800e15 + 500e15 refundable; Y: 300, 1600e15; Z: 300, 600e15.
SELECT * FROM "Option_Buyers" ORDER BY address;

-- Block 6: X mints, Y takes its refund. An option token Transfer in the same block is not a
-- Pitch Lake event: skipped and counted as ignored.
SELECT t.round_event(6, 'OptionsMinted', ARRAY['0xd'], t.u256(400));
SELECT t.emit(6, 'Transfer', ARRAY['0xd', '0xe'], t.u256(10));
SELECT t.round_event(6, 'UnusedBidsRefunded', ARRAY['0xe'], t.u256(1600e15));
SELECT t.block(6);
SELECT * FROM "Option_Buyers" ORDER BY address;

-- Block 7: settlement with a payout of 3e15 an option: R = S − U − 3e15·1000
-- = 3402823669209384634630746074317682114561; Q = q_A + q_B.
-- Vault: stash ⌊R·Q/S⌋ = 368627888085452637469548722230834503470, unlocked += R − stash.
-- LPs: stashed += ⌊R·q/S⌋, unlocked += ⌊R·s/S⌋ − ⌊R·q/S⌋, locked 0:
--   A: unlocked 226866254026189673591631840774759866582, stashed 113416112894748789872242766657008344878
--   B: unlocked 765635325572111542794317866721478475784, stashed 255211775190703847597305955573826158592
--   C: unlocked 2041694201525630780783247644590609268736, stashed 0
-- The LPs' unlocked balances add up to 3 wei less than the vault's: rounding per account.
-- The vault deploys round 2 in the same transaction; Z exercises its options.
SELECT t.round_event(7, 'OptionRoundSettled', ARRAY[]::text[], t.u256(6e16) || t.u256(3e15));
SELECT t.round_deployed(7, 2, '0xc2');
SELECT t.round_event(7, 'OptionsExercised', ARRAY['0xf'], t.u256(300) || t.u256(300) || t.u256(9e17), 1, '0xc1');
SELECT t.block(7);
SELECT * FROM t.balances();
SELECT round_id, state, settlement_price, payout_per_option, remaining_liquidity FROM "Option_Rounds" ORDER BY round_id;
SELECT * FROM "Option_Buyers" ORDER BY address;
SELECT * FROM t.totals();

-- Block 8: B withdraws its stash.
SELECT t.stash(8, '0xb', 255211775190703847597305955573826158592, 113416112894748789872242766657008344878);
SELECT t.block(8);
SELECT * FROM t.balances();

-- Block 9: round 2 starts with S2 = the vault's unlocked balance and ends undersubscribed:
-- 70 of 500 options sold at 6e15 (X 50 @ 7e15 tree 0 wins, Y 20 @ 6e15 tree 1 clears),
-- U2 = ⌊S2·430/500⌋ unsold. LPs: unlocked = ⌊(P2+U2)·s/S2⌋, locked = ⌊(S2−U2)·s/S2⌋.
SELECT t.round_event(9, 'AuctionStarted', ARRAY[]::text[],
       t.u256(3034195781123931997169197352086847611105) || t.u256(500), 2, '0xc2');
SELECT t.bid_placed(9, '0xd', '0xb5', 50, 7e15, 0, 2, '0xc2');
SELECT t.bid_placed(9, '0xe', '0xb6', 20, 6e15, 1, 2, '0xc2');
SELECT t.round_event(9, 'AuctionEnded', ARRAY[]::text[],
       t.u256(70) || t.u256(6e15) || t.u256(2609408371766581517565509722794688945550) || t.felt(1), 2, '0xc2');
SELECT t.block(9);
SELECT * FROM t.balances();
SELECT * FROM "Option_Buyers" WHERE round_address = '0xc2' ORDER BY address;

-- Block 10: round 2 settles without payout: R2 = S2 − U2, nothing queued, nothing stashed.
SELECT t.round_event(10, 'OptionRoundSettled', ARRAY[]::text[], t.u256(1e16) || t.u256(0), 2, '0xc2');
SELECT t.block(10);
SELECT * FROM t.balances();
SELECT * FROM t.totals();

-- History: one row per (entity, block) with the balances at the end of the block.
SELECT block_number, unlocked_balance, locked_balance, stashed_balance FROM "Vault_Historic" ORDER BY block_number;
SELECT address, count(*) AS blocks, max(block_number) AS last FROM "Liquidity_Providers_Historic" GROUP BY 1 ORDER BY 1;
SELECT block_number, events_applied, events_ignored, events_failed FROM evp.applied_blocks ORDER BY 1;

\set QUIET on
SET client_min_messages = warning;
DROP SCHEMA t CASCADE;
DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
\set QUIET off
RESET client_min_messages;
