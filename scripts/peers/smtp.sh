#!/usr/bin/env bash
# An SMTP sink for the mail tests: aiosmtpd (PyPI, Apache-2.0) with our handler
# (smtp_sink.py beside this script), which keeps every message exactly as
# received in a Maildir and refuses `reject*@` (550) and `tempfail*@` (451)
# recipients, so tests read what a real SMTP client sent.
#
#   scripts/peers/smtp.sh install  # idempotent: a venv in the peers cache dir
#   scripts/peers/smtp.sh start    # start (idempotent), wait for its banner, print smtp://host:port
#   scripts/peers/smtp.sh maildir  # print the Maildir directory the sink writes to
#   scripts/peers/smtp.sh env      # print the exports of ATALAYA_TEST_SMTP_URL and _MAILDIR
#   scripts/peers/smtp.sh stop     # stop it
#
# Messages accumulate while the sink runs; tests find theirs by a unique
# recipient address, so concurrent tests and repeated runs do not mix.
set -euo pipefail

VERSION="1.4.6"
PORT="${ATALAYA_TEST_SMTP_PORT:-2525}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${ATALAYA_PEERS_CACHE:-$HOME/.cache/atalaya/peers}"
VENV="$CACHE/aiosmtpd-$VERSION"
STATE="${TMPDIR:-/tmp}/atalaya-peers/smtp-$PORT"
MAILDIR="$STATE/maildir"
URL="smtp://127.0.0.1:$PORT"
# How long `start` waits for the server's banner before giving up.
START_TIMEOUT_SECONDS="${ATALAYA_PEER_START_TIMEOUT:-60}"

install() {
    # Two test runs may install at once: the second waits, then finds the marker.
    mkdir -p "$CACHE"
    exec 8>"$CACHE/.aiosmtpd-$VERSION.lock"
    flock -w "${ATALAYA_PEER_LOCK_TIMEOUT:-600}" 8 || { echo "another install holds the lock; giving up" >&2; exit 1; }
    # The marker is written last, so an interrupted install is redone, not trusted.
    if [ -f "$VENV/.installed" ]; then
        return
    fi
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo "python3 venv support missing: install the Debian package python3-venv" >&2
        exit 1
    fi
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$VERSION" >&2
    touch "$VENV/.installed"
}

# Up when something on the port greets with an SMTP 220 banner.
is_up() {
    local banner=""
    { exec 7<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
    read -r -t 2 banner <&7 || true
    printf 'QUIT\r\n' >&7 2>/dev/null || true
    exec 7>&- 7<&-
    [[ "$banner" == 220* ]]
}

start() {
    install
    if is_up; then
        echo "$URL"
        return
    fi
    mkdir -p "$STATE" "$MAILDIR"/{tmp,new,cur}
    # `exec` makes the recorded pid the server's own; stdin/stdout/stderr are
    # detached so a caller reading our output (`$(... start)`) does not wait for it.
    (cd "$STATE" && export PYTHONPATH="$HERE" && exec nohup "$VENV/bin/python" -m aiosmtpd -n \
        -l "127.0.0.1:$PORT" -c smtp_sink.Sink "$MAILDIR" </dev/null >"$STATE/server.log" 2>&1 8>&- 9>&-) &
    echo $! >"$STATE/pid"
    local deadline=$((SECONDS + START_TIMEOUT_SECONDS))
    until is_up; do
        if ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
            echo "the SMTP sink exited; its log:" >&2
            cat "$STATE/server.log" >&2
            exit 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "the SMTP sink did not answer on $URL within ${START_TIMEOUT_SECONDS}s; log: $STATE/server.log" >&2
            exit 1
        fi
        # Polling interval of the readiness check, not a wait for readiness itself.
        sleep 0.1
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
    rm -rf "$MAILDIR"
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
    maildir) echo "$MAILDIR" ;;
    env) printf 'export ATALAYA_TEST_SMTP_URL=%s\nexport ATALAYA_TEST_SMTP_MAILDIR=%s\n' "$URL" "$MAILDIR" ;;
    *) echo "usage: $0 install|start|stop|maildir|env" >&2; exit 2 ;;
esac
