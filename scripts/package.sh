#!/usr/bin/env bash
# The release artefact: `cargo pgrx package` (release build) for one PostgreSQL version (EVP_PG,
# default 15), laid out for any PostgreSQL of that version:
#
#   event_processor-<version>-pg<N>-<arch>/
#       lib/event_processor.so            -> $(pg_config --pkglibdir)
#       extension/event_processor.control -> $(pg_config --sharedir)/extension
#       extension/event_processor--*.sql  -> $(pg_config --sharedir)/extension
#       install.sh                        copies them there (PG_CONFIG picks the server)
#       monitoring/postgres_exporter.yml  the Prometheus exporter's queries (README, Monitoring)
#
# into target/package/<that name>.tar.gz, whose path it prints last. CI installs this tarball
# into a clean PostgreSQL (tests/integration/package.sh), and the Dockerfile does too.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

ensure_prerequisites >&2
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
name=event_processor-$version-pg$PG_MAJOR-$(uname -m)
built=target/package/pgrx-pg$PG_MAJOR
stage=target/package/$name
rm -rf "$built" "$stage"
log "cargo pgrx package for PostgreSQL $PG_MAJOR" >&2
cargo pgrx package --pg-config "$PG_CONFIG" "${PG_FEATURES[@]}" --out-dir "$built" >&2
mkdir -p "$stage/lib" "$stage/extension" "$stage/monitoring"
cp monitoring/postgres_exporter.yml "$stage/monitoring/"
cp "$built$("$PG_CONFIG" --pkglibdir)/event_processor.so" "$stage/lib/"
cp "$built$("$PG_CONFIG" --sharedir)/extension/"event_processor* "$stage/extension/"
cat >"$stage/install.sh" <<INSTALL
#!/bin/sh
# Installs event_processor $version into the PostgreSQL $PG_MAJOR whose pg_config is \$PG_CONFIG
# (default: pg_config on PATH). Run as a user who may write there.
set -eu
PG_CONFIG=\${PG_CONFIG:-pg_config}
major=\$("\$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
[ "\$major" = "$PG_MAJOR" ] || { echo "this package is for PostgreSQL $PG_MAJOR, \$PG_CONFIG is \$major" >&2; exit 1; }
here=\$(dirname "\$0")
install -m 755 "\$here/lib/event_processor.so" "\$("\$PG_CONFIG" --pkglibdir)/"
install -m 644 "\$here"/extension/* "\$("\$PG_CONFIG" --sharedir)/extension/"
echo "event_processor $version installed into \$("\$PG_CONFIG" --pkglibdir) and \$("\$PG_CONFIG" --sharedir)/extension"
INSTALL
chmod 755 "$stage/install.sh"
tar -C target/package -czf "target/package/$name.tar.gz" "$name"
rm -rf "$built" "$stage"
echo "target/package/$name.tar.gz"
