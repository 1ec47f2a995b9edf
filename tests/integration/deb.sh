#!/usr/bin/env bash
# The Debian package as a user gets it: scripts/package.sh's .deb for PostgreSQL 15, installed
# with `apt-get install ./<file>.deb` into this machine's PostgreSQL 15 (Debian's), the demo run
# on that server, then `apt-get remove`. PostgreSQL 15 only: on 18 this machine has the wheel
# under /opt, not Debian's postgresql-18 the .deb depends on.
#
# The system PostgreSQL 15 holds the development build (`cargo pgrx install`, files no package
# owns, which dpkg overwrites): they are saved first and put back at the end, by rename, on
# failure too, so the system is left as found. The .deb's dependencies are installed here, so
# apt-get needs neither package lists nor the network (its --no-download would make sure, but
# apt 2.6 then fails on a local .deb: "Pathname to install is not absolute"); a simulation
# first checks it would install this package and nothing else.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh

if [ "$PG_MAJOR" != 15 ]; then
    echo "ok deb: skipped on PostgreSQL $PG_MAJOR: the .deb test needs Debian's PostgreSQL $PG_MAJOR"
    exit 0
fi
pkg=postgresql-15-event-processor
pg_config=$PG15_CONFIG
pkglibdir=$("$pg_config" --pkglibdir)
extdir=$("$pg_config" --sharedir)/extension
export DEBIAN_FRONTEND=noninteractive
shopt -s nullglob

installed() { dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; }
if installed; then
    echo "FAIL deb: $pkg is installed already; this test would remove it"; exit 1
fi
# package.sh prints the .deb's path, then the tarball's.
deb=$(bash scripts/package.sh | tail -2 | head -1)
case $deb in *"/${pkg}_"*.deb) ;; *) echo "FAIL deb: scripts/package.sh printed no .deb ($deb)"; exit 1 ;; esac
deb=$PWD/$deb

# The development files, with their modes and owners, and a manifest to check they come back.
dev_files() { printf '%s\n' "$pkglibdir"/event_processor.so "$extdir"/event_processor*; }
manifest() { dev_files | while read -r f; do echo "$(sha256sum <"$f") $(stat -c '%a %U:%G' "$f") $f"; done; }
work=$(mktemp -d /tmp/evp-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
mapfile -t saved < <(dev_files)
mkdir "$work/saved"
for f in "${saved[@]}"; do mkdir -p "$work/saved$(dirname "$f")" && cp -a "$f" "$work/saved$f"; done
before=$(manifest)

# Removes the package if installed, then puts the development files back: each copied beside its
# place and renamed into it, so a server that has the library loaded keeps its mapping.
restore() {
    if installed; then
        apt-get remove -y -qq "$pkg" >>"$work/apt.log" 2>&1 || dpkg -r "$pkg" >>"$work/apt.log" 2>&1 || true
    fi
    local f
    for f in "$pkglibdir"/event_processor.so "$extdir"/event_processor*; do
        [ -e "$work/saved$f" ] || rm -f "$f"  # not there before the test
    done
    for f in "${saved[@]}"; do
        cp -a "$work/saved$f" "$f.evp-restore.$$" && mv -f "$f.evp-restore.$$" "$f"
    done
    [ "$(manifest)" = "$before" ]
}
on_exit() {
    local rc=$?
    restore || { echo "FAIL deb: the development files were not restored as found"; rc=1; }
    rm -rf "$work"
    exit $rc
}
trap on_exit EXIT
fail() { echo "FAIL deb: $*"; [ -s "$work/apt.log" ] && tail -20 "$work/apt.log"; exit 1; }

apt-get install -s "$deb" >"$work/apt.log" 2>&1 || fail "apt-get install -s $deb failed"
[ "$(grep '^Inst ' "$work/apt.log" | cut -d' ' -f2)" = "$pkg" ] \
    || fail "apt-get install $deb would install more than $pkg: $(grep '^Inst ' "$work/apt.log" | cut -d' ' -f2 | xargs)"
apt-get install -y "$deb" >"$work/apt.log" 2>&1 || fail "apt-get install $deb failed"
installed || fail "dpkg -s $pkg: not installed after apt-get install"
[ "$(dpkg-query -W -f='${Version}' "$pkg")" = "$(dpkg-deb -f "$deb" Version)" ] \
    || fail "dpkg -s $pkg: not the version of the .deb"

# Every file of the .deb: listed by dpkg -L, and installed as shipped.
dpkg-deb -x "$deb" "$work/contents"
mapfile -t files < <(cd "$work/contents" && find . -type f | sed 's/^\.//' | LC_ALL=C sort)
listed=$(dpkg -L "$pkg")
for f in "${files[@]}"; do
    grep -qxF "$f" <<<"$listed" || fail "dpkg -L $pkg does not list $f"
    cmp -s "$work/contents$f" "$f" || fail "$f is not installed as shipped"
    [ "$(stat -c '%a %U:%G' "$f")" = "644 root:root" ] || fail "$f: $(stat -c '%a %U:%G' "$f"), not 644 root:root"
done
for f in "$pkglibdir/event_processor.so" "$extdir/event_processor.control"; do
    grep -qxF "$f" <<<"$listed" || fail "dpkg -L $pkg does not list $f"
done

out=$work/demo.out
if ! EVP_PG_CONFIG=$pg_config EVP_PORT=54362 bash scripts/demo.sh >"$out" 2>&1; then
    echo "FAIL deb: the demo failed on the packaged extension"; tail -20 "$out"; exit 1
fi
grep -q "extension library from $pkglibdir\$" "$out" \
    || { echo "FAIL deb: the demo's server did not load the library from $pkglibdir"; grep "server:" "$out"; exit 1; }
grep -q "demo finished" "$out" || fail "the demo did not finish"
# The library the demo loaded was the package's the whole time.
cmp -s "$work/contents$pkglibdir/event_processor.so" "$pkglibdir/event_processor.so" \
    || fail "$pkglibdir/event_processor.so changed during the demo"

apt-get remove -y "$pkg" >"$work/apt.log" 2>&1 || fail "apt-get remove $pkg failed"
! dpkg -s "$pkg" >/dev/null 2>&1 || fail "dpkg -s $pkg: still known to dpkg after apt-get remove"
for f in "${files[@]}"; do [ ! -e "$f" ] || fail "$f left behind by apt-get remove"; done
for d in "/usr/share/doc/$pkg" "/usr/share/$pkg"; do [ ! -e "$d" ] || fail "$d left behind by apt-get remove"; done

restore || fail "the development files were not restored as found"
trap - EXIT
rm -rf "$work"
echo "ok deb: $(basename "$deb") ($(du -k "$deb" | cut -f1) kB, ${#files[@]} files) installed by apt-get into PostgreSQL 15, the demo ran on it, apt-get remove removed it; the development files (${#saved[@]}) restored"
