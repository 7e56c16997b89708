#!/usr/bin/env bash
# Runs the web UI's browser tests: starts `okno demo` (the binary in OKNO_BIN, default
# target/debug/okno) on a fresh embedded database and a free port, without the sign-in and
# filing rate limits (the tests sign in and file more often than a person; the limits have
# their own tests in crates/okno/tests/trust.rs), drives Debian's Chromium
# with playwright-core through web/e2e/, and prints `web-e2e: N passed, M failed`.
# Screenshots and the measured first-render time land in web/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
okno=${OKNO_BIN:-target/debug/okno}

work=$(mktemp -d /tmp/okno-web-e2e-XXXXXX)
. scripts/lib/live-server.sh
trap 'stop_okno; rm -rf "$work"' EXIT

rm -rf web/artifacts
mkdir -p web/artifacts
serve_okno web/artifacts/server.log --db "sqlite://$work/okno.db" demo --login-per-minute 0 --submit-per-minute 0 || { echo "web-e2e: 0 passed, 1 failed"; exit 1; }

status=0
(cd web && OKNO_URL="$url" node --test --test-concurrency=1 --test-reporter=tap e2e/) > "$work/tap" 2>&1 || status=$?
cat "$work/tap"
passed=$(awk '/^# pass / { print $3 }' "$work/tap")
failed=$(awk '/^# fail / { print $3 }' "$work/tap")
echo "web-e2e: ${passed:-0} passed, ${failed:-1} failed"
[ -f web/artifacts/figures.json ] && echo "figures: $(tr -d '\n ' < web/artifacts/figures.json)"
exit "$status"
