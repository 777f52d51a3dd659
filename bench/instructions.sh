#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: a figure that does not move with
# this VM's speed (wall-clock and /proc CPU figures here differ by up to 2x between runs), for
# comparing two builds of one path. Not a throughput figure: memcpy by `rep movsb` counts one
# instruction per byte, and time spent waiting (locks, the kernel) is not counted.
#
# usage: bench/instructions.sh [--bin PATH] [--requests N] [--scenario cc|refresh|sso] [--out FILE]
#   Starts PATH (default target/release/tessera) under callgrind on a fresh SQLite database,
#   sends 200 warm-up requests, zeroes the counters, sends N (default 2000) on one keep-alive
#   connection, dumps, and prints the instructions per request. sso: one request is one whole
#   code flow (authorize with the session's cookies, then POST /token with PKCE), after one
#   login through the forms. Background tasks that poll
#   every 100 ms (cache watchers) are counted too, and weigh ~50x more than in a real run
#   because valgrind is slow: compare builds with the same watchers, or subtract them
#   (callgrind_annotate --inclusive=yes FILE.1 | grep versions::watch).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
bin="$repo/target/release/tessera" n=2000 kind=cc out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --requests) n="$2"; shift 2 ;;
    --scenario) kind="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ "$kind" == cc || "$kind" == refresh || "$kind" == sso ]] || { echo "--scenario must be cc, refresh or sso" >&2; exit 2; }
[[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 ]] || { echo "--requests must be a positive number" >&2; exit 2; }
if ! command -v valgrind >/dev/null; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq valgrind >/dev/null
fi
[[ -x "$bin" ]] || { echo "no binary at $bin (cargo build --release first, or --bin)" >&2; exit 2; }
tmp=$(mktemp -d)
mkdir -p "$repo/target/callgrind"
out="${out:-$repo/target/callgrind/$kind-$(date +%s).out}"
port=18180
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
export TESSERA_DATABASE_URL="sqlite://$tmp/tessera.db" TESSERA_KEYS_DIR="$tmp/keys" \
  TESSERA_LISTEN="127.0.0.1:$port" TESSERA_ISSUER="http://127.0.0.1:$port" TESSERA_LOG=warn \
  TESSERA_ADMIN_LISTEN="127.0.0.1:$((port + 1))"
field() { sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p"; }
wait_up() { for _ in $(seq 600); do curl -fs "http://127.0.0.1:$port/jwks" >/dev/null && return 0; sleep 0.5; done; return 1; }

echo bench-password | "$bin" user add --username bench --password-stdin >/dev/null
if [[ "$kind" == cc ]]; then
  client=$("$bin" client add --name cc --grant-type client_credentials --scope api:read --json)
else
  client=$("$bin" client add --name code --grant-type authorization_code --grant-type refresh_token \
    --redirect-uri http://127.0.0.1/cb --json)
fi
id=$(field client_id <<<"$client"); secret=$(field client_secret <<<"$client")
basic=$(printf '%s' "$id:$secret" | base64 -w0)
token=""
if [[ "$kind" == refresh ]]; then
  # One refresh chain, made by a real code flow on a native run of the same database.
  (cd "$repo" && cargo build --release --quiet --manifest-path bench/flowbench/Cargo.toml --target-dir target/flowbench)
  "$bin" serve >"$tmp/native.log" 2>&1 & pid=$!
  wait_up || { cat "$tmp/native.log" >&2; exit 1; }
  timeout 120 "$repo/target/flowbench/release/flowbench" seed --provider tessera --base "http://127.0.0.1:$port" \
    --client-id "$id" --client-secret "$secret" --redirect-uri http://127.0.0.1/cb --scope openid \
    --username bench --password bench-password --count 1 >"$tmp/token"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  token="@$tmp/token"
fi
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" serve >"$tmp/valgrind.log" 2>&1 & pid=$!
wait_up || { cat "$tmp/valgrind.log" >&2; exit 1; }
python3 "$here/callgrind/drive.py" "$kind" "$port" "$basic" 200 "${token:--}" "$tmp/next"
[[ "$kind" != cc ]] && token="@$tmp/next"
sleep 1
callgrind_control --zero "$pid" >/dev/null 2>&1
python3 "$here/callgrind/drive.py" "$kind" "$port" "$basic" "$n" "${token:--}" "$tmp/last"
sleep 0.5 # the audit writer's batch (200 ms) falls inside the window
callgrind_control --dump=measured "$pid" >/dev/null 2>&1
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
total=$(callgrind_annotate "$out.1" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "$kind: $((total / n)) instructions per request ($n requests; profile $out.1)"
