#!/usr/bin/env bash
# The whole test suite: lint, pure-Rust unit tests, pgrx tests inside Postgres, SQL regression
# tests and integration tests against a throwaway cluster. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

ensure_prerequisites
passed=0
failed=0
step() { # name, command…
    local name=$1; shift
    log "$name"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name" >&2; fi
}

step "cargo fmt --check" cargo fmt --check
step "cargo clippy" cargo clippy --all-targets --features "pg15 pg_test" -- -D warnings
step "pure unit tests (no Postgres)" cargo test --lib -- --skip ::pg_

# pgrx's own test cluster, run by the postgres OS user from a directory it can write.
PGRX_DATA=/tmp/evp-pgrx-test
mkdir -p "$PGRX_DATA" && chown postgres: "$PGRX_DATA"
step "pgrx tests (inside Postgres)" cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_DATA/data"

install_extension >/dev/null
start_cluster
REGRESS_OUT=$CLUSTER_DIR/regress
mkdir -p "$REGRESS_OUT"
createdb evp_regress
mapfile -t regress_tests < <(ls tests/regress/sql | sed 's/\.sql$//')
step "SQL regression tests (${#regress_tests[@]})" \
    "$(dirname "$($PG_CONFIG --pgxs)")/../test/regress/pg_regress" --use-existing --dbname=evp_regress \
    --inputdir=tests/regress --outputdir="$REGRESS_OUT" "${regress_tests[@]}"
[ -f "$REGRESS_OUT/regression.diffs" ] && cat "$REGRESS_OUT/regression.diffs"

for t in tests/integration/*.sh; do
    step "integration: $(basename "$t" .sh)" bash "$t"
done

echo
echo "test suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
