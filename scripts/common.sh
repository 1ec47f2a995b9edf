# Shared by the demo, test and CI scripts: prerequisites and a throwaway cluster.
# Sourced, not run. Every step is skipped when already done, so re-runs are fast.

PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
PGRX_VERSION=0.18.0
APT_PACKAGES=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-contrib libclang-dev clang
              build-essential pkg-config sudo python3)

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
    if ! grep -qs "^pg$PG_MAJOR = \"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
        log "cargo pgrx init --pg$PG_MAJOR $PG_CONFIG"
        cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG"
    fi
}

# Builds the extension and installs it into the system PostgreSQL (needs root).
install_extension() {
    log "building and installing event_processor"
    cargo pgrx install --pg-config "$PG_CONFIG" "$@"
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

# A throwaway cluster with the library preloaded and its worker in database $2, on port $1.
start_preloaded_cluster() { # port, database
    EVP_PORT=$1 EVP_EXTRA_CONF="shared_preload_libraries = 'event_processor'
evp.database = '$2'
evp.naptime = 200" start_cluster
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
