//! The SQL of every state transition (SPEC section 4). One statement per transition: the
//! LP-wide ones (auction start, auction end, settlement) update every LP of the vault at once.
//! Numbers arrive as text and are cast to numeric; ⌊x/y⌋ is `div()`, exact at any size.
//! Round statements filter on (round address, vault) and return a row count, so an event for
//! a round the vault does not have changes nothing and is reported.
//!
//! Each statement also journals the rows it is about to change, as they are before it (all of
//! a statement's parts read the same snapshot), or NULL for a row it inserts: see
//! sql/journal.sql. A statement that fails is rolled back with its journal. History and
//! notifications follow once per block, from the journal (`apply::written`).

/// The head of an insert into a table's journal: the block, the row's key, its image.
macro_rules! journal {
    (VaultStates) => {
        r#"INSERT INTO evp."journal_VaultStates" (at_block, address, old)"#
    };
    (Liquidity_Providers) => {
        r#"INSERT INTO evp."journal_Liquidity_Providers" (at_block, address, vault_address, old)"#
    };
    (Option_Rounds) => {
        r#"INSERT INTO evp."journal_Option_Rounds" (at_block, address, old)"#
    };
    (Queued_Liquidity) => {
        r#"INSERT INTO evp."journal_Queued_Liquidity" (at_block, round_address, address, old)"#
    };
    (Option_Buyers) => {
        r#"INSERT INTO evp."journal_Option_Buyers" (at_block, address, round_address, old)"#
    };
    (Bids) => {
        r#"INSERT INTO evp."journal_Bids" (at_block, round_address, bid_id, old)"#
    };
    (vault_progress) => {
        r#"INSERT INTO evp.journal_vault_progress (at_block, vault_address, old)"#
    };
    (lp_round_liquidity) => {
        r#"INSERT INTO evp.journal_lp_round_liquidity (at_block, round_address, lp_address, old)"#
    };
    (failed_events) => {
        r#"INSERT INTO evp.journal_failed_events (at_block, vault_address, event_nonce, block_hash, old)"#
    };
}
pub(crate) use journal;

/// Journals vault $1's row at block `$blk`.
macro_rules! journal_vault {
    ($blk:literal) => {
        concat!(
            journal!(VaultStates),
            "\n    SELECT ",
            $blk,
            "::numeric, $1, (SELECT o FROM public.\"VaultStates\" o WHERE o.address = $1)"
        )
    };
}

/// Journals round $2 of vault $1 at block `$blk`.
macro_rules! journal_round {
    ($blk:literal) => {
        concat!(
            journal!(Option_Rounds),
            "\n    SELECT ", $blk, "::numeric, o.address, o FROM public.\"Option_Rounds\" o WHERE o.address = $2 AND o.vault_address = $1"
        )
    };
}

/// Journals, at block `$blk`, the LPs of vault $1 with a starting liquidity in round $2: those
/// an auction's end and a settlement pay out to.
macro_rules! journal_round_lps {
    ($blk:literal) => {
        concat!(
            journal!(Liquidity_Providers),
            "\n    SELECT ", $blk, "::numeric, o.address, o.vault_address, o FROM evp.lp_round_liquidity x",
            "\n      JOIN public.\"Liquidity_Providers\" o ON o.address = x.lp_address AND o.vault_address = $1",
            "\n     WHERE x.round_address = $2"
        )
    };
}

/// The journal CTEs of a payout (an auction's end, a settlement) at block `$blk`: round $2 of
/// vault $1, the vault, and the LPs with a starting liquidity in the round.
macro_rules! journal_payout {
    ($blk:literal) => {
        concat!(
            "WITH jr AS (",
            journal_round!($blk),
            "),\njv AS (",
            journal_vault!($blk),
            "),\njl AS (",
            journal_round_lps!($blk),
            ")"
        )
    };
}

/// ContractDeployed: $1 vault, $2 block, $3 fossil client, $4 eth, $5 round class hash,
/// $6 alpha, $7 strike level, $8 transition period, $9 auction duration, $10 round duration,
/// $11 block timestamp (NULL for a block without a row). Configuration only: balances and the
/// current round stay as they are. The deployment date is the block timestamp; without one it
/// is round 1's (see `ROUND_DEPLOYED`), and rounds deployed before the transition period was
/// known (deployment date 0) get theirs now.
pub const CONTRACT_DEPLOYED: &str = concat!(
    "WITH jv AS (",
    journal_vault!("$2"),
    "),\njr AS (",
    journal!(Option_Rounds),
    r#"
    SELECT $2::numeric, o.address, o FROM public."Option_Rounds" o WHERE o.vault_address = $1 AND o.deployment_date = 0),
r AS (
    UPDATE public."Option_Rounds" SET deployment_date = start_date - $8::numeric
     WHERE vault_address = $1 AND deployment_date = 0)
INSERT INTO public."VaultStates" AS v (address, latest_block, deployment_date, fossil_client_address, eth_address,
       option_round_class_hash, alpha, strike_level, round_transition_period, auction_duration, round_duration)
VALUES ($1, $2::numeric,
        coalesce($11::numeric, (SELECT start_date - $8::numeric FROM public."Option_Rounds"
                                 WHERE vault_address = $1 AND round_id = 1), 0),
        $3, $4, $5, $6::numeric, $7::numeric, $8::numeric, $9::numeric, $10::numeric)
ON CONFLICT (address) DO UPDATE SET
       latest_block = EXCLUDED.latest_block, deployment_date = EXCLUDED.deployment_date,
       fossil_client_address = EXCLUDED.fossil_client_address, eth_address = EXCLUDED.eth_address,
       option_round_class_hash = EXCLUDED.option_round_class_hash, alpha = EXCLUDED.alpha,
       strike_level = EXCLUDED.strike_level, round_transition_period = EXCLUDED.round_transition_period,
       auction_duration = EXCLUDED.auction_duration, round_duration = EXCLUDED.round_duration"#
);

/// Deposits and Withdrawals, a run of them (one vault, nonce order; see `Run` in event.rs):
/// $1 vault, $2 accounts, $3 each account's unlocked balance after its last event of the run,
/// $4 the vault's unlocked balance after the run, $5 block.
pub const LIQUIDITY_CHANGED: &str = concat!(
    "WITH jv AS (",
    journal_vault!("$5"),
    "),\njl AS (",
    journal!(Liquidity_Providers),
    r#"
    SELECT $5::numeric, t.a, $1, (SELECT o FROM public."Liquidity_Providers" o WHERE o.address = t.a AND o.vault_address = $1)
      FROM unnest($2::text[]) AS t(a)),
v AS (
    INSERT INTO public."VaultStates" (address, unlocked_balance, latest_block) VALUES ($1, $4::numeric, $5::numeric)
    ON CONFLICT (address) DO UPDATE SET unlocked_balance = EXCLUDED.unlocked_balance, latest_block = EXCLUDED.latest_block)
INSERT INTO public."Liquidity_Providers" (address, vault_address, unlocked_balance, latest_block)
SELECT a, $1, u::numeric, $5::numeric FROM unnest($2::text[], $3::text[]) AS t(a, u)
ON CONFLICT (address, vault_address) DO UPDATE
   SET unlocked_balance = EXCLUDED.unlocked_balance, latest_block = EXCLUDED.latest_block"#
);

/// WithdrawalQueued, a run of them (one vault and round, nonce order; see `Run` in event.rs): $1 vault,
/// $2 round id, $3 accounts, $4 each one's bps and $5 its queued liquidity after its last event
/// of the run, $6 the vault's queued liquidity after the run, $7 block. Re-queueing replaces;
/// bps 0 cancels (queued 0). Returns the rounds matched (1, or 0: the vault has no such round).
pub const WITHDRAWALS_QUEUED: &str = concat!(
    "WITH jr AS (",
    journal!(Option_Rounds),
    r#"
    SELECT $7::numeric, o.address, o FROM public."Option_Rounds" o WHERE o.vault_address = $1 AND o.round_id = $2::numeric),
jq AS ("#,
    journal!(Queued_Liquidity),
    r#"
    SELECT $7::numeric, x.address, u.account,
           (SELECT o FROM public."Queued_Liquidity" o WHERE o.round_address = x.address AND o.address = u.account)
      FROM public."Option_Rounds" x CROSS JOIN unnest($3::text[]) AS u(account)
     WHERE x.vault_address = $1 AND x.round_id = $2::numeric),
r AS (
    UPDATE public."Option_Rounds" SET queued_liquidity = $6::numeric
     WHERE vault_address = $1 AND round_id = $2::numeric RETURNING address),
q AS (
    INSERT INTO public."Queued_Liquidity" (address, round_address, bps, queued_liquidity)
    SELECT u.account, r.address, u.bps::numeric, u.queued::numeric
      FROM r, unnest($3::text[], $4::text[], $5::text[]) AS u(account, bps, queued)
    ON CONFLICT (address, round_address) DO UPDATE SET bps = EXCLUDED.bps, queued_liquidity = EXCLUDED.queued_liquidity)
SELECT count(*) FROM r"#
);

/// StashWithdrawn: $1 vault, $2 account, $3 vault stashed now, $4 block.
pub const STASH_WITHDRAWN: &str = concat!(
    "WITH jv AS (",
    journal_vault!("$4"),
    "),\njl AS (",
    journal!(Liquidity_Providers),
    r#"
    SELECT $4::numeric, $2, $1,
           (SELECT o FROM public."Liquidity_Providers" o WHERE o.address = $2 AND o.vault_address = $1)),
v AS (
    INSERT INTO public."VaultStates" (address, stashed_balance, latest_block) VALUES ($1, $3::numeric, $4::numeric)
    ON CONFLICT (address) DO UPDATE SET stashed_balance = EXCLUDED.stashed_balance, latest_block = EXCLUDED.latest_block)
INSERT INTO public."Liquidity_Providers" (address, vault_address, stashed_balance, latest_block) VALUES ($2, $1, 0, $4::numeric)
ON CONFLICT (address, vault_address) DO UPDATE SET stashed_balance = 0, latest_block = EXCLUDED.latest_block"#
);

/// OptionRoundDeployed: $1 vault, $2 round address, $3 round id, $4 auction start,
/// $5 auction end, $6 settlement date, $7 strike price, $8 cap level, $9 reserve price,
/// $10 block, $11 block timestamp (NULL for a block without a row). The deployment date is the
/// block timestamp; without one, the contract's rule gives it (the vault starts a round's
/// auction `round_transition_period` after deploying it: SPEC 7.1), 0 until the vault is
/// known (`CONTRACT_DEPLOYED` fills it in). Round 1's date is the vault's until the vault's
/// own event says otherwise. (A round deployed twice fails on its key.)
pub const ROUND_DEPLOYED: &str = concat!(
    "WITH jv AS (",
    journal_vault!("$10"),
    "),\njr AS (",
    journal!(Option_Rounds),
    r#" VALUES ($10::numeric, $2, NULL)),
d AS (
    SELECT coalesce($11::numeric,
                    $4::numeric - (SELECT round_transition_period FROM public."VaultStates" WHERE address = $1),
                    0) AS date),
r AS (
    INSERT INTO public."Option_Rounds" (address, vault_address, round_id, state, start_date, end_date,
           settlement_date, deployment_date, strike_price, cap_level, reserve_price)
    SELECT $2, $1, $3::numeric, 'Open', $4::numeric, $5::numeric, $6::numeric, d.date,
           $7::numeric, $8::numeric, $9::numeric FROM d)
INSERT INTO public."VaultStates" AS v (address, current_round, current_round_address, latest_block, deployment_date)
SELECT $1, $3::numeric, $2, $10::numeric, CASE WHEN $3::numeric = 1 THEN d.date ELSE 0 END FROM d
ON CONFLICT (address) DO UPDATE SET current_round = EXCLUDED.current_round,
       current_round_address = EXCLUDED.current_round_address, latest_block = EXCLUDED.latest_block,
       deployment_date = CASE WHEN v.deployment_date = 0 THEN EXCLUDED.deployment_date ELSE v.deployment_date END"#
);

/// PricingDataSet: $1 vault, $2 round, $3 strike price, $4 cap level, $5 reserve price,
/// $6 block.
pub const PRICING_SET: &str = concat!(
    "WITH jr AS (",
    journal_round!("$6"),
    r#"),
r AS (
    UPDATE public."Option_Rounds" SET strike_price = $3::numeric, cap_level = $4::numeric, reserve_price = $5::numeric
     WHERE address = $2 AND vault_address = $1 RETURNING 1)
SELECT count(*) FROM r"#
);

/// AuctionStarted: $1 vault, $2 round, $3 starting liquidity S, $4 options available, $5 block.
/// Every LP's unlocked balance becomes locked, and is remembered as its s for the round.
pub const AUCTION_STARTED: &str = concat!(
    "WITH jr AS (",
    journal_round!("$5"),
    "),\njv AS (",
    journal_vault!("$5"),
    "),\njl AS (",
    journal!(Liquidity_Providers),
    r#"
    SELECT $5::numeric, o.address, o.vault_address, o FROM public."Liquidity_Providers" o
     WHERE o.vault_address = $1 AND (o.unlocked_balance <> 0 OR o.locked_balance <> 0)),
r AS (
    UPDATE public."Option_Rounds" SET state = 'Auctioning', starting_liquidity = $3::numeric, available_options = $4::numeric
     WHERE address = $2 AND vault_address = $1 RETURNING 1),
v AS (
    UPDATE public."VaultStates" SET locked_balance = $3::numeric, unlocked_balance = 0, latest_block = $5::numeric
     WHERE address = $1 AND EXISTS (SELECT FROM r)),
l AS (
    UPDATE public."Liquidity_Providers" SET locked_balance = unlocked_balance, unlocked_balance = 0, latest_block = $5::numeric
     WHERE vault_address = $1 AND (unlocked_balance <> 0 OR locked_balance <> 0) AND EXISTS (SELECT FROM r)
    RETURNING address, locked_balance),
s AS (
    INSERT INTO evp.lp_round_liquidity (round_address, lp_address, starting_liquidity)
    SELECT $2, address, locked_balance FROM l WHERE locked_balance > 0),
js AS ("#,
    journal!(lp_round_liquidity),
    r#"
    SELECT $5::numeric, $2, l.address, NULL FROM l WHERE l.locked_balance > 0)
SELECT count(*) FROM r"#
);

/// AuctionEnded, rounds and LPs: $1 vault, $2 round, $3 clearing price, $4 options sold,
/// $5 unsold liquidity U, $6 block. P = clearing price · sold; vault unlocked += P + U, locked −= U;
/// each LP with s > 0: unlocked += ⌊(P+U)·s/S⌋, locked = ⌊(S−U)·s/S⌋. Run without nested loops
/// (see `without_nested_loops`).
pub const AUCTION_ENDED: &str = concat!(
    journal_payout!("$6"),
    r#",
r AS (
    UPDATE public."Option_Rounds" SET state = 'Running', clearing_price = $3::numeric, sold_options = $4::numeric,
           unsold_liquidity = $5::numeric, premiums = $3::numeric * $4::numeric
     WHERE address = $2 AND vault_address = $1
    RETURNING starting_liquidity AS s_total, premiums AS p, unsold_liquidity AS u),
v AS (
    UPDATE public."VaultStates" v SET unlocked_balance = v.unlocked_balance + r.p + r.u,
           locked_balance = v.locked_balance - r.u, latest_block = $6::numeric
      FROM r WHERE v.address = $1),
l AS (
    UPDATE public."Liquidity_Providers" l
       SET unlocked_balance = l.unlocked_balance + div((r.p + r.u) * x.starting_liquidity, r.s_total),
           locked_balance = div((r.s_total - r.u) * x.starting_liquidity, r.s_total), latest_block = $6::numeric
      FROM r, evp.lp_round_liquidity x
     WHERE x.round_address = $2 AND l.vault_address = $1 AND l.address = x.lp_address AND r.s_total > 0)
SELECT count(*) FROM r"#
);

/// The round's bids, for the bidders' outcome: $1 round.
pub const ROUND_BIDS: &str = r#"
SELECT buyer_address, tree_nonce::text AS tree_nonce, amount::text AS amount, price::text AS price
  FROM public."Bids" WHERE round_address = $1"#;

/// AuctionEnded, buyers: $1 round, $2 buyers, $3 mintable options, $4 refundable amounts,
/// $5 block.
pub const BUYERS_CLEARED: &str = concat!(
    "WITH j AS (",
    journal!(Option_Buyers),
    r#"
    SELECT $5::numeric, t.a, $1, (SELECT o FROM public."Option_Buyers" o WHERE o.address = t.a AND o.round_address = $1)
      FROM unnest($2::text[]) AS t(a))
INSERT INTO public."Option_Buyers" (address, round_address, mintable_options, refundable_amount)
SELECT a, $1, m::numeric, f::numeric FROM unnest($2::text[], $3::text[], $4::text[]) AS t(a, m, f)
ON CONFLICT (address, round_address) DO UPDATE
   SET mintable_options = EXCLUDED.mintable_options, refundable_amount = EXCLUDED.refundable_amount"#
);

/// OptionRoundSettled: $1 vault, $2 round, $3 settlement price, $4 payout per option, $5 block.
/// R = S − U − payout·sold; Q = the round's queued liquidity; vault: stash ⌊R·Q/S⌋, locked 0,
/// stashed += stash, unlocked += R − stash; each LP with s > 0: locked 0, stashed += ⌊R·q/S⌋,
/// unlocked += ⌊R·s/S⌋ − ⌊R·q/S⌋. Run without nested loops (see `without_nested_loops`).
pub const ROUND_SETTLED: &str = concat!(
    journal_payout!("$5"),
    r#",
r AS (
    UPDATE public."Option_Rounds" SET state = 'Settled', settlement_price = $3::numeric, payout_per_option = $4::numeric,
           remaining_liquidity = starting_liquidity - unsold_liquidity - $4::numeric * sold_options
     WHERE address = $2 AND vault_address = $1
    RETURNING starting_liquidity AS s_total, remaining_liquidity AS rem, queued_liquidity AS q_total),
v AS (
    UPDATE public."VaultStates" v
       SET locked_balance = 0,
           stashed_balance = v.stashed_balance + CASE WHEN r.s_total > 0 THEN div(r.rem * r.q_total, r.s_total) ELSE 0 END,
           unlocked_balance = v.unlocked_balance + r.rem
                              - CASE WHEN r.s_total > 0 THEN div(r.rem * r.q_total, r.s_total) ELSE 0 END,
           latest_block = $5::numeric
      FROM r WHERE v.address = $1),
l AS (
    UPDATE public."Liquidity_Providers" l
       SET locked_balance = 0,
           stashed_balance = l.stashed_balance + div(r.rem * coalesce(q.queued_liquidity, 0), r.s_total),
           unlocked_balance = l.unlocked_balance + div(r.rem * x.starting_liquidity, r.s_total)
                              - div(r.rem * coalesce(q.queued_liquidity, 0), r.s_total),
           latest_block = $5::numeric
      FROM r, evp.lp_round_liquidity x
      LEFT JOIN public."Queued_Liquidity" q ON q.round_address = x.round_address AND q.address = x.lp_address
     WHERE x.round_address = $2 AND l.vault_address = $1 AND l.address = x.lp_address AND r.s_total > 0)
SELECT count(*) FROM r"#
);

/// BidPlaced, a run of them (one vault and round, nonce order; see `Run` in event.rs): $1 vault,
/// $2 round, then per bid $3 bid id, $4 buyer, $5 tree nonce, $6 amount, $7 price; $8 block.
/// Returns the bids inserted (all, or none: the round is not the vault's).
pub const BIDS_PLACED: &str = concat!(
    r#"
WITH b AS (
    INSERT INTO public."Bids" (round_address, bid_id, buyer_address, tree_nonce, amount, price)
    SELECT r.address, u.bid_id, u.buyer, u.tree_nonce::numeric, u.amount::numeric, u.price::numeric
      FROM public."Option_Rounds" r,
           unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(bid_id, buyer, tree_nonce, amount, price)
     WHERE r.address = $2 AND r.vault_address = $1
    RETURNING round_address, bid_id, buyer_address),
jb AS ("#,
    journal!(Bids),
    r#" SELECT $8::numeric, b.round_address, b.bid_id, NULL FROM b),
o AS (
    INSERT INTO public."Option_Buyers" (address, round_address) SELECT DISTINCT buyer_address, round_address FROM b
    ON CONFLICT (address, round_address) DO NOTHING
    RETURNING address, round_address),
jo AS ("#,
    journal!(Option_Buyers),
    r#" SELECT $8::numeric, o.address, o.round_address, NULL FROM o)
SELECT count(*) FROM b"#
);

/// BidUpdated: $1 vault, $2 round, $3 bid id, $4 buyer, $5 price increase, $6 new tree nonce,
/// $7 block.
pub const BID_UPDATED: &str = concat!(
    "WITH j AS (",
    journal!(Bids),
    r#"
    SELECT $7::numeric, o.round_address, o.bid_id, o FROM public."Bids" o JOIN public."Option_Rounds" r ON r.address = o.round_address
     WHERE r.address = $2 AND r.vault_address = $1 AND o.bid_id = $3 AND o.buyer_address = $4),
b AS (
    UPDATE public."Bids" b SET price = b.price + $5::numeric, tree_nonce = $6::numeric
      FROM public."Option_Rounds" r
     WHERE r.address = $2 AND r.vault_address = $1 AND b.round_address = r.address
       AND b.bid_id = $3 AND b.buyer_address = $4
    RETURNING 1)
SELECT count(*) FROM b"#
);

/// OptionsMinted and OptionsExercised ($4 true: has_minted, mintable 0) and UnusedBidsRefunded
/// ($5 true: has_refunded, refundable 0): $1 vault, $2 round, $3 buyer, $6 block.
pub const BUYER_SETTLED: &str = concat!(
    "WITH j AS (",
    journal!(Option_Buyers),
    r#"
    SELECT $6::numeric, $3, r.address, (SELECT o FROM public."Option_Buyers" o WHERE o.address = $3 AND o.round_address = r.address)
      FROM public."Option_Rounds" r WHERE r.address = $2 AND r.vault_address = $1),
o AS (
    INSERT INTO public."Option_Buyers" AS o (address, round_address, has_minted, has_refunded)
    SELECT $3, address, $4::boolean, $5::boolean FROM public."Option_Rounds" WHERE address = $2 AND vault_address = $1
    ON CONFLICT (address, round_address) DO UPDATE
       SET has_minted = o.has_minted OR $4::boolean,
           mintable_options = CASE WHEN $4::boolean THEN 0 ELSE o.mintable_options END,
           has_refunded = o.has_refunded OR $5::boolean,
           refundable_amount = CASE WHEN $5::boolean THEN 0 ELSE o.refundable_amount END
    RETURNING 1)
SELECT count(*) FROM o"#
);
