#!/usr/bin/env bash
# Runs schemathesis over the whole OpenAPI document of a live `okno serve` (demo data on a
# fresh SQLite database, signed in as the demo admin with a bearer token): the schema's
# examples, its coverage cases (edges, and values just outside them) and Hypothesis fuzzing,
# with every check. The examples per operation and the seed are fixed, so a run is repeatable:
# SCHEMATHESIS_EXAMPLES (default 20) and SCHEMATHESIS_SEED (default 42). Rules the document
# cannot state (windows, records that must exist, what an action needs) are in
# tests/schemathesis/hooks.py. Needs a built binary (OKNO_BIN, default target/debug/okno) and
# Python 3 with venv; installs schemathesis into target/schemathesis-venv. Writes its JSON report
# to bench-results/schemathesis.json and prints `schemathesis: N passed, M failed` (operations).
set -euo pipefail
cd "$(dirname "$0")/.."
okno=${OKNO_BIN:-target/debug/okno}
examples=${SCHEMATHESIS_EXAMPLES:-20}
seed=${SCHEMATHESIS_SEED:-42}
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5
fi
work=$(mktemp -d /tmp/okno-schemathesis-XXXXXX)
db="sqlite://$work/okno.db"
"$okno" --db "$db" demo --no-serve >/dev/null 2>&1
. scripts/lib/live-server.sh
trap 'stop_okno; rm -rf "$work"' EXIT
serve_okno "$work/serve.log" --db "$db" serve --submit-per-minute 0 --login-per-minute 0 \
  --classify-per-minute 0 --api-key-per-minute 0
curl -fs -c "$work/cookies" -H 'content-type: application/json' \
  -d '{"login": "admin", "password": "demo-admin-password"}' "$url/api/v1/auth/login" >"$work/me.json"
csrf=$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf_token"])' "$work/me.json")
token=$(curl -fs -b "$work/cookies" -H "x-csrf-token: $csrf" -H 'content-type: application/json' \
  -d '{"name": "schemathesis"}' "$url/api/v1/auth/tokens" | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
token_id=$(curl -fs -H "Authorization: Bearer $token" "$url/api/v1/auth/tokens" | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

mkdir -p bench-results
report=bench-results/schemathesis.json
status=0
OKNO_ST_URL="$url" OKNO_ST_TOKEN="$token" OKNO_ST_TOKEN_ID="$token_id" \
  PYTHONPATH=tests/schemathesis SCHEMATHESIS_HOOKS=hooks \
  "$venv/bin/schemathesis" run "$url/api/v1/openapi.json" --url "$url" \
  -H "Authorization: Bearer $token" --phases examples,coverage,fuzzing \
  --max-examples "$examples" --seed "$seed" --workers 1 --no-color --generation-database none \
  --report json --report-json-path "$report" >"$work/run.log" 2>&1 || status=$?
cp "$work/run.log" bench-results/schemathesis.log
sed -n '/= FAILURES =/,/= WARNINGS =/p' "$work/run.log"
"$venv/bin/python" - "$report" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
failing = {op for failure in report["failures"] for op in failure["operations"]}
tested, cases = report["operations"]["tested"], report["test_cases"]["generated"]
print(f"schemathesis: {report['operations']['total']} operations, {tested} tested, {cases} cases, "
      f"{report['test_cases']['with_failures']} failing cases, seed {report['seed']}")
print(f"schemathesis: {tested - len(failing)} passed, {len(failing) + len(report['errors'])} failed (operations)")
EOF
exit "$status"
