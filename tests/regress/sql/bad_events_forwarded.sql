-- Every class of bad event under abort and skip: the forwarded layout (round events
-- re-emitted by the vault with the round id key and the round address data felt).
\i tests/regress/scenario/helpers.sql
\i tests/regress/scenario/bad_events.sql
