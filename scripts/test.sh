#!/usr/bin/env bash
# Runs Okno's whole test suite: unit, property and conformance tests on SQLite and on a
# throwaway PostgreSQL 15 cluster, and the system tests against the real binary (including the
# real data sets in ../shared/data when present). Installs PostgreSQL from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} from Debian…"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

pg_dir=$(mktemp -d /tmp/okno-pg-XXXXXX)
pg_port=$(( 20000 + RANDOM % 20000 ))
trap 'scripts/pg-cluster.sh stop "$pg_dir"' EXIT
OKNO_TEST_POSTGRES_URL=$(scripts/pg-cluster.sh start "$pg_dir" "$pg_port")
export OKNO_TEST_POSTGRES_URL
echo "PostgreSQL 15 test cluster at $OKNO_TEST_POSTGRES_URL"

cargo test --workspace --locked
