#!/usr/bin/env bash
# Builds Okno with its web UI and starts it with the demo region on the embedded database
# (./data/okno.db), serving on http://127.0.0.1:8080/ (override with OKNO_LISTEN). Needs the
# Rust toolchain and Node.js with npm (for the web UI; without them the API still works).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v npm > /dev/null; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build)
else
  echo "npm not found: building okno without its web UI (the API and Open311 still work)" >&2
fi
cargo build --release --locked -p okno
exec ./target/release/okno demo "$@"
