#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs and starts what the tests
# need (PostgreSQL, Chromium), checks formatting and lints, runs every crate's
# tests on SQLite and PostgreSQL, then the end-to-end browser test against the
# real server on a real port. `.ci/run` runs exactly this.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

step "installing test dependencies"
scripts/install-test-deps.sh

step "starting PostgreSQL"
ATALAYA_TEST_POSTGRES_URL="$(scripts/test-postgres.sh start)"
export ATALAYA_TEST_POSTGRES_URL
trap 'scripts/test-postgres.sh stop >/dev/null 2>&1 || true' EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (SQLite and PostgreSQL)"
cargo test --workspace --locked

step "end-to-end browser test"
cargo build -p atalaya --locked
ATALAYA_BIN="$ROOT/target/debug/atalaya" node --test e2e/

echo
echo "all tests passed in $(( $(date +%s) - started )) s"
