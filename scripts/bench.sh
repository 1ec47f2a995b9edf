#!/usr/bin/env bash
# The benchmarks (not part of the test suite): builds the extension in release mode, starts a
# throwaway cluster with it preloaded, and runs bench/bench.py, which measures every figure
# against the same load with no extension installed, prints the figures and their targets and
# writes BENCHMARKS.md. Arguments go to bench.py (`scripts/bench.sh --help` lists them):
# --only dense,chain,... runs a subset; sizes (--empty, --history, --scale, the bench chain's
# --vaults --lps ...) and --runs can be made small to iterate.
# EVP_PG_CONFIG installs into and runs another PostgreSQL installation (`clean_installation` in
# common.sh makes a copy: installing rewrites the library under clusters that run it);
# EVP_PORT sets the cluster's port.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

ensure_prerequisites
for p in python3 python3-venv; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
VENV=target/bench-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import psycopg" 2>/dev/null || "$VENV/bin/pip" install -q "psycopg[binary]==3.*"

install_extension --release >/dev/null
EVP_PORT=${EVP_PORT:-54359} EVP_EXTRA_CONF="shared_preload_libraries = 'event_processor'
listen_addresses = '127.0.0.1'
evp.database = 'bench_worker'
evp.mode = 'async'
evp.naptime = 100
evp.batch_size = 100
shared_buffers = '1GB'
synchronous_commit = on" start_cluster
"$VENV/bin/python" bench/bench.py --command "scripts/bench.sh${*:+ $*}" "$@"
