#!/usr/bin/env bash
# The whole test suite: lint, pure-Rust unit tests, pgrx tests inside Postgres, SQL regression
# tests and integration tests against a throwaway cluster. Installs what is missing first.
#
#   scripts/test.sh                  PostgreSQL 15 (or EVP_PG)
#   scripts/test.sh --pg 15 --pg 18  each version in turn, the whole suite for each
set -euo pipefail
cd "$(dirname "$0")/.."

versions=()
while (($#)); do
    case $1 in
        --pg) versions+=("$2"); shift 2 ;;
        *) echo "usage: scripts/test.sh [--pg 15|18]…" >&2; exit 2 ;;
    esac
done
if ((${#versions[@]} > 1)); then
    summary=()
    status=0
    for v in "${versions[@]}"; do
        start=$(date +%s)
        if EVP_PG=$v bash "$0"; then result=passed; else result=FAILED; status=1; fi
        summary+=("PostgreSQL $v: $result in $(($(date +%s) - start)) s")
    done
    printf '\n%s\n' "${summary[@]}"
    exit $status
fi
if ((${#versions[@]} == 1)); then export EVP_PG=${versions[0]}; fi
source scripts/common.sh

ensure_prerequisites
passed=0
failed=0
step() { # name, command…
    local name=$1; shift
    log "$name (PostgreSQL $PG_MAJOR)"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name" >&2; fi
}

step "cargo fmt --check" cargo fmt --check
step "cargo clippy" cargo clippy --all-targets "${PG_FEATURES[@]}" --features pg_test -- -D warnings
step "pure unit tests (no Postgres)" cargo test --lib "${PG_FEATURES[@]}" -- --skip ::pg_

# pgrx's own test cluster, run by the postgres OS user from a directory it can write.
PGRX_DATA=/tmp/evp-pgrx-test-$PG_MAJOR
mkdir -p "$PGRX_DATA" && chown postgres: "$PGRX_DATA"
step "pgrx tests (inside Postgres)" cargo pgrx test "pg$PG_MAJOR" --no-default-features --runas postgres \
    --pgdata "$PGRX_DATA/data"

install_extension >/dev/null
start_cluster
REGRESS_OUT=$CLUSTER_DIR/regress
mkdir -p "$REGRESS_OUT"
createdb evp_regress
mapfile -t regress_tests < <(ls tests/regress/sql | sed 's/\.sql$//')
# --bindir: pg_regress has its build machine's bindir compiled in (the wheel's does).
step "SQL regression tests (${#regress_tests[@]})" \
    "$(dirname "$($PG_CONFIG --pgxs)")/../test/regress/pg_regress" --bindir="$PG_BIN" --use-existing \
    --dbname=evp_regress --inputdir=tests/regress --outputdir="$REGRESS_OUT" "${regress_tests[@]}"
[ -f "$REGRESS_OUT/regression.diffs" ] && cat "$REGRESS_OUT/regression.diffs"

for t in tests/integration/*.sh; do
    step "integration: $(basename "$t" .sh)" bash "$t"
done

echo
echo "test suites on PostgreSQL $PG_MAJOR: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
