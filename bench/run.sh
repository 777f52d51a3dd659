#!/usr/bin/env bash
# Tessera's load benchmark (issue 5): one command, 127.0.0.1 only, bounded in time.
# See bench/README.md. Usage: bench/run.sh [--duration S] [--postgres] [--no-peer] ...
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
peer_dir="$repo/../shared/peers/oidc-provider"

duration=8         # seconds of measurement per scenario
warmup=2           # seconds of unrecorded load before each wrk scenario on a fixed request
connections=32     # wrk connections (one thread) for the stateless scenarios
chains=8           # concurrent refresh chains, and concurrency of the flow and login drivers
run_sqlite=1
run_postgres=0
run_peer=1
wait_quiet=0
build=1
bin=""         # --bin: a Tessera binary to run instead of target/release/tessera
scenarios="discovery,jwks,client_credentials,introspection,refresh_1_chain,refresh_8_chains,sso_code_flow,login_flood"
pg_base="postgres://postgres@127.0.0.1:5432"
tessera_port=18080
peer_port=3000
password="bench-password"
redirect="http://127.0.0.1/cb"

orig_args=("$@")
usage() {
  cat <<EOF
usage: bench/run.sh [options]
  --duration S       seconds per scenario (default $duration)
  --warmup S         unrecorded warm-up before each stateless wrk scenario (default $warmup; 0 = none)
  --connections N    wrk connections for discovery, JWKS, client_credentials, introspection (default $connections)
  --postgres         also run Tessera on a fresh PostgreSQL database ($pg_base)
  --postgres-only    run Tessera on PostgreSQL only
  --peer             run the reference provider too (the default)
  --no-peer          skip the reference provider
  --scenarios LIST   comma-separated subset of: $scenarios
  --wait-quiet S     first wait up to S seconds for the load average to drop below cores/4
  --no-build         use target/release/tessera as it is (default: cargo build --release first)
  --bin PATH         run this Tessera binary instead (implies --no-build; to compare two builds)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --postgres) run_postgres=1; shift ;;
    --postgres-only) run_postgres=1; run_sqlite=0; shift ;;
    --peer) run_peer=1; shift ;;
    --no-peer) run_peer=0; shift ;;
    --scenarios) scenarios="$2"; shift 2 ;;
    --wait-quiet) wait_quiet="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --bin) bin="$2"; build=0; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$duration" =~ ^[0-9]+$ && "$duration" -ge 1 && "$duration" -le 600 ]] || { echo "--duration must be 1-600 seconds" >&2; exit 2; }
[[ "$warmup" =~ ^[0-9]+$ && "$warmup" -le 60 ]] || { echo "--warmup must be 0-60 seconds" >&2; exit 2; }
wants() { [[ ",$scenarios," == *",$1,"* ]]; }
say() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- cleanup: every server we start
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")"
pids=()
pg_db=""
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$pg_db" ]]; then
    dropdb -h 127.0.0.1 -U postgres --if-exists "$pg_db" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- tools
if ! command -v wrk >/dev/null; then
  say "installing wrk"
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null
fi
for tool in curl cargo; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool" >&2; exit 1; }
done
if [[ $run_peer -eq 1 ]]; then
  if [[ ! -d "$peer_dir" ]]; then
    echo "note: $peer_dir does not exist; skipping the reference provider" >&2
    run_peer=0
  elif ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "note: node/npm not found; skipping the reference provider" >&2
    run_peer=0
  else
    say "installing the reference provider's dependencies"
    (cd "$peer_dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi

if [[ $build -eq 1 ]]; then
  say "building (release)"
  (cd "$repo" && cargo build --release --quiet)
fi
(cd "$repo" && cargo build --release --quiet --manifest-path bench/flowbench/Cargo.toml --target-dir target/flowbench)
tessera="${bin:-$repo/target/release/tessera}"
[[ -x "$tessera" ]] || { echo "no Tessera binary at $tessera" >&2; exit 2; }
flowbench="$repo/target/flowbench/release/flowbench"

res="$tmp/results"
mkdir -p "$res"

# ---------------------------------------------------------------- helpers
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_up() { # url pid
  local i
  for i in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || return 1
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

rss_kb() { # pid field -> kB
  local key value _
  while read -r key value _; do
    [[ "$key" == "$2:" ]] && { echo "$value"; return; }
  done <"/proc/$1/status"
  echo 0
}

cpu_ticks() { # pid -> utime + stime in clock ticks
  local stat; stat=$(<"/proc/$1/stat")
  local -a f; read -r -a f <<<"${stat##*) }"
  echo $(( f[11] + f[12] ))
}

# Runs a command while tracking the server's peak RSS (the kernel's high-water mark, reset
# first with clear_refs 5, and a 100 ms poll of VmRSS where that reset is not allowed) and
# the CPU time it uses: FILE.rss (kB) and FILE.cpu (seconds).
measured() { # pid rss_file command...
  local pid="$1" out="$2" hwm_reset=0 cpu0
  shift 2
  cpu0=$(cpu_ticks "$pid")
  if echo 5 >"/proc/$pid/clear_refs" 2>/dev/null; then hwm_reset=1; fi
  ( max=0
    while kill -0 "$pid" 2>/dev/null && [[ ! -e "$out.stop" ]]; do
      v=$(rss_kb "$pid" VmRSS); (( v > max )) && max=$v
      sleep 0.1
    done
    echo "$max" >"$out.poll" ) &
  local poller=$! status=0
  "$@" || status=$?
  touch "$out.stop"
  wait "$poller" || true
  local peak; peak=$(cat "$out.poll")
  if [[ $hwm_reset -eq 1 ]]; then
    local hwm; hwm=$(rss_kb "$pid" VmHWM)
    (( hwm > peak )) && peak=$hwm
  fi
  echo "$peak" >"$out"
  echo "$(( $(cpu_ticks "$pid") - cpu0 ))" | awk '{ printf "%.2f\n", $1 / 100 }' >"${out%.rss}.cpu"
  rm -f "$out.stop" "$out.poll"
  return $status
}

# wrk with one JSON result file; extra environment for the Lua script comes first.
run_wrk() { # out threads conns url script [VAR=value...]
  local out="$1" threads="$2" conns="$3" url="$4" script="$5"
  shift 5
  env "$@" BENCH_OUT="$out" BENCH_CONNECTIONS="$conns" \
    timeout $((duration + 30)) wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -s "$here/lua/$script" "$url" \
    >"${out%.json}.wrk.txt"
}

warm() { # threads conns url script [VAR=value...]
  [[ "$warmup" -gt 0 ]] || return 0
  local threads="$1" conns="$2" url="$3" script="$4"
  shift 4
  env "$@" timeout $((warmup + 30)) wrk -t"$threads" -c"$conns" -d"${warmup}s" -s "$here/lua/$script" "$url" >/dev/null
}

show() { # result json -> one line on stderr
  local name="$1" file="$2"
  [[ -f "$file" ]] || return 0
  printf '   %-20s %s\n' "$name" "$(tr -d '\n' <"$file" | cut -c1-200)" >&2
}

# The scenarios common to Tessera and the reference provider.
# Env in: dir pid base introspect_path basic_cc basic_code flow_args(array) provider
run_scenarios() {
  local base="$1" introspect_path="$2"
  if wants discovery; then
    warm 1 "$connections" "$base/.well-known/openid-configuration" get.lua
    measured "$pid" "$dir/discovery.rss" run_wrk "$dir/discovery.json" 1 "$connections" "$base/.well-known/openid-configuration" get.lua
    show discovery "$dir/discovery.json"
  fi
  if wants jwks; then
    warm 1 "$connections" "$base/jwks" get.lua
    measured "$pid" "$dir/jwks.rss" run_wrk "$dir/jwks.json" 1 "$connections" "$base/jwks" get.lua
    show jwks "$dir/jwks.json"
  fi
  if wants client_credentials; then
    warm 1 "$connections" "$base/token" client_credentials.lua BENCH_BASIC="$basic_cc"
    measured "$pid" "$dir/client_credentials.rss" run_wrk "$dir/client_credentials.json" 1 "$connections" "$base/token" client_credentials.lua BENCH_BASIC="$basic_cc"
    show client_credentials "$dir/client_credentials.json"
  fi
  if wants introspection; then
    local access_token
    access_token=$(curl -fsS -u "$cc_id:$cc_secret" -d grant_type=client_credentials -d 'scope=api:read api:write' "$base/token" \
      | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
    [[ -n "$access_token" ]] || { echo "could not get an access token from $base/token" >&2; return 1; }
    warm 1 "$connections" "$base$introspect_path" introspect.lua BENCH_BASIC="$basic_cc" BENCH_TOKEN="$access_token"
    measured "$pid" "$dir/introspection.rss" run_wrk "$dir/introspection.json" 1 "$connections" "$base$introspect_path" introspect.lua \
      BENCH_BASIC="$basic_cc" BENCH_TOKEN="$access_token"
    show introspection "$dir/introspection.json"
  fi
  if wants refresh_1_chain || wants refresh_8_chains; then
    # Each scenario starts from fresh chains, made by real code flows just before it (one
    # login through the forms, then one code flow per chain). Fresh, because the reference
    # provider's in-memory store is an LRU of 1,000 entries: tokens seeded long before would
    # be evicted by the time they are used.
    if wants refresh_1_chain; then
      timeout 120 "$flowbench" seed "${flow_args[@]}" --count 1 >"$dir/seed-1.txt"
      measured "$pid" "$dir/refresh_1_chain.rss" run_wrk "$dir/refresh_1_chain.json" 1 1 "$base/token" refresh.lua \
        BENCH_BASIC="$basic_code" BENCH_TOKENS="$dir/seed-1.txt"
      show refresh_1_chain "$dir/refresh_1_chain.json"
    fi
    if wants refresh_8_chains; then
      timeout 120 "$flowbench" seed "${flow_args[@]}" --count "$chains" >"$dir/seed-n.txt"
      measured "$pid" "$dir/refresh_8_chains.rss" run_wrk "$dir/refresh_8_chains.json" "$chains" "$chains" "$base/token" refresh.lua \
        BENCH_BASIC="$basic_code" BENCH_TOKENS="$dir/seed-n.txt"
      show refresh_8_chains "$dir/refresh_8_chains.json"
    fi
    local race_token
    race_token=$(timeout 120 "$flowbench" seed "${flow_args[@]}" --count 1)
    timeout 60 "$flowbench" race "${flow_args[@]}" --token "$race_token" --concurrency "$chains" --out "$dir/race.json"
    show refresh_race "$dir/race.json"
  fi
  if wants sso_code_flow; then
    timeout $((duration + 120)) "$flowbench" flows "${flow_args[@]}" \
      --duration "$duration" --concurrency "$chains" --pid "$pid" --out "$dir/sso_code_flow.json"
    show sso_code_flow "$dir/sso_code_flow.json"
  fi
}

b64() { printf '%s' "$1" | base64 -w0; }
json_field() { sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p"; }

# ---------------------------------------------------------------- Tessera
run_tessera() { # sqlite|postgres
  local kind="$1" db_url
  dir="$res/tessera-$kind"
  mkdir -p "$dir" "$tmp/$kind"
  if [[ "$kind" == postgres ]]; then
    pg_db="tessera_bench_$(date +%s)_$$"
    createdb -h 127.0.0.1 -U postgres "$pg_db"
    db_url="$pg_base/$pg_db"
  else
    db_url="sqlite://$tmp/$kind/tessera.db"
  fi
  export TESSERA_DATABASE_URL="$db_url" TESSERA_KEYS_DIR="$tmp/$kind/keys" \
    TESSERA_LISTEN="127.0.0.1:$tessera_port" TESSERA_ISSUER="http://127.0.0.1:$tessera_port" TESSERA_LOG="warn"
  # Metrics stay on, as in production: the admin listener on the next port.
  local admin_port=$((tessera_port + 1))
  export TESSERA_ADMIN_LISTEN="127.0.0.1:$admin_port"
  port_free "$tessera_port" || { echo "port $tessera_port is in use" >&2; return 1; }
  port_free "$admin_port" || { echo "port $admin_port is in use" >&2; return 1; }

  say "Tessera on $kind: provisioning with the CLI"
  echo "$password" | "$tessera" user add --username bench --password-stdin >/dev/null
  local cc code
  cc=$("$tessera" client add --name cc --grant-type client_credentials --scope api:read --scope api:write --json)
  code=$("$tessera" client add --name code --grant-type authorization_code --grant-type refresh_token \
    --redirect-uri "$redirect" --json)
  cc_id=$(json_field client_id <<<"$cc"); cc_secret=$(json_field client_secret <<<"$cc")
  local code_id code_secret
  code_id=$(json_field client_id <<<"$code"); code_secret=$(json_field client_secret <<<"$code")
  basic_cc=$(b64 "$cc_id:$cc_secret"); basic_code=$(b64 "$code_id:$code_secret")
  flow_args=(--provider tessera --base "http://127.0.0.1:$tessera_port" --client-id "$code_id" --client-secret "$code_secret"
    --redirect-uri "$redirect" --scope openid --username bench --password "$password")

  say "Tessera on $kind: serving on 127.0.0.1:$tessera_port"
  "$tessera" serve >"$tmp/tessera-$kind.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  # The public JWKS answers once the keys are loaded, also in builds older than the admin
  # listener's /readyz (--bin).
  wait_up "http://127.0.0.1:$tessera_port/jwks" "$pid" || { cat "$tmp/tessera-$kind.log" >&2; return 1; }
  sleep 1
  rss_kb "$pid" VmRSS >"$dir/idle.rss"

  run_scenarios "http://127.0.0.1:$tessera_port" /introspect

  if wants login_flood; then
    local hash
    if [[ "$kind" == postgres ]]; then
      hash=$(psql -h 127.0.0.1 -U postgres -d "$pg_db" -tAc "select password_hash from users where username = 'bench'")
    else
      hash=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select password_hash from users where username = ?", ("bench",)).fetchone()[0])' \
        "$tmp/$kind/tessera.db" 2>/dev/null || sqlite3 "$tmp/$kind/tessera.db" "select password_hash from users where username = 'bench'")
    fi
    "$flowbench" argon2 --hash "$hash" --out "$dir/argon2.json"
    show argon2 "$dir/argon2.json"
    # Logins flood the password hashing from $chains browsers; meanwhile a paced JWKS probe
    # (4 connections, one request every 10 ms each) measures what everyone else waits. The
    # browsers log in once before the timed part, so the probe starts a little later and
    # runs a little shorter than the flood.
    timeout $((duration + 120)) "$flowbench" logins "${flow_args[@]}" \
      --duration "$duration" --concurrency "$chains" --pid "$pid" --out "$dir/login_flood.json" &
    local flood=$!
    sleep 2
    env BENCH_DELAY_MS=10 BENCH_OUT="$dir/login_flood_jwks.json" BENCH_CONNECTIONS=4 \
      timeout $((duration + 30)) wrk -t1 -c4 -d"$(( duration > 3 ? duration - 2 : 1 ))s" --latency \
      -s "$here/lua/get_paced.lua" "http://127.0.0.1:$tessera_port/jwks" >"$dir/login_flood_jwks.wrk.txt"
    wait "$flood"
    show login_flood "$dir/login_flood.json"
    show login_flood_jwks "$dir/login_flood_jwks.json"
  fi

  kill "$pid"; wait "$pid" 2>/dev/null || true
  if [[ "$kind" == postgres ]]; then
    dropdb -h 127.0.0.1 -U postgres --if-exists "$pg_db"; pg_db=""
  fi
}

# ---------------------------------------------------------------- the reference provider
run_reference() {
  dir="$res/reference"
  mkdir -p "$dir"
  port_free "$peer_port" || { echo "port $peer_port is in use" >&2; return 1; }
  say "reference provider (node-oidc-provider) on 127.0.0.1:$peer_port"
  (cd "$peer_dir" && PORT="$peer_port" exec node server.mjs) >"$tmp/reference.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_up "http://127.0.0.1:$peer_port/.well-known/openid-configuration" "$pid" || { cat "$tmp/reference.log" >&2; return 1; }
  sleep 1
  rss_kb "$pid" VmRSS >"$dir/idle.rss"
  cc_id=bench-cc; cc_secret=bench-secret
  basic_cc=$(b64 bench-cc:bench-secret); basic_code=$(b64 bench-code:bench-secret)
  flow_args=(--provider reference --base "http://127.0.0.1:$peer_port" --client-id bench-code --client-secret bench-secret
    --redirect-uri "$redirect" --scope openid --username bench --password "$password")
  run_scenarios "http://127.0.0.1:$peer_port" /token/introspection
  echo "login flood not run (its development login page does not hash passwords)" >"$dir/notes"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- run
# Other work on the machine takes CPU from the server and from wrk; say so, or wait for quiet.
busy() { awk -v n="$(nproc)" '{ exit !($1 > n / 4) }' /proc/loadavg; }
if [[ "$wait_quiet" -gt 0 ]] && busy; then
  say "waiting up to ${wait_quiet}s for the machine to go quiet (load $(cut -d' ' -f1 /proc/loadavg))"
  end=$((SECONDS + wait_quiet))
  while busy && [[ $SECONDS -lt $end ]]; do sleep 5; done
fi
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
if busy; then
  echo "warning: the machine is busy (load average $loadavg on $(nproc) cores): figures will be low" >&2
fi
cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z "$(git -C "$repo" status --porcelain -- src entity migration Cargo.toml 2>/dev/null)" ]] || commit="$commit+dirty"
cat >"$res/meta.json" <<EOF
{"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "commit": "$commit", "nproc": $(nproc), "cpu": "$cpu_model",
 "kernel": "$(uname -r)", "wrk": "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)", "node": "$(node --version 2>/dev/null || echo none)",
 "loadavg_at_start": "$loadavg", "duration_s": $duration, "warmup_s": $warmup, "connections": $connections, "chains": $chains,
 "command": "bench/run.sh${orig_args[*]:+ ${orig_args[*]}}"}
EOF

if [[ $run_sqlite -eq 1 ]]; then run_tessera sqlite; fi
if [[ $run_postgres -eq 1 ]]; then run_tessera postgres; fi
if [[ $run_peer -eq 1 ]]; then run_reference; fi

mkdir -p "$here/results"
rm -rf "$here/results/latest"
cp -r "$res" "$here/results/latest"
"$flowbench" report --results "$res" --out "$here/results/latest.json"
