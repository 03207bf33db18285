#!/usr/bin/env bash
# A Mastodon-API test peer for atalaya-connectors: `mastodon-mock` (PyPI, MIT),
# a FastAPI + SQLite imitation of Mastodon's REST API with OAuth and fault injection.
# No real Mastodon server installs on our machines (see docs/PEERS or the report of
# issue 5), so this is the closest peer; where it differs from Mastodon's own API
# documentation, the tests follow the docs and say so.
#
#   scripts/peers/mastodon.sh install  # idempotent: a venv in the peers cache dir
#   scripts/peers/mastodon.sh start    # start (idempotent), wait until it answers
#   scripts/peers/mastodon.sh env      # print `export ATALAYA_TEST_MASTODON_URL=...`
#   scripts/peers/mastodon.sh stop     # stop it
#
# The server keeps everything in memory with demo users (tokens `ada_token`,
# `grace_token`); tests create their own statuses, so re-running them against a
# long-running peer is fine.
set -euo pipefail

VERSION="0.6.1"
PORT="${ATALAYA_TEST_MASTODON_PORT:-3011}"
CACHE="${ATALAYA_PEERS_CACHE:-$HOME/.cache/atalaya/peers}"
VENV="$CACHE/mastodon-mock-$VERSION"
STATE="${TMPDIR:-/tmp}/atalaya-peers/mastodon-$PORT"
URL="http://127.0.0.1:$PORT"
# How long `start` waits for the server to answer before giving up.
START_TIMEOUT_SECONDS="${ATALAYA_PEER_START_TIMEOUT:-60}"

install() {
    # Two test runs may install at once: the second waits, then finds the marker.
    mkdir -p "$CACHE"
    exec 8>"$CACHE/.mastodon-mock-$VERSION.lock"
    flock -w "${ATALAYA_PEER_LOCK_TIMEOUT:-600}" 8 || { echo "another install holds the lock; giving up" >&2; exit 1; }
    # The marker is written last, so an interrupted install is redone, not trusted.
    if [ -f "$VENV/.installed" ]; then
        return
    fi
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo "python3 venv support missing: install the Debian package python3-venv" >&2
        exit 1
    fi
    mkdir -p "$CACHE"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "mastodon-mock==$VERSION" >&2
    touch "$VENV/.installed"
}

is_up() {
    curl -fsS -o /dev/null --max-time 2 "$URL/api/v1/instance" 2>/dev/null
}

start() {
    install
    if is_up; then
        echo "$URL"
        return
    fi
    mkdir -p "$STATE"
    # `exec` makes the recorded pid the server's own; stdin/stdout/stderr are
    # detached so a caller reading our output (`$(... start)`) does not wait for the server.
    # The "in-memory" database and media are temp files: keep them in the state
    # dir, so `stop` removes what a killed server leaves behind.
    rm -rf "$STATE/tmp"
    mkdir -p "$STATE/tmp"
    (cd "$STATE" && export TMPDIR="$STATE/tmp" && exec nohup "$VENV/bin/mastodon_mock" serve --in-memory --demo \
        --host 127.0.0.1 --port "$PORT" </dev/null >"$STATE/server.log" 2>&1 8>&- 9>&-) &
    echo $! >"$STATE/pid"
    local deadline=$((SECONDS + START_TIMEOUT_SECONDS))
    until is_up; do
        if ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
            echo "mastodon-mock exited; its log:" >&2
            cat "$STATE/server.log" >&2
            exit 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "mastodon-mock did not answer on $URL within ${START_TIMEOUT_SECONDS}s; log: $STATE/server.log" >&2
            exit 1
        fi
        # Polling interval of the readiness check, not a wait for readiness itself.
        sleep 0.2
    done
    echo "$URL"
}

stop() {
    if [ -f "$STATE/pid" ]; then
        local pid
        pid="$(cat "$STATE/pid")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
        rm -f "$STATE/pid"
    fi
    rm -rf "$STATE/tmp"
}

# Two test runs may call start (or stop) at once: serialize them, or both would
# launch a server on the same port. The server itself never holds the locks.
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
    install) install ;;
    start) locked start ;;
    stop) locked stop ;;
    env) echo "export ATALAYA_TEST_MASTODON_URL=$URL" ;;
    *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
