#!/usr/bin/env bash
# CPU per request of client_credentials grants, for A/B runs of two builds on a noisy machine:
# requests per second swing with the VM, the server's CPU time per request much less.
# Usage: bench/cpu_per_request.sh BIN [ENV=VALUE ...]
# Starts BIN on a fresh SQLite database (ports 18180 and 18181), adds a client with the CLI,
# loads /token with wrk (1 thread, 32 connections, 2 s warm-up, then 5 s measured) and prints
# requests per second and, per request, the server's user and system CPU (µs), minor page
# faults and context switches (all threads, from /proc). Alternate the builds over several
# rounds and compare medians.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:?usage: bench/cpu_per_request.sh BIN [ENV=VALUE ...]}"
shift
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
tmp=$(mktemp -d)
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
export TESSERA_DATABASE_URL="sqlite://$tmp/tessera.db" TESSERA_KEYS_DIR="$tmp/keys" \
  TESSERA_LISTEN=127.0.0.1:18180 TESSERA_ISSUER=http://127.0.0.1:18180 TESSERA_LOG=warn \
  TESSERA_ADMIN_LISTEN=127.0.0.1:18181
for setting in "$@"; do export "${setting?}"; done
client=$("$bin" client add --name cc --grant-type client_credentials --scope api:read --scope api:write --json)
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])" <<<"$client"; }
BENCH_BASIC=$(printf '%s:%s' "$(field client_id)" "$(field client_secret)" | base64 -w0)
export BENCH_BASIC
"$bin" serve >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:18180/.well-known/openid-configuration >/dev/null && break
  sleep 0.1
done
script="$here/lua/client_credentials.lua"
wrk -t1 -c32 -d2s -s "$script" http://127.0.0.1:18180/token >/dev/null 2>&1 || true
# minflt, utime, stime of the process; context switches summed over its threads.
sample() {
  read -r -a stat <"/proc/$pid/stat"
  local switches
  switches=$(cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}')
  echo "${stat[9]} ${stat[13]} ${stat[14]} $switches"
}
read -r f0 u0 s0 c0 < <(sample)
out=$(wrk -t1 -c32 -d5s -s "$script" http://127.0.0.1:18180/token 2>&1)
read -r f1 u1 s1 c1 < <(sample)
requests=$(awk '/requests in/ {print $1}' <<<"$out")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
python3 - "$requests" "$rps" "$(getconf CLK_TCK)" "$f0" "$f1" "$u0" "$u1" "$s0" "$s1" "$c0" "$c1" <<'PY'
import sys
r, rps, tck, f0, f1, u0, u1, s0, s1, c0, c1 = (float(x) for x in sys.argv[1:])
print(f"rps={rps:.0f} user_us/req={(u1-u0)*1e6/tck/r:.1f} sys_us/req={(s1-s0)*1e6/tck/r:.1f} "
      f"minflt/req={(f1-f0)/r:.3f} ctxsw/req={(c1-c0)/r:.3f}")
PY
