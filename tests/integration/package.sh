#!/usr/bin/env bash
# The release artefact as a user gets it: scripts/package.sh's tarball, installed by its own
# install.sh into a clean PostgreSQL of the version under test (a copy of this machine's
# installation without event_processor, which PostgreSQL's relocatable layout allows), and the
# demo run on that server: the shipped files are the tested files (the exporter's queries file
# too).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh

tarball=$(bash scripts/package.sh | tail -1)
root=$(mktemp -d /tmp/evp-clean-pg.XXXXXX)
trap 'rm -rf "$root"' EXIT
clean=$(clean_installation "$root")
pkglibdir=$("$clean" --pkglibdir)
extdir=$("$clean" --sharedir)/extension

install_tarball "$tarball" "$root/unpacked" "$clean"
for f in "$root"/unpacked/*/lib/* "$root"/unpacked/*/extension/*; do
    installed=$([ "$(basename "$(dirname "$f")")" = lib ] && echo "$pkglibdir" || echo "$extdir")/$(basename "$f")
    cmp -s "$f" "$installed" || { echo "FAIL package: $(basename "$f") not installed as shipped"; exit 1; }
done

cmp -s monitoring/postgres_exporter.yml "$root"/unpacked/*/monitoring/postgres_exporter.yml \
    || { echo "FAIL package: the exporter's queries file is not shipped as in the repository"; exit 1; }

out=$root/demo.out
if ! EVP_PG_CONFIG=$clean EVP_PORT=54361 bash scripts/demo.sh >"$out" 2>&1; then
    echo "FAIL package: the demo failed on the packaged extension"; tail -20 "$out"; exit 1
fi
grep -q "extension library from $pkglibdir\$" "$out" \
    || { echo "FAIL package: the demo's server did not load the packaged library"; grep "server:" "$out"; exit 1; }
grep -q "demo finished" "$out" || { echo "FAIL package: the demo did not finish"; exit 1; }
echo "ok package: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) kB) installed by its install.sh into a clean PostgreSQL $PG_MAJOR; the demo ran on it"
