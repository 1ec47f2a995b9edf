-- The vault life of tests/regress/scenario/lifecycle.sql with round events in the direct
-- layout (emitted by the round contracts: events.from_address is the round).
\i tests/regress/scenario/helpers.sql
UPDATE t.config SET layout = 'direct';
\i tests/regress/scenario/lifecycle.sql
