# PostgreSQL 15 (Debian bookworm) with event_processor preloaded and created in the default
# database. Build: docker build -t event_processor . ; run: docker run -e POSTGRES_PASSWORD=… event_processor
# Not built in this project's CI (no Docker engine there): reviewed by eye, never built. It
# ships what CI tests: the .deb of scripts/package.sh, installed with apt-get, as
# tests/integration/deb.sh installs it into Debian's PostgreSQL 15 and runs the demo on it.

FROM postgres:15-bookworm AS build
ARG RUST_VERSION=1.95.0
ARG PGRX_VERSION=0.18.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl build-essential pkg-config \
        libclang-dev clang postgresql-server-dev-15 sudo python3 python3-pip postgresql-contrib \
 && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
RUN curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain "$RUST_VERSION"
RUN cargo install cargo-pgrx --version "$PGRX_VERSION" --locked \
 && cargo pgrx init --pg15 /usr/lib/postgresql/15/bin/pg_config
WORKDIR /src
COPY Cargo.toml Cargo.lock event_processor.control ./
COPY .cargo .cargo
COPY src src
COPY sql sql
COPY scripts scripts
COPY monitoring monitoring
RUN EVP_PG=15 bash scripts/package.sh

FROM postgres:15-bookworm
# Only the package: the built library, control file and SQL scripts (install and upgrade
# scripts), the exporter's queries file, in Debian's layout. Its dependencies (postgresql-15,
# libc6, libgcc-s1) are the image's already, so apt-get needs no package lists (the image has
# none) and no network; `apt-get remove postgresql-15-event-processor` would take it out again.
COPY --from=build /src/target/package/postgresql-15-event-processor_*.deb /tmp/
RUN apt-get install -y /tmp/postgresql-15-event-processor_*.deb \
 && rm /tmp/postgresql-15-event-processor_*.deb
# The worker serves the image's default database; set evp.database to the indexer's database.
RUN printf "shared_preload_libraries = 'event_processor'\nevp.database = 'postgres'\n" > /usr/share/postgresql/event_processor.conf \
 && echo "include_if_exists = '/usr/share/postgresql/event_processor.conf'" >> /usr/share/postgresql/postgresql.conf.sample
RUN printf 'CREATE EXTENSION IF NOT EXISTS event_processor;\n' > /docker-entrypoint-initdb.d/10-event_processor.sql
