-- Every class of bad event under abort and skip: the direct layout (round events emitted by
-- the round contracts, events.from_address filled).
\i tests/regress/scenario/helpers.sql
UPDATE t.config SET layout = 'direct';
\i tests/regress/scenario/bad_events.sql
