-- Every class of bad event under abort and skip, written as the Pitch Lake indexer writes
-- (SPEC 7.1): its schema, COUNT(*) + 1 nonces, a StartBlock notice beside the block row.
\i tests/regress/scenario/indexer_helpers.sql
\i tests/regress/scenario/bad_events.sql
