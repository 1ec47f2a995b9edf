#!/usr/bin/env bash
# The release artefact: `cargo pgrx package` (release build) for one PostgreSQL version (EVP_PG,
# default 15), laid out for any PostgreSQL of that version:
#
#   event_processor-<version>-pg<N>-<arch>/
#       lib/event_processor.so            -> $(pg_config --pkglibdir)
#       extension/event_processor.control -> $(pg_config --sharedir)/extension
#       extension/event_processor--*.sql  -> $(pg_config --sharedir)/extension
#       install.sh                        copies them there (PG_CONFIG picks the server)
#       monitoring/postgres_exporter.yml  the Prometheus exporter's queries (docs/operating.md)
#
# into target/package/<that name>.tar.gz; and the same files as a Debian package for Debian's
# PostgreSQL <N> (the layout, name and dependencies of Debian's own extension packages, such as
# postgresql-15-cron; for 18 too, though this machine's 18 is the wheel under /opt):
#
#   target/package/postgresql-<N>-event-processor_<version>-1_<dpkg arch>.deb
#       /usr/lib/postgresql/<N>/lib/event_processor.so
#       /usr/share/postgresql/<N>/extension/event_processor.control, event_processor--*.sql
#       /usr/share/postgresql-<N>-event-processor/postgres_exporter.yml  (data the exporter
#           reads, so not under /usr/share/doc, which an installation may leave out: Debian
#           Policy 12.3, dpkg's path-exclude in slim images such as the Dockerfile's base)
#       /usr/share/doc/postgresql-<N>-event-processor/copyright, changelog.Debian.gz
#   Depends: postgresql-<N> and the library's own (dpkg-shlibdeps); `apt-get install ./<it>.deb`
#   installs it, `apt-get remove postgresql-<N>-event-processor` removes it.
#
# Output: the .deb's path, then the tarball's path on the last line (callers take `tail -1` for
# the tarball, `tail -2 | head -1` for the .deb); everything else goes to stderr. CI installs the
# tarball into a clean PostgreSQL (tests/integration/package.sh) and the .deb into this
# machine's PostgreSQL 15 with apt-get (tests/integration/deb.sh); the Dockerfile installs the
# .deb. SOURCE_DATE_EPOCH, if set, dates the Debian changelog (default: now);
# EVP_DEB_MAINTAINER sets the Maintainer field.
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

# The .deb, staged as debhelper would: debian/control (for dpkg-shlibdeps) beside the package's
# tree debian/<package>/. The files are the tarball's, byte for byte (the library unstripped, as
# in the tarball: it has no debug information, only its symbol table).
deb_package=postgresql-$PG_MAJOR-event-processor
deb_version=$version-1
deb=target/package/${deb_package}_${deb_version}_$(dpkg --print-architecture).deb
deb_stage=target/package/deb-pg$PG_MAJOR
tree=$deb_stage/debian/$deb_package
rm -rf "$deb_stage"
log "Debian package $(basename "$deb")" >&2
command -v dpkg-shlibdeps >/dev/null || { echo "dpkg-shlibdeps (dpkg-dev, in build-essential) is required" >&2; exit 1; }
install -d "$tree/DEBIAN" "$tree/usr/lib/postgresql/$PG_MAJOR/lib" \
    "$tree/usr/share/postgresql/$PG_MAJOR/extension" "$tree/usr/share/$deb_package" \
    "$tree/usr/share/doc/$deb_package"
# 644 for the library too, as Debian installs shared objects.
install -m 644 "$stage/lib/event_processor.so" "$tree/usr/lib/postgresql/$PG_MAJOR/lib/"
install -m 644 "$stage"/extension/* "$tree/usr/share/postgresql/$PG_MAJOR/extension/"
install -m 644 "$stage/monitoring/postgres_exporter.yml" "$tree/usr/share/$deb_package/"
deb_maintainer=${EVP_DEB_MAINTAINER:-event_processor maintainers <maintainers@users.noreply.r-seed-2c98bc42.example>}
cat >"$tree/usr/share/doc/$deb_package/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: event_processor

Files: *
Copyright: the event_processor authors
License: MIT

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 THE SOFTWARE.
COPYRIGHT
{
    printf '%s (%s) unstable; urgency=medium\n\n' "$deb_package" "$deb_version"
    printf '  * event_processor %s for PostgreSQL %s, built by scripts/package.sh.\n\n' "$version" "$PG_MAJOR"
    printf ' -- %s  %s\n' "$deb_maintainer" "$(LC_ALL=C date -u -R -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")"
} | gzip -9n >"$tree/usr/share/doc/$deb_package/changelog.Debian.gz"
chmod 644 "$tree/usr/share/doc/$deb_package"/*
# The library's own dependencies (libc6, libgcc-s1), from the symbols it uses: dpkg-dev's
# dpkg-shlibdeps, as Debian's packages get them, not a hand-written guess.
printf 'Source: event-processor\n\nPackage: %s\nArchitecture: any\n' "$deb_package" >"$deb_stage/debian/control"
shlibs=$(cd "$deb_stage" && dpkg-shlibdeps -O -e"debian/$deb_package/usr/lib/postgresql/$PG_MAJOR/lib/event_processor.so" \
    | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "dpkg-shlibdeps found no dependencies for event_processor.so" >&2; exit 1; }
# Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up, and 1 per directory.
installed_size=$(find "$tree/usr" -printf '%y %s\n' | awk '{ s += $1 == "f" ? int(($2 + 1023) / 1024) : 1 } END { print s }')
cat >"$tree/DEBIAN/control" <<CONTROL
Package: $deb_package
Version: $deb_version
Architecture: $(dpkg --print-architecture)
Maintainer: $deb_maintainer
Installed-Size: $installed_size
Depends: postgresql-$PG_MAJOR, $shlibs
Section: database
Priority: optional
Description: Pitch Lake vault events applied to application state, for PostgreSQL $PG_MAJOR
 event_processor is a PostgreSQL extension that applies the Pitch Lake vault
 events a Starknet indexer inserts to the application's state, inside the
 database: vaults, liquidity providers, option rounds and buyers, kept in step
 with the indexer's blocks and reverted on reorgs.
 .
 CREATE EXTENSION event_processor in the indexer's database; for its
 background worker, add event_processor to shared_preload_libraries. The
 Prometheus exporter's queries file is
 /usr/share/$deb_package/postgres_exporter.yml.
CONTROL
(cd "$tree" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$tree/DEBIAN/md5sums"
chmod 644 "$tree/DEBIAN/control" "$tree/DEBIAN/md5sums"
find "$tree" -type d -exec chmod 755 {} +  # whatever the umask: dpkg-deb keeps the modes
dpkg-deb --root-owner-group --build "$tree" "$deb" >&2
rm -rf "$built" "$stage" "$deb_stage"
echo "$deb"
echo "target/package/$name.tar.gz"
