#!/usr/bin/env bash
# The whole test suite: lint, pure-Rust unit tests, pgrx tests inside Postgres, SQL regression
# tests and integration tests against a throwaway cluster. Installs what is missing first.
#
#   scripts/test.sh                  PostgreSQL 15 (or EVP_PG)
#   scripts/test.sh --pg 15 --pg 18  each version in turn, the whole suite for each
#   scripts/test.sh --only NAME…     the extension installed and a cluster started, only these
#                                    tests: regression (tests/regress/sql/NAME.sql) or integration
#                                    (tests/integration/NAME.sh)
#   scripts/test.sh --accept NAME…   runs these regression tests and copies each one's output over
#                                    tests/regress/expected/NAME.out, printing the diff
# The regression tests' output (results/NAME.out, regression.diffs) stays in target/regress/pgN.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/test.sh [--pg 15|18]… [--only NAME… | --accept NAME…]" >&2; exit 2; }
versions=() mode=suite names=()
while (($#)); do
    case $1 in
        --pg) versions+=("$2"); shift 2 ;;
        --only | --accept) [ "$mode" = suite ] || usage; mode=${1#--}; shift ;;
        -*) usage ;;
        *) [ "$mode" != suite ] || usage; names+=("$1"); shift ;;
    esac
done
[ "$mode" = suite ] || ((${#names[@]})) || usage
if [ "$mode" = suite ]; then
    mapfile -t regress_tests < <(ls tests/regress/sql | sed 's/\.sql$//')
    integration_tests=(tests/integration/*.sh)
else
    regress_tests=() integration_tests=()
    for n in "${names[@]}"; do
        if [ -f "tests/regress/sql/$n.sql" ]; then
            regress_tests+=("$n")
        elif [ -f "tests/integration/$n.sh" ] && [ "$mode" = only ]; then
            integration_tests+=("tests/integration/$n.sh")
        else
            echo "$n: no tests/regress/sql/$n.sql$([ "$mode" = only ] && echo " nor tests/integration/$n.sh")" >&2; exit 2
        fi
    done
fi

if ((${#versions[@]} > 1)); then
    [ "$mode" != accept ] || { echo "--accept: one version (the expected outputs are those of every version)" >&2; exit 2; }
    summary=()
    status=0
    for v in "${versions[@]}"; do
        start=$(date +%s)
        if EVP_PG=$v bash "$0" ${names[@]:+"--$mode"} "${names[@]}"; then result=passed; else result=FAILED; status=1; fi
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

if [ "$mode" = suite ]; then
    step "cargo fmt --check" cargo fmt --check
    step "cargo clippy" cargo clippy --all-targets "${PG_FEATURES[@]}" --features pg_test -- -D warnings
    step "pure unit tests (no Postgres)" cargo test --lib "${PG_FEATURES[@]}" -- --skip ::pg_
    # pgrx's own test cluster, run by the postgres OS user from a directory it can write.
    PGRX_DATA=/tmp/evp-pgrx-test-$PG_MAJOR
    mkdir -p "$PGRX_DATA" && chown postgres: "$PGRX_DATA"
    step "pgrx tests (inside Postgres)" cargo pgrx test "pg$PG_MAJOR" --no-default-features --runas postgres \
        --pgdata "$PGRX_DATA/data"
fi

REGRESS_OUT=target/regress/pg$PG_MAJOR
# pg_regress: regression tests $@ in a fresh database of the running cluster; their output in
# $REGRESS_OUT (kept), and on a failure what differs.
regress() { # test…
    rm -rf "$REGRESS_OUT" && mkdir -p "$REGRESS_OUT"
    PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists evp_regress && createdb evp_regress
    # --bindir: pg_regress has its build machine's bindir compiled in (the wheel's does).
    "$(dirname "$($PG_CONFIG --pgxs)")/../test/regress/pg_regress" --bindir="$PG_BIN" --use-existing \
        --dbname=evp_regress --inputdir=tests/regress --outputdir="$REGRESS_OUT" "$@" && return 0
    [ "$mode" = accept ] || cat "$REGRESS_OUT/regression.diffs" 2>/dev/null || true
    echo "the output of the regression tests: $REGRESS_OUT/results (scripts/test.sh --accept NAME takes one as expected)" >&2
    return 1
}
# Regression tests $@, each one's output copied over its expected output, the diff printed.
accept() { # test…
    local t out status=0
    regress "$@" || true
    for t; do
        out=$REGRESS_OUT/results/$t.out
        [ -f "$out" ] || { echo "$t: no output in $REGRESS_OUT/results" >&2; status=1; continue; }
        if diff -u "tests/regress/expected/$t.out" "$out"; then
            echo "$t: its output is the expected one"
        else
            cp "$out" "tests/regress/expected/$t.out"
            echo "$t: tests/regress/expected/$t.out is now its output (the diff above)"
        fi
    done
    return $status
}

install_extension >/dev/null
start_cluster
if [ "$mode" = accept ]; then
    accept "${regress_tests[@]}"
    exit
fi
((${#regress_tests[@]} == 0)) || step "SQL regression tests (${#regress_tests[@]})" regress "${regress_tests[@]}"
for t in "${integration_tests[@]}"; do
    step "integration: $(basename "$t" .sh)" bash "$t"
done

echo
echo "test suites on PostgreSQL $PG_MAJOR: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
