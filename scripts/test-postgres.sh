#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store's test suite.
#
#   scripts/test-postgres.sh start   # start (idempotent) and print the URL
#   scripts/test-postgres.sh env     # print `export ATALAYA_TEST_POSTGRES_URL=...`
#   scripts/test-postgres.sh stop    # stop the cluster and delete its directory
#
# The cluster lives under target/test-postgres (never committed), listens only on
# 127.0.0.1, trusts local connections and runs with fsync off: it holds nothing
# worth keeping, and tests create a fresh database each.
set -euo pipefail

PORT="${ATALAYA_TEST_POSTGRES_PORT:-54329}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${CARGO_TARGET_DIR:-$ROOT/target}/test-postgres"
PGDATA="$DIR/data"
URL="postgres://postgres@127.0.0.1:$PORT/postgres"

find_pgbin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

ensure_installed() {
    if [ -z "$(find_pgbin)" ] && ! command -v initdb >/dev/null 2>&1; then
        echo "PostgreSQL not found: installing the Debian package 'postgresql'" >&2
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        else
            sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        fi
    fi
}

# PostgreSQL refuses to run as root, so as root every server command runs as the
# `postgres` user the Debian package creates.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

is_running() {
    [ -f "$PGDATA/PG_VERSION" ] && as_owner "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

start() {
    ensure_installed
    PGBIN="$(find_pgbin)"
    if [ -z "$PGBIN" ]; then PGBIN="$(dirname "$(readlink -f "$(command -v initdb)")")"; fi
    if is_running; then
        echo "$URL"
        return
    fi
    mkdir -p "$DIR"
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        rm -rf "$PGDATA"
        mkdir -p "$PGDATA"
        if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$DIR"; fi
        as_owner "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >"$DIR/initdb.log"
    fi
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$DIR"; fi
    as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -l "$DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDATA -c fsync=off -c max_connections=300" start >&2
    echo "$URL"
}

stop() {
    PGBIN="$(find_pgbin)"
    if [ -n "$PGBIN" ] && is_running; then
        as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >&2
    fi
    rm -rf "$DIR"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) echo "export ATALAYA_TEST_POSTGRES_URL=$URL" ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
