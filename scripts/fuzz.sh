#!/usr/bin/env bash
# Coverage-guided fuzzing of every okno_fuzz target with libFuzzer (cargo-fuzz on the nightly
# toolchain), starting from the committed corpus in fuzz/corpus/NAME.
#
#   scripts/fuzz.sh SECONDS [TARGET…]   each target for SECONDS (all targets by default)
#
# Writes bench-results/fuzz-SECONDSs.json: per target the executions, executions per second,
# coverage (libFuzzer's edges and features) and the corpus it grew. A finding stops with a
# non-zero exit, its input saved in fuzz/artifacts/NAME/; add that input to fuzz/corpus/NAME
# once it is fixed, so the test suite's corpus replay keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET…]}
shift
targets=("$@")
if [ ${#targets[@]} = 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^okno-fuzz-targets$')
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
(cd fuzz && cargo +nightly fuzz build -s none)

results=()
status=0
for target in "${targets[@]}"; do
  run=fuzz/corpus-run/$target
  mkdir -p "$run"
  log=$(mktemp /tmp/okno-fuzz-XXXXXX.log)
  echo "== fuzzing $target for ${seconds}s"
  if (cd fuzz && cargo +nightly fuzz run -s none "$target" "corpus-run/$target" "corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 -timeout=20) >"$log" 2>&1; then
    outcome=ok
  else
    outcome=finding
    status=1
    tail -40 "$log"
  fi
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  done_line=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corpus=$(ls "$run" | wc -l)
  echo "   $outcome: $(stat number_of_executed_units) executions ($(stat average_exec_per_sec)/s), cov $cov, ft $ft, corpus $corpus"
  results+=("\"$target\": {\"outcome\": \"$outcome\", \"seconds\": $seconds, \"executions\": $(stat number_of_executed_units), \"executions_per_s\": $(stat average_exec_per_sec), \"coverage_edges\": ${cov:-0}, \"features\": ${ft:-0}, \"corpus\": $corpus, \"peak_rss_mb\": $(stat peak_rss_mb)}")
  rm -f "$log"
done

mkdir -p bench-results
out=bench-results/fuzz-${seconds}s.json
{
  echo "{"
  echo "  \"command\": \"scripts/fuzz.sh $seconds\", \"date\": \"$(date -u +%FT%TZ)\", \"rustc\": \"$(rustup run nightly rustc --version)\","
  echo "  \"targets\": {"
  for i in "${!results[@]}"; do
    sep=,; [ "$i" = $((${#results[@]} - 1)) ] && sep=
    echo "    ${results[$i]}$sep"
  done
  echo "  }"
  echo "}"
} >"$out"
findings=$(grep -c '"outcome": "finding"' "$out" || true)
echo "fuzz: $(( ${#targets[@]} - findings )) passed, $findings failed (libFuzzer, ${seconds}s per target; $out)"
exit $status
