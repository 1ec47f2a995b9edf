-- One md5 over every table the extension writes: state, history, bookkeeping and journal.
SELECT md5(string_agg(r, '|' ORDER BY r)) FROM (
    SELECT 'v' || x::text AS r FROM "VaultStates" x UNION ALL SELECT 'l' || x::text FROM "Liquidity_Providers" x
    UNION ALL SELECT 'o' || x::text FROM "Option_Rounds" x UNION ALL SELECT 'q' || x::text FROM "Queued_Liquidity" x
    UNION ALL SELECT 'b' || x::text FROM "Option_Buyers" x UNION ALL SELECT 'i' || x::text FROM "Bids" x
    UNION ALL SELECT 'h' || x::text FROM "Vault_Historic" x UNION ALL SELECT 'k' || x::text FROM "Liquidity_Providers_Historic" x
    UNION ALL SELECT 'a' || x::text FROM evp.applied_blocks x UNION ALL SELECT 'p' || x::text FROM evp.vault_progress x
    UNION ALL SELECT 's' || x::text FROM evp.lp_round_liquidity x UNION ALL SELECT 'f' || x::text FROM evp.failed_events x
    UNION ALL SELECT 'j' || x::text FROM evp.journal x) u;
