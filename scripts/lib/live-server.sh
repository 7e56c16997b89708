# A throwaway `okno` server for the scripts that test against a live one. Source this file with
# `okno` set to the binary, then `serve_okno LOG ARGS…` starts `$okno ARGS…` in the background on
# a free loopback port (through OKNO_LISTEN, which `serve` and `demo` both read), sets `server`
# (its pid) and `url`, and returns once /healthz answers; it fails, printing LOG, if the server
# exits first or does not answer within 120 s. `stop_okno` stops it.

serve_okno() {
  local log=$1
  shift
  local port=$(( 20000 + RANDOM % 30000 ))
  url="http://127.0.0.1:$port"
  OKNO_LISTEN="127.0.0.1:$port" "$okno" "$@" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1200); do
    curl -fs "$url/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || { echo "okno exited:"; cat "$log"; return 1; }
    sleep 0.1
  done
  echo "okno did not answer on $url within 120 s:"
  cat "$log"
  return 1
}

stop_okno() {
  if [ -n "${server:-}" ]; then
    kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  fi
  return 0
}
