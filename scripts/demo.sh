#!/usr/bin/env bash
# Builds Okno and starts it with the demo region on the embedded database (./data/okno.db),
# serving on http://127.0.0.1:8080/ (override with OKNO_LISTEN). Needs only the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p okno
exec ./target/release/okno demo "$@"
