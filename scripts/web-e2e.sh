#!/usr/bin/env bash
# Runs the web UI's browser tests: starts `okno demo` (the binary in OKNO_BIN, default
# target/debug/okno) on a fresh embedded database and a free port, drives Debian's Chromium
# with playwright-core through web/e2e/, and prints `web-e2e: N passed, M failed`.
# Screenshots and the measured first-render time land in web/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OKNO_BIN:-target/debug/okno}

work=$(mktemp -d /tmp/okno-web-e2e-XXXXXX)
port=$(( 20000 + RANDOM % 20000 ))
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

rm -rf web/artifacts
mkdir -p web/artifacts
OKNO_LISTEN=127.0.0.1:$port "$bin" --db "sqlite://$work/okno.db" demo > web/artifacts/server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "okno demo exited:"; cat web/artifacts/server.log; echo "web-e2e: 0 passed, 1 failed"; exit 1; }
  sleep 0.5
done

status=0
(cd web && OKNO_URL="http://127.0.0.1:$port" node --test --test-concurrency=1 --test-reporter=tap e2e/) > "$work/tap" 2>&1 || status=$?
cat "$work/tap"
passed=$(awk '/^# pass / { print $3 }' "$work/tap")
failed=$(awk '/^# fail / { print $3 }' "$work/tap")
echo "web-e2e: ${passed:-0} passed, ${failed:-1} failed"
[ -f web/artifacts/figures.json ] && echo "figures: $(tr -d '\n ' < web/artifacts/figures.json)"
exit "$status"
