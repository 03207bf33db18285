#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, on a fresh
# Debian machine: PostgreSQL (store and queue suites), Chromium (the end-to-end
# browser test, driven by playwright-core from npm), Redis (the local Bluesky
# network's AppView), Python's venv (the Mastodon API peer) and curl (peer
# readiness checks). Idempotent: a second run installs nothing. The network
# peers themselves (npm, PyPI) are installed by scripts/peers/*.sh into a cache.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

missing=()
[ -n "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null)" ] || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# better-sqlite3 (inside the Bluesky network) compiles a native module.
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)

if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# playwright-core (never `playwright install`: it would download a browser) and
# axe-core, the accessibility checker the end-to-end suite injects into pages.
if [ ! -d "$ROOT/e2e/node_modules/playwright-core" ] || [ ! -d "$ROOT/e2e/node_modules/axe-core" ]; then
    (cd "$ROOT/e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi
