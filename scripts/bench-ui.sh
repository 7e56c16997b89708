#!/usr/bin/env bash
# Measures the web UI's first render of each main page (median of 7 fresh loads in headless
# Chromium) and its bundle size, against `okno demo` on a fresh embedded database (the binary in
# OKNO_BIN, default target/release/okno, built if missing). Writes bench-results/ui-first-render.json.
set -euo pipefail
cd "$(dirname "$0")/.."
okno=${OKNO_BIN:-target/release/okno}
[ -x "$okno" ] || cargo build --release --locked -p okno
(cd web && npm ci --no-audit --no-fund --loglevel=error && [ -d dist ] || npm run build)
work=$(mktemp -d /tmp/okno-bench-ui-XXXXXX)
. scripts/lib/live-server.sh
trap 'stop_okno; rm -rf "$work"' EXIT
serve_okno "$work/server.log" --db "sqlite://$work/okno.db" demo
OKNO_URL="$url" node web/bench/first-render.mjs "$@"
