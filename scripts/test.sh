#!/usr/bin/env bash
# Runs Okno's whole test suite: unit, property and conformance tests on SQLite and on a
# throwaway PostgreSQL 15 cluster, the system tests against the real binary (including the
# real data sets in ../shared/data when present), every fuzz target under libFuzzer for a few
# seconds, real Open311 clients, schemathesis over the whole OpenAPI document, and the web UI's
# tests in headless Chromium. Installs PostgreSQL and Chromium from Debian if missing, cargo-fuzz from crates.io, schemathesis and
# the Open311 clients from PyPI, and the web UI's packages from npm (web/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} from Debian…"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

pg_dir=$(mktemp -d /tmp/okno-pg-XXXXXX)
pg_port=$(( 20000 + RANDOM % 20000 ))
# The tests' throwaway databases (a folder per test store) go in one folder removed at exit.
test_tmp=$(mktemp -d /tmp/okno-tests-XXXXXX)
export TMPDIR=$test_tmp
trap 'scripts/pg-cluster.sh stop "$pg_dir"; rm -rf "$test_tmp"' EXIT
OKNO_TEST_POSTGRES_URL=$(scripts/pg-cluster.sh start "$pg_dir" "$pg_port")
export OKNO_TEST_POSTGRES_URL
echo "PostgreSQL 15 test cluster at $OKNO_TEST_POSTGRES_URL"

echo "== building the web UI (npm ci, vite build) to embed it in okno"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build)

log=$(mktemp /tmp/okno-test-XXXXXX.log)
status=0
cargo test --workspace --all-targets --locked 2>&1 | tee "$log" || status=$?
echo
echo "== every fuzz target for 5 s under libFuzzer (cargo-fuzz, nightly toolchain)"
if rustup run nightly rustc --version >/dev/null 2>&1; then
  scripts/fuzz.sh 5 2>&1 | tee -a "$log" || status=$?
else
  echo "SKIPPED: no nightly Rust toolchain for libFuzzer; the fuzz targets ran over their corpus and its mutations in cargo test" | tee -a "$log"
fi
echo
echo "== Open311 clients against a live server"
OKNO_BIN=target/debug/okno scripts/open311-clients.sh 2>&1 | tee -a "$log" || status=$?
echo
echo "== schemathesis over the whole OpenAPI document (20 examples per operation, seed 42)"
OKNO_BIN=target/debug/okno scripts/schemathesis.sh 2>&1 | tee -a "$log" || status=$?
echo
echo "== the web UI in headless Chromium (screenshots in web/artifacts/)"
OKNO_BIN=target/debug/okno scripts/web-e2e.sh 2>&1 | tee -a "$log" || status=$?

tally() { awk -v word="$1" '/^(test result|open311-clients|schemathesis|web-e2e|fuzz):/ { for (i = 1; i < NF; i++) if ($(i+1) ~ "^" word) n += $i } END { print n + 0 }' "$log"; }
passed=$(tally passed)
failed=$(tally failed)
skipped=$(grep -c '^SKIPPED' "$log" || true)
rm -f "$log"
echo
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
[ "$skipped" = 0 ] || echo "($skipped SKIPPED notices above: data or servers that were absent)"
exit "$status"
