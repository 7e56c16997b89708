#!/usr/bin/env bash
# Runs real Open311 clients (PyPI's georeport and three, and the `open311` package's request
# shapes) against a live `okno serve` on loopback with the demo data. Needs a built binary
# (OKNO_BIN, default target/debug/okno) and Python 3 with venv; installs the clients into
# target/open311-venv. Prints `open311-clients: N passed, M failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
okno=${OKNO_BIN:-target/debug/okno}
data=../shared/data/open311
if [ ! -d "$data" ]; then
  echo "SKIPPED: Open311 client tests ($data is absent)"
  exit 0
fi
venv=target/open311-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check georeport==0.3.1 three==0.8.0 jsonschema requests
fi
work=$(mktemp -d /tmp/okno-open311-XXXXXX)
db="sqlite://$work/okno.db"
"$okno" --db "$db" demo --no-serve 2>/dev/null
key=$("$okno" --db "$db" apikey add --client open311-client-tests 2>/dev/null)
. scripts/lib/live-server.sh
trap 'stop_okno; rm -rf "$work"' EXIT
serve_okno "$work/serve.log" --db "$db" serve
filed=$(curl -fs -X POST "$url/api/v1/requests" -H 'content-type: application/json' \
  -d '{"service_code": "pothole", "text": "Яма у дома 3", "lat": 60.0324, "lon": 30.5813}')
OKNO_KNOWN_TOKEN=$(printf '%s' "$filed" | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
OKNO_KNOWN_ID=$(printf '%s' "$filed" | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
OKNO_OPEN311="$url/open311/v2" OKNO_API_KEY="$key" OPEN311_DATA="$data" \
  OKNO_KNOWN_TOKEN="$OKNO_KNOWN_TOKEN" OKNO_KNOWN_ID="$OKNO_KNOWN_ID" \
  "$venv/bin/python" tests/open311/clients.py
