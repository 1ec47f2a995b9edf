-- The vault life of tests/regress/scenario/lifecycle.sql with round events in the forwarded
-- layout (re-emitted by the vault: round id as the last key, round address as
-- the last data felt).
\i tests/regress/scenario/helpers.sql
UPDATE t.config SET layout = 'forwarded';
\i tests/regress/scenario/lifecycle.sql
