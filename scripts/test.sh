#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs and starts what the tests
# need (PostgreSQL, Chromium, a local Bluesky network, a Mastodon API peer, an
# SMTP sink),
# checks formatting and lints, runs every crate's tests on SQLite and
# PostgreSQL and against the network peers, then the end-to-end tests against
# the real server on a real port. `.ci/run` runs exactly this.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

started=$(date +%s)
# Each step prints the seconds since the start, so a slow CI run says where the time went.
step() { printf '\n==> [%ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }

step "installing test dependencies"
scripts/install-test-deps.sh

# The network peers install from npm and PyPI into a cache (about 7 minutes
# the first time on a machine, nothing afterwards): in the background, while
# Rust compiles.
mkdir -p target
peers_log="$ROOT/target/peers-install.log"
(scripts/peers/bluesky.sh install && scripts/peers/mastodon.sh install && scripts/peers/smtp.sh install) >"$peers_log" 2>&1 &
peers_install=$!

# Bounded, so that a peer that will not stop can never keep the run from ending.
stop_services() {
    timeout 120 scripts/peers/bluesky.sh stop >/dev/null 2>&1 || true
    timeout 60 scripts/peers/mastodon.sh stop >/dev/null 2>&1 || true
    timeout 60 scripts/peers/smtp.sh stop >/dev/null 2>&1 || true
    timeout 60 scripts/test-postgres.sh stop >/dev/null 2>&1 || true
}
trap stop_services EXIT

step "starting PostgreSQL"
ATALAYA_TEST_POSTGRES_URL="$(scripts/test-postgres.sh start)"
export ATALAYA_TEST_POSTGRES_URL

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "building the tests"
cargo test --workspace --locked --no-run

step "starting the network peers (Bluesky, Mastodon API, SMTP sink)"
if ! wait "$peers_install"; then
    cat "$peers_log" >&2
    echo "installing the network peers failed (log above)" >&2
    exit 1
fi
ATALAYA_TEST_BLUESKY_PDS_URL="$(scripts/peers/bluesky.sh start)"
ATALAYA_TEST_MASTODON_URL="$(scripts/peers/mastodon.sh start)"
ATALAYA_TEST_SMTP_URL="$(scripts/peers/smtp.sh start)"
ATALAYA_TEST_SMTP_MAILDIR="$(scripts/peers/smtp.sh maildir)"
export ATALAYA_TEST_BLUESKY_PDS_URL ATALAYA_TEST_MASTODON_URL ATALAYA_TEST_SMTP_URL ATALAYA_TEST_SMTP_MAILDIR

step "cargo test (SQLite, PostgreSQL, network peers, SMTP sink)"
cargo test --workspace --locked

step "end-to-end tests (browser, real server, Bluesky network)"
cargo build -p atalaya --locked
ATALAYA_BIN="$ROOT/target/debug/atalaya" node --test e2e/

echo
echo "all tests passed in $(( $(date +%s) - started )) s"
