-- Compares the state tables with a fixture's expected.json and expected_history.json
-- (tests/fixtures/README.md gives the rules). psql variables: expected, history (file paths).
-- Prints one line per difference and ends with "mismatches: N".
\set QUIET on
\set expected_doc `cat :expected`
\set history_doc `cat :history`
CREATE TEMP TABLE fx_expected AS SELECT :'expected_doc'::jsonb AS doc, :'history_doc'::jsonb AS hist;

CREATE TEMP TABLE fx_actual AS
SELECT 'VaultStates' AS tbl, to_jsonb(t) AS r FROM "VaultStates" t UNION ALL
SELECT 'Liquidity_Providers', to_jsonb(t) FROM "Liquidity_Providers" t UNION ALL
SELECT 'Option_Rounds', to_jsonb(t) FROM "Option_Rounds" t UNION ALL
SELECT 'Queued_Liquidity', to_jsonb(t) FROM "Queued_Liquidity" t UNION ALL
SELECT 'Option_Buyers', to_jsonb(t) FROM "Option_Buyers" t UNION ALL
SELECT 'Bids', to_jsonb(t) FROM "Bids" t;

CREATE TEMP TABLE fx_keys AS
SELECT key AS tbl, ARRAY(SELECT jsonb_array_elements_text(value)) AS keys
  FROM fx_expected, jsonb_each(doc -> '_meta' -> 'keys');

CREATE FUNCTION pg_temp.key_of(r jsonb, keys text[]) RETURNS text[] LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(r ->> k ORDER BY i) FROM unnest(keys) WITH ORDINALITY AS u(k, i) $$;

-- Equal under the fixture rules: NULL actual accepted for expected "0", NULL expected accepts
-- NULL or 0.
CREATE FUNCTION pg_temp.same(expected jsonb, actual jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
SELECT CASE
    WHEN expected IS NULL OR expected = 'null' THEN actual IS NULL OR actual = 'null' OR actual #>> '{}' = '0'
    WHEN actual IS NULL OR actual = 'null' THEN expected #>> '{}' = '0'
    ELSE expected #>> '{}' = actual #>> '{}'
END $$;

CREATE TEMP TABLE fx_exp_rows AS
SELECT k.tbl, pg_temp.key_of(e, k.keys) AS key, e AS r
  FROM fx_keys k, fx_expected x, jsonb_array_elements(x.doc -> k.tbl) e;

CREATE TEMP TABLE fx_diff (what text);
INSERT INTO fx_diff
SELECT format('%s %s: missing', e.tbl, e.key)
  FROM fx_exp_rows e
 WHERE NOT EXISTS (SELECT FROM fx_actual a JOIN fx_keys k USING (tbl)
                    WHERE a.tbl = e.tbl AND pg_temp.key_of(a.r, k.keys) = e.key);
INSERT INTO fx_diff
SELECT format('%s %s: extra row %s', a.tbl, pg_temp.key_of(a.r, k.keys), a.r)
  FROM fx_actual a JOIN fx_keys k USING (tbl)
 WHERE NOT EXISTS (SELECT FROM fx_exp_rows e WHERE e.tbl = a.tbl AND e.key = pg_temp.key_of(a.r, k.keys));
INSERT INTO fx_diff
SELECT format('%s %s: %s expected %s, got %s', e.tbl, e.key, c.key, c.value, a.r -> c.key)
  FROM fx_exp_rows e
  JOIN fx_keys k USING (tbl)
  JOIN fx_actual a ON a.tbl = e.tbl AND pg_temp.key_of(a.r, k.keys) = e.key,
       jsonb_each(e.r) c
 WHERE NOT pg_temp.same(c.value, a.r -> c.key);

-- History: every expected row with its balances; an extra row must repeat the balances in
-- force at its block (those of the entity's latest expected row at or before it).
CREATE TEMP TABLE fx_hist_exp AS
SELECT 'Vault_Historic' AS tbl, h ->> 'address' AS entity, (h ->> 'block_number')::numeric AS block, h AS r
  FROM fx_expected x, jsonb_array_elements(x.hist -> 'Vault_Historic') h
UNION ALL
SELECT 'Liquidity_Providers_Historic', (h ->> 'address') || '@' || (h ->> 'vault_address'), (h ->> 'block_number')::numeric, h
  FROM fx_expected x, jsonb_array_elements(x.hist -> 'Liquidity_Providers_Historic') h;
CREATE TEMP TABLE fx_hist_act AS
SELECT 'Vault_Historic' AS tbl, address AS entity, block_number AS block, to_jsonb(t) AS r FROM "Vault_Historic" t
UNION ALL
SELECT 'Liquidity_Providers_Historic', address || '@' || vault_address, block_number, to_jsonb(t)
  FROM "Liquidity_Providers_Historic" t;
INSERT INTO fx_diff
SELECT format('%s %s at %s: %s expected %s, got %s', e.tbl, e.entity, e.block, c, e.r -> c, a.r -> c)
  FROM fx_hist_exp e
  LEFT JOIN fx_hist_act a USING (tbl, entity, block),
       unnest(ARRAY['unlocked_balance', 'locked_balance', 'stashed_balance']) c
 WHERE a.r IS NULL OR NOT pg_temp.same(e.r -> c, a.r -> c);
INSERT INTO fx_diff
SELECT format('%s %s at %s: extra history row %s does not repeat the balances in force', a.tbl, a.entity, a.block, a.r)
  FROM fx_hist_act a
 WHERE NOT EXISTS (SELECT FROM fx_hist_exp e WHERE e.tbl = a.tbl AND e.entity = a.entity AND e.block = a.block)
   AND NOT EXISTS (
       SELECT FROM (SELECT e.r FROM fx_hist_exp e
                     WHERE e.tbl = a.tbl AND e.entity = a.entity AND e.block < a.block
                     ORDER BY e.block DESC LIMIT 1) prev
        WHERE pg_temp.same(prev.r -> 'unlocked_balance', a.r -> 'unlocked_balance')
          AND pg_temp.same(prev.r -> 'locked_balance', a.r -> 'locked_balance')
          AND pg_temp.same(prev.r -> 'stashed_balance', a.r -> 'stashed_balance'));

\set QUIET off
SELECT what AS difference FROM fx_diff ORDER BY what LIMIT 40;
SELECT 'mismatches: ' || count(*) AS result FROM fx_diff;
