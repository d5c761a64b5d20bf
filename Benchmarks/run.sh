#!/usr/bin/env bash
# Porthole vs nginx, HAProxy and Caddy: the same TLS-terminating preview-proxy job, measured in one
# run on this machine, with a direct (no proxy) ceiling row. See Benchmarks/README.md.
#
#   Benchmarks/run.sh            # full run: 3 rounds, 4 s per measurement, writes Benchmarks/RESULTS.md
#   Benchmarks/run.sh --quick    # 1 round, 3 s per measurement, writes the work dir's RESULTS.md only
#
# The script takes /tmp/porthole-build.lock itself (builds and measurements never overlap), so do
# not wrap it in `flock` yourself.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
LOCK_FILE="${PORTHOLE_BUILD_LOCK:-/tmp/porthole-build.lock}"

usage() {
    cat <<EOF
usage: Benchmarks/run.sh [options]

  --quick            1 round of 3 s runs (a smoke test; RESULTS.md is written to the work dir
                     unless --out is given)
  --rounds N         rounds of A B C D … alternation (default 3)
  --duration S       seconds per measurement (default 4)
  --targets LIST     comma-separated subset of: direct,porthole,nginx,haproxy,caddy
                     (default: all)
  --scenarios LIST   comma-separated subset of: idle_memory,small_c64,small_c512,large_1m,
                     upload_1m,new_conns,websocket,policy,gzip_js,h2_small (default: all)
  --no-build         use the existing .build/release/porthole (or \$PORTHOLE_BIN) without building
  --out FILE         where to write the results (default: Benchmarks/RESULTS.md for full runs)
  --keep             keep the work directory (configs, logs, raw results) after the run
  -h, --help         this text

Environment (defaults): PROXY_CPUS=1 LOAD_CPUS=0 PROXY_PORT=28443 UPSTREAM_PORT=3000
ECHO_PORT=3001 IDLE_CONNS=10000 POLICY_SANDBOXES=10000 MAX_PROXY_RSS_MB=4096
PORTHOLE_BIN=<built binary>
EOF
}

ROUNDS=3
DURATION=4
QUICK=0
BUILD=1
KEEP=0
OUT=""
TARGETS="direct,porthole,nginx,haproxy,caddy"
SCENARIOS="idle_memory,small_c64,small_c512,large_1m,upload_1m,new_conns,websocket,policy,gzip_js,h2_small"
ORIGINAL_ARGS=("$@")
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1; ROUNDS=1; DURATION=3 ;;
        --rounds) ROUNDS="${2:?--rounds needs a number}"; shift ;;
        --duration) DURATION="${2:?--duration needs seconds}"; shift ;;
        --targets) TARGETS="${2:?--targets needs a list}"; shift ;;
        --scenarios) SCENARIOS="${2:?--scenarios needs a list}"; shift ;;
        --no-build) BUILD=0 ;;
        --out) OUT="${2:?--out needs a file}"; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds must be a positive integer" >&2; exit 2; }
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --duration must be whole seconds" >&2; exit 2; }

# Hold the shared lock for the whole run (build included): re-exec under flock once.
if [[ "${PORTHOLE_BENCH_LOCKED:-}" != "1" ]]; then
    command -v flock >/dev/null || { echo "run.sh: flock (util-linux) is required" >&2; exit 1; }
    if ! flock -n "$LOCK_FILE" true; then
        echo "run.sh: waiting for $LOCK_FILE (a build or another benchmark holds it)…" >&2
    fi
    exec env PORTHOLE_BENCH_LOCKED=1 flock "$LOCK_FILE" "$0" "${ORIGINAL_ARGS[@]}"
fi

PROXY_CPUS="${PROXY_CPUS:-1}"
LOAD_CPUS="${LOAD_CPUS:-0}"
PROXY_PORT="${PROXY_PORT:-28443}"
UPSTREAM_PORT="${UPSTREAM_PORT:-3000}"
ECHO_PORT="${ECHO_PORT:-3001}"
IDLE_CONNS="${IDLE_CONNS:-10000}"
MAX_PROXY_RSS_MB="${MAX_PROXY_RSS_MB:-4096}"
POLICY_SANDBOXES="${POLICY_SANDBOXES:-10000}"
SANDBOX=bench
BASE_DOMAIN=preview.localhost
APP_HOST="$UPSTREAM_PORT-$SANDBOX.$BASE_DOMAIN"
WS_HOST="$ECHO_PORT-$SANDBOX.$BASE_DOMAIN"
WARMUP=1
if [[ $QUICK -eq 0 && -z "$OUT" ]]; then OUT="$BENCH_DIR/RESULTS.md"; fi

START_TIME=$(date +%s)
log() { printf '[%s +%3ss] %s\n' "$(date +%H:%M:%S)" "$(( $(date +%s) - START_TIME ))" "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

# MARK: - Process bookkeeping: every process this script starts, stopped by pid on any exit.

STARTED_PIDS=()
WORK=""
FAILED=1

descendants() {
    local pid=$1 child
    for child in $(pgrep -P "$pid" 2>/dev/null || true); do
        echo "$child"
        descendants "$child"
    done
}

stop_pid() {  # sets STOP_RC: the exit status (or 128 + signal), "gone" if it had already exited
    local pid=$1 kids i
    STOP_RC=gone
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kids=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop on SIGTERM; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    STOP_RC=0
    wait "$pid" 2>/dev/null || STOP_RC=$?
    for kid in $kids; do kill -KILL "$kid" 2>/dev/null || true; done
    local remaining=()
    for p in "${STARTED_PIDS[@]}"; do [[ "$p" != "$pid" ]] && remaining+=("$p"); done
    STARTED_PIDS=("${remaining[@]+"${remaining[@]}"}")
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}"; do stop_pid "$pid"; done
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ $KEEP -eq 1 || $FAILED -eq 1 ]]; then
            log "work directory kept: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Starts "$@" in the background with output in $WORK/logs/NAME.log; sets LAST_PID.
start_bg() {
    local name=$1; shift
    "$@" >"$WORK/logs/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# MARK: - Preflight: tools, packages, ports, limits.

APT_UPDATED=0
apt_install() {
    [[ $(id -u) -eq 0 ]] || die "missing package(s) $*; install them (apt-get install -y $*) or run as root"
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        apt-get update -qq >/dev/null 2>&1 || log "apt-get update failed; trying the install anyway"
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

target_wanted() { [[ ",$TARGETS," == *",$1,"* ]]; }
scenario_wanted() { [[ ",$SCENARIOS," == *",$1,"* ]]; }

for t in ${TARGETS//,/ }; do
    case "$t" in direct|porthole|nginx|haproxy|caddy) ;; *) die "unknown target '$t' in --targets" ;; esac
done
for s in ${SCENARIOS//,/ }; do
    case "$s" in idle_memory|small_c64|small_c512|large_1m|upload_1m|new_conns|websocket|policy|gzip_js|h2_small) ;;
        *) die "unknown scenario '$s' in --scenarios" ;; esac
done

need_pkgs=()
command -v curl >/dev/null || need_pkgs+=(curl)
command -v wrk >/dev/null || need_pkgs+=(wrk)
if scenario_wanted h2_small; then command -v h2load >/dev/null || need_pkgs+=(nghttp2-client); fi
command -v nginx >/dev/null || need_pkgs+=(nginx-light)
command -v taskset >/dev/null || need_pkgs+=(util-linux)
command -v python3 >/dev/null || need_pkgs+=(python3)
if target_wanted haproxy; then command -v haproxy >/dev/null || need_pkgs+=(haproxy); fi
if [[ ${#need_pkgs[@]} -gt 0 ]]; then apt_install "${need_pkgs[@]}" || die "could not install ${need_pkgs[*]}"; fi
# nginx-light can be installed while a stock nginx service is not running; we never use the service.

CADDY_STATUS="ok"
if target_wanted caddy && ! command -v caddy >/dev/null; then
    if apt_install caddy && command -v caddy >/dev/null; then
        CADDY_STATUS="ok"
    else
        CADDY_STATUS="not installable here (apt-get install caddy failed)"
        log "Caddy: $CADDY_STATUS; its column will say so"
    fi
fi

python3 -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null \
    || die "python3 3.10 or newer is required (found $(python3 --version 2>&1))"
if ! python3 -c 'import uvloop' 2>/dev/null; then
    log "pip install uvloop (faster event loop for the WebSocket and idle-connection clients)"
    python3 -m pip install -q uvloop >/dev/null 2>&1 || log "uvloop not installable; using asyncio's default loop"
fi
UVLOOP_VERSION=$(python3 -c 'import uvloop; print(uvloop.__version__)' 2>/dev/null || echo "none")

for port in "$PROXY_PORT" "$UPSTREAM_PORT" "$ECHO_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port on 127.0.0.1 is already in use (another server?); free it or set PROXY_PORT/UPSTREAM_PORT/ECHO_PORT"
    fi
done

HARD_NOFILE=$(ulimit -Hn)
[[ "$HARD_NOFILE" == "unlimited" ]] && HARD_NOFILE=1048576
NOFILE=$HARD_NOFILE
(( NOFILE > 1048576 )) && NOFILE=1048576
ulimit -n "$NOFILE" || die "cannot raise ulimit -n to $NOFILE"
(( NOFILE >= IDLE_CONNS + 1024 )) \
    || die "ulimit -n is capped at $NOFILE here, below IDLE_CONNS=$IDLE_CONNS + 1024; lower IDLE_CONNS"
MAXCONN=$(( IDLE_CONNS + 2000 ))
(( MAXCONN > NOFILE - 100 )) && MAXCONN=$(( NOFILE - 100 ))

nproc_all=$(nproc --all)
for c in ${PROXY_CPUS//,/ } ${LOAD_CPUS//,/ }; do
    [[ "${c%%-*}" -lt "$nproc_all" ]] || die "CPU $c does not exist (nproc --all = $nproc_all); set PROXY_CPUS/LOAD_CPUS"
done

# MARK: - Porthole build (under the lock) and a private copy of the binary.

WORK=$(mktemp -d /tmp/porthole-bench.XXXXXX)
chmod 755 "$WORK"   # nginx workers run as nobody and read $WORK/www
mkdir -p "$WORK/logs" "$WORK/www" "$WORK/certs" "$WORK/data" "$WORK/conf" "$WORK/caddy-home"
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
log "work directory $WORK"
# Foreign CPU load (other people's builds and tests) is sampled for the whole run and reported per slot.
start_bg cpuwatch python3 "$BENCH_DIR/tools/cpuwatch.py" --root $$ --out "$WORK/cpu-timeline.jsonl"
CPUWATCH_PID=$LAST_PID

# The binary also makes the shared certificate and registers the sandbox, so it is always needed.
if true; then
    if [[ -n "${PORTHOLE_BIN:-}" ]]; then
        [[ -x "$PORTHOLE_BIN" ]] || die "PORTHOLE_BIN=$PORTHOLE_BIN is not executable"
        SRC_BIN="$PORTHOLE_BIN"
    else
        if [[ $BUILD -eq 1 ]]; then
            command -v swift >/dev/null || die "swift not found; build elsewhere and pass --no-build with PORTHOLE_BIN"
            # As deploy/docker/Dockerfile builds it: the Swift runtime linked in, as shipped.
            log "swift build -c release --static-swift-stdlib --product porthole (log: $WORK/logs/build.log)"
            build_start=$(date +%s)
            if ! (cd "$REPO_DIR" && swift build -c release --static-swift-stdlib --product porthole) >"$WORK/logs/build.log" 2>&1; then
                tail -30 "$WORK/logs/build.log" >&2
                die "the release build of Porthole failed (full log: $WORK/logs/build.log)"
            fi
            BUILD_SECONDS=$(( $(date +%s) - build_start ))
            log "build done in ${BUILD_SECONDS}s"
        fi
        SRC_BIN="$REPO_DIR/.build/release/porthole"
        [[ -x "$SRC_BIN" ]] || die "$SRC_BIN not found; run without --no-build"
    fi
    # Others rebuild .build/release concurrently: measure a private copy.
    cp "$SRC_BIN" "$WORK/porthole"
    PORTHOLE="$WORK/porthole"
fi
BUILD_SECONDS="${BUILD_SECONDS:-0}"
# The peers log nothing per request; turn Porthole's access log off where the build has one.
PORTHOLE_EXTRA_FLAGS=()
if "$PORTHOLE" serve --help 2>/dev/null | grep -q -- '--access-log'; then PORTHOLE_EXTRA_FLAGS+=(--access-log off); fi

# MARK: - Shared fixtures: certificate, sandboxes, files.

"$PORTHOLE" certs dev --cert-dir "$WORK/certs" >"$WORK/logs/certs.log" 2>&1 \
    || { cat "$WORK/logs/certs.log" >&2; die "porthole certs dev failed"; }
CERT="$WORK/certs/dev-cert.pem"
KEY="$WORK/certs/dev-key.pem"
openssl x509 -in "$CERT" -noout -text 2>/dev/null | grep -q 'prime256v1\|P-256' \
    || log "warning: $CERT does not look like an ECDSA P-256 certificate"
cat "$CERT" "$KEY" >"$WORK/conf/haproxy-cert.pem"

"$PORTHOLE" sandbox create --data-dir "$WORK/data" --id "$SANDBOX" --target 127.0.0.1 --public \
    >"$WORK/logs/sandbox.log" 2>&1 || { cat "$WORK/logs/sandbox.log" >&2; die "porthole sandbox create failed"; }
if target_wanted porthole && scenario_wanted policy; then
    DB="$WORK/data/porthole.sqlite"
    [[ -f "$DB" ]] || DB=$(find "$WORK/data" -name '*.sqlite' -o -name '*.db' | head -1)
    [[ -n "$DB" && -f "$DB" ]] || die "no SQLite file in $WORK/data after sandbox create"
    python3 "$BENCH_DIR/tools/seed_sandboxes.py" --db "$DB" --template "$SANDBOX" --count "$POLICY_SANDBOXES" \
        --prefix sb --hosts-out "$WORK/policy-hosts.txt" --port "$UPSTREAM_PORT" --base-domain "$BASE_DOMAIN" \
        >"$WORK/logs/seed.log" 2>&1 || { cat "$WORK/logs/seed.log" >&2; die "seeding $POLICY_SANDBOXES sandboxes failed"; }
    log "$(cat "$WORK/logs/seed.log")"
fi

printf 'Hello, world!' >"$WORK/www/index.html"
python3 - "$WORK/www" <<'EOF'
import os, sys
for name, size in (("64k", 65536), ("1m", 1 << 20)):
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(os.urandom(size))
# A 16 KiB ES module as an unbundled dev server sends it: code-like text whose identifiers vary
# (seeded, so every run compresses the same bytes), about 4-5x compressible like real code.
import random
rng = random.Random(14)
words = ["state", "props", "render", "update", "value", "index", "count", "items", "handler", "options",
         "element", "context", "result", "config", "data", "event", "node", "child", "parent", "key"]
lines = ["import { h, Fragment } from '/node_modules/.vite/deps/preact.js';"]
while sum(len(l) + 1 for l in lines) < 16384:
    a, b, c = rng.choice(words), rng.choice(words), rng.choice(words)
    n = rng.randrange(1000)
    lines.append(rng.choice([
        f"export function {a}{n}({b}, {c}) {{ return {b}.{c} ?? {n}; }}",
        f"const {a}_{b}{n} = ({c}) => {c}.map((x) => x.{b} + {n});",
        f"  if ({a}.{b} === {n}) {{ {c}.push({{ {a}, {b}: '{c}-{n}' }}); }}",
        f"// {a} {b} {c}: keep {n} in sync with the {c} of the {a}",
    ]))
with open(os.path.join(sys.argv[1], "app.js"), "w") as f:
    f.write("\n".join(lines)[:16384])
EOF
chmod 644 "$WORK/www"/*

render() {
    sed -e "s|@@RUN@@|$WORK/conf|g" -e "s|@@WWW@@|$WORK/www|g" \
        -e "s|@@UPSTREAM_PORT@@|$UPSTREAM_PORT|g" -e "s|@@ECHO_PORT@@|$ECHO_PORT|g" \
        -e "s|@@PROXY_PORT@@|$PROXY_PORT|g" -e "s|@@SANDBOX@@|$SANDBOX|g" \
        -e "s|@@CERT@@|$CERT|g" -e "s|@@KEY@@|$KEY|g" \
        -e "s|@@NOFILE@@|$NOFILE|g" -e "s|@@MAXCONN@@|$MAXCONN|g" "$1" >"$2"
    if grep -q '@@[A-Z_]*@@' "$2"; then die "unrendered placeholder in $2: $(grep -o '@@[A-Z_]*@@' "$2" | head -1)"; fi
}
render "$BENCH_DIR/configs/upstream-nginx.conf" "$WORK/conf/upstream-nginx.conf"
render "$BENCH_DIR/configs/nginx.conf" "$WORK/conf/nginx.conf"
render "$BENCH_DIR/configs/haproxy.cfg" "$WORK/conf/haproxy.cfg"
render "$BENCH_DIR/configs/Caddyfile" "$WORK/conf/Caddyfile"

# MARK: - Upstream: nginx (13-byte /, /64k, /1m, /upload sink) and the WebSocket echo server.

wait_http() {  # wait_http NAME PID URL [curl args…]: poll until a 200 (10 s at most)
    local name=$1 pid=$2 url=$3; shift 3
    local i code
    for i in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -20 "$WORK/logs/$name.log" >&2 || true
            return 1
        fi
        code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 1 "$@" "$url" 2>/dev/null || true)
        [[ "$code" == "200" ]] && return 0
        sleep 0.1
    done
    tail -20 "$WORK/logs/$name.log" >&2 || true
    return 1
}

start_bg upstream-nginx taskset -c "$LOAD_CPUS" nginx -e stderr -c "$WORK/conf/upstream-nginx.conf" -p "$WORK/conf"
UPSTREAM_PID=$LAST_PID
start_bg ws-echo taskset -c "$LOAD_CPUS" python3 "$BENCH_DIR/tools/wsecho.py" server --port "$ECHO_PORT"
ECHO_PID=$LAST_PID
wait_http upstream-nginx "$UPSTREAM_PID" "http://127.0.0.1:$UPSTREAM_PORT/" || die "the upstream nginx did not start"
for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$ECHO_PORT") 2>/dev/null && break; sleep 0.1; done
kill -0 "$ECHO_PID" 2>/dev/null || { cat "$WORK/logs/ws-echo.log" >&2; die "the WebSocket echo server did not start"; }
log "upstream ready: nginx on :$UPSTREAM_PORT, WebSocket echo on :$ECHO_PORT (CPUs $LOAD_CPUS)"

# MARK: - Proxies.

start_target() {  # sets TARGET_PID; returns non-zero if the target did not come up
    local target=$1
    case "$target" in
        direct) TARGET_PID=$UPSTREAM_PID; return 0 ;;
        porthole)
            start_bg "porthole-$SLOT" taskset -c "$PROXY_CPUS" "$PORTHOLE" serve --data-dir "$WORK/data" --cert-dir "$WORK/certs" \
                --bind-address 127.0.0.1 --https-port "$PROXY_PORT" --http-port 0 --http-mode off --admin-port 0 \
                --threads 1 --log-level warning "${PORTHOLE_EXTRA_FLAGS[@]+"${PORTHOLE_EXTRA_FLAGS[@]}"}" ;;
        nginx)
            start_bg "nginx-$SLOT" taskset -c "$PROXY_CPUS" nginx -e stderr -c "$WORK/conf/nginx.conf" -p "$WORK/conf" ;;
        haproxy)
            start_bg "haproxy-$SLOT" taskset -c "$PROXY_CPUS" haproxy -db -f "$WORK/conf/haproxy.cfg" ;;
        caddy)
            start_bg "caddy-$SLOT" env GOMAXPROCS=1 HOME="$WORK/caddy-home" XDG_DATA_HOME="$WORK/caddy-home" \
                XDG_CONFIG_HOME="$WORK/caddy-home" taskset -c "$PROXY_CPUS" \
                caddy run --config "$WORK/conf/Caddyfile" --adapter caddyfile ;;
    esac
    TARGET_PID=$LAST_PID
    wait_http "$target-$SLOT" "$TARGET_PID" "https://$APP_HOST/" --connect-to "::127.0.0.1:$PROXY_PORT"
}

target_url() {  # target_url TARGET PATH
    if [[ $1 == direct ]]; then echo "http://$APP_HOST:$UPSTREAM_PORT$2"; else echo "https://$APP_HOST:$PROXY_PORT$2"; fi
}

curl_target() {  # curl_target TARGET PATH [curl args…]
    local target=$1 path=$2; shift 2
    if [[ $target == direct ]]; then
        curl -sk --max-time 10 --connect-to "::127.0.0.1:$UPSTREAM_PORT" "$@" "http://$APP_HOST:$UPSTREAM_PORT$path"
    else
        curl -sk --max-time 10 --connect-to "::127.0.0.1:$PROXY_PORT" "$@" "https://$APP_HOST:$PROXY_PORT$path"
    fi
}

# A proxy past MAX_PROXY_RSS_MB is killed before it takes the shared, swapless machine down.
start_rss_guard() {
    local pid=$1 limit_kib=$(( MAX_PROXY_RSS_MB * 1024 )) flag="$WORK/rss-guard-$TARGET-$SLOT"
    (
        while kill -0 "$pid" 2>/dev/null; do
            rss=$(ps -o rss= -p "$pid" --ppid "$pid" 2>/dev/null | awk '{s += $1} END {print s + 0}')
            if (( rss > limit_kib )); then
                echo "$rss" >"$flag"
                # The whole tree at once: a surviving nginx worker would keep the port.
                kill -KILL $(ps -o pid= -p "$pid" --ppid "$pid" 2>/dev/null) 2>/dev/null
                exit 0
            fi
            sleep 0.5
        done
    ) >/dev/null 2>&1 &
    GUARD_PID=$!
    STARTED_PIDS+=("$GUARD_PID")
}

# MARK: - Recording.

record() {  # record JSON-FIELDS…: one line in results.jsonl with round and target filled in
    python3 - "$RESULTS" "$ROUND" "$TARGET" "$@" <<'EOF'
import json, sys
path, rnd, target, *pairs = sys.argv[1:]
rec = {"round": int(rnd), "target": target}
for pair in pairs:
    key, _, value = pair.partition("=")
    try:
        rec[key] = json.loads(value)
    except json.JSONDecodeError:
        rec[key] = value
with open(path, "a") as f:
    f.write(json.dumps(rec) + "\n")
EOF
}

problem() {  # problem SCENARIO TEXT
    log "PROBLEM $TARGET round $ROUND $1: $2"
    record scenario=problem at="$1" text="$(printf '%s' "$2" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
}

alive_or_problem() {  # after each scenario: did the target survive it?
    if [[ $TARGET != direct ]] && ! kill -0 "$TARGET_PID" 2>/dev/null; then
        problem "$1" "$TARGET exited during or after '$1'; log tail: $(tail -5 "$WORK/logs/$TARGET-$SLOT.log" | tr '\n' ' ')"
        return 1
    fi
    return 0
}

# run_wrk SCENARIO MODE CONNECTIONS PATH [SECONDS] [extra env…]: one wrk run, JSON recorded
run_wrk() {
    local scenario=$1 mode=$2 conns=$3 path=$4 seconds=${5:-$DURATION}
    shift 5 || shift $#
    local out="$WORK/wrk-$TARGET-$SLOT-$scenario.json"
    rm -f "$out"
    local cpu_before
    cpu_before=$(proxy_cpu)
    if ! env BENCH_MODE="$mode" BENCH_CONNECT=127.0.0.1 BENCH_OUT="$out" "$@" \
        timeout $(( seconds + 30 )) taskset -c "$LOAD_CPUS" \
        wrk -t1 -c"$conns" -d"${seconds}s" --timeout 5s -s "$BENCH_DIR/tools/bench.lua" "$(target_url "$TARGET" "$path")" \
        >"$WORK/logs/wrk-$TARGET-$SLOT-$scenario.log" 2>&1; then
        problem "$scenario" "wrk failed: $(tail -3 "$WORK/logs/wrk-$TARGET-$SLOT-$scenario.log" | tr '\n' ' ')"
        return 1
    fi
    [[ -s "$out" ]] || { problem "$scenario" "wrk wrote no summary"; return 1; }
    [[ $scenario == warmup* ]] && return 0
    # CPU the proxy used during the run, user and system seconds, for its cost per request.
    local cpu_used
    cpu_used=$(awk -v b="$cpu_before" -v a="$(proxy_cpu)" 'BEGIN { split(b, x, " "); split(a, y, " "); printf "%.2f %.2f", y[1] - x[1], y[2] - x[2] }')
    record scenario="$scenario" wrk="$(cat "$out")" connections="$conns" \
        cpu_user="${cpu_used% *}" cpu_sys="${cpu_used#* }"
}

# run_h2load SCENARIO CONNECTIONS STREAMS PATH: one h2load run over HTTP/2 (ALPN h2), recorded
# in wrk's summary shape (h2load reports no percentiles: p50/p99 are its mean and max).
run_h2load() {
    local scenario=$1 conns=$2 streams=$3 path=$4
    local log="$WORK/logs/h2load-$TARGET-$SLOT-$scenario.log"
    local cpu_before
    cpu_before=$(proxy_cpu)
    if ! timeout $(( DURATION + 30 )) taskset -c "$LOAD_CPUS" h2load -t1 -c"$conns" -m"$streams" -D"$DURATION" \
        --connect-to="127.0.0.1:$PROXY_PORT" "$(target_url "$TARGET" "$path")" >"$log" 2>&1; then
        problem "$scenario" "h2load failed: $(tail -3 "$log" | tr '\n' ' ')"
        return 1
    fi
    grep -q "Application protocol: h2" "$log" || { problem "$scenario" "h2load did not get HTTP/2 (ALPN h2)"; return 1; }
    local summary
    summary=$(python3 - "$log" "$DURATION" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
done = int(re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", text).group(2))
failed = sum(int(x) for x in re.search(r"\d+ succeeded, (\d+) failed, (\d+) errored", text).groups())
traffic = int(re.search(r"traffic: .*?\((\d+)\) total", text).group(1))
line = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", text)
def us(v):
    return float(v[:-2]) * 1000 if v.endswith("ms") else float(v[:-2]) if v.endswith("us") else float(v[:-1]) * 1e6
print(json.dumps({"requests": done, "bytes": traffic, "duration_us": int(float(sys.argv[2]) * 1e6),
                  "p50_us": int(us(line.group(3))), "p99_us": int(us(line.group(2))),
                  "errors": {"connect": 0, "read": 0, "write": 0, "status": failed, "timeout": 0}}))
PY
) || { problem "$scenario" "could not read h2load's output"; return 1; }
    local cpu_used
    cpu_used=$(awk -v b="$cpu_before" -v a="$(proxy_cpu)" 'BEGIN { split(b, x, " "); split(a, y, " "); printf "%.2f %.2f", y[1] - x[1], y[2] - x[2] }')
    record scenario="$scenario" wrk="$summary" connections="$conns" streams="$streams" \
        cpu_user="${cpu_used% *}" cpu_sys="${cpu_used#* }"
}

proxy_cpu() {  # user and system CPU seconds of the target's process tree so far
    python3 "$BENCH_DIR/tools/proccpu.py" "$TARGET_PID" 2>/dev/null || echo "0 0"
}

sanity_check() {  # the same answers through every target before measuring it
    local body size upload
    body=$(curl_target "$TARGET" / -w ' %{http_code}' || true)
    [[ "$body" == "Hello, world! 200" ]] || { problem sanity "GET / answered '$body' (want 'Hello, world! 200')"; return 1; }
    size=$(curl_target "$TARGET" /1m -o /dev/null -w '%{http_code} %{size_download}' || true)
    [[ "$size" == "200 1048576" ]] || { problem sanity "GET /1m answered '$size' (want '200 1048576')"; return 1; }
    if scenario_wanted gzip_js && [[ $TARGET != direct ]]; then
        local gzipped
        gzipped=$(curl_target "$TARGET" /app.js -H 'Accept-Encoding: gzip' -o /dev/null -w '%{http_code} %header{content-encoding}' || true)
        [[ "$gzipped" == "200 gzip" ]] || { problem sanity "GET /app.js with Accept-Encoding: gzip answered '$gzipped' (want '200 gzip')"; return 1; }
    fi
    upload=$(head -c 1048576 /dev/zero | curl_target "$TARGET" /upload --data-binary @- -H 'Expect:' -w ' %{http_code}' || true)
    [[ "$upload" == "ok 200" ]] || { problem sanity "POST /upload (1 MiB) answered '$upload' (want 'ok 200')"; return 1; }
    if ! ws_client 2 0.3 0 >"$WORK/logs/ws-sanity-$TARGET-$SLOT.json" 2>&1; then
        problem sanity "WebSocket echo failed: $(head -c 400 "$WORK/logs/ws-sanity-$TARGET-$SLOT.json")"
        return 1
    fi
    return 0
}

ws_client() {  # ws_client CONNECTIONS SECONDS WARMUP
    local port=$PROXY_PORT tls=--tls
    [[ $TARGET == direct ]] && { port=$ECHO_PORT; tls=""; }
    timeout $(( ${2%.*} + 40 )) taskset -c "$LOAD_CPUS" python3 "$BENCH_DIR/tools/wsecho.py" client \
        --port "$port" $tls --host "$WS_HOST" --connections "$1" --duration "$2" --warmup "$3" --size 32
}

scenario_websocket() {
    local out="$WORK/ws-$TARGET-$SLOT.json"
    if ! ws_client 64 "$DURATION" 0.5 >"$out" 2>"$WORK/logs/ws-$TARGET-$SLOT.log"; then
        problem websocket "echo client reported errors: $(head -c 600 "$out") $(tail -2 "$WORK/logs/ws-$TARGET-$SLOT.log" | tr '\n' ' ')"
    fi
    if [[ -s "$out" ]]; then record scenario=websocket ws="$(tail -1 "$out")"; fi
}

scenario_idle_memory() {
    local out="$WORK/idle-$TARGET-$SLOT.json"
    # The client may use every core here: the reading is the proxy's memory, not its speed.
    if ! timeout 120 python3 "$BENCH_DIR/tools/idleconns.py" --port "$PROXY_PORT" \
        --host "$APP_HOST" --pid "$TARGET_PID" --count "$IDLE_CONNS" >"$out" 2>"$WORK/logs/idle-$TARGET-$SLOT.log"; then
        problem idle_memory "not every idle connection stayed open with a 200: $(head -c 600 "$out") $(tail -2 "$WORK/logs/idle-$TARGET-$SLOT.log" | tr '\n' ' ')"
    fi
    if [[ -s "$out" ]]; then record scenario=idle_memory idle="$(tail -1 "$out")"; fi
}

scenario_policy() {
    # Load every sandbox's policy into the cache (hosts in order), then hit random ones.
    run_wrk warmup_policy warm 64 / 2 BENCH_HOSTS="$WORK/policy-hosts.txt" || return 0
    local warmed
    warmed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$WORK/wrk-$TARGET-$SLOT-warmup_policy.json")
    if (( warmed < POLICY_SANDBOXES )); then
        problem policy "cache warm-up reached only $warmed of $POLICY_SANDBOXES sandboxes"
    fi
    run_wrk policy hosts 64 / "$DURATION" BENCH_HOSTS="$WORK/policy-hosts.txt"
}

# MARK: - The run: rounds × targets, each target fresh per round.

ORDER=()
for t in direct porthole nginx haproxy caddy; do target_wanted "$t" && ORDER+=("$t"); done
log "rounds: $ROUNDS, ${DURATION}s per measurement, order each round: ${ORDER[*]}"
log "proxies on CPU(s) $PROXY_CPUS; upstream, echo server and load generators on CPU(s) $LOAD_CPUS"

# run_slot SCENARIO…: start the target, run the scenarios on it in order, stop it.
# A scenario whose target died is reported and ends the slot.
run_slot() {
    SLOT_START=$(date +%s.%N)
    if ! start_target "$TARGET"; then
        problem start "$TARGET did not answer 200 on / within 10 s (log: $WORK/logs/$TARGET-$SLOT.log)"
        [[ $TARGET != direct ]] && stop_pid "$TARGET_PID"
        return 0
    fi
    GUARD_PID=""
    [[ $TARGET != direct ]] && start_rss_guard "$TARGET_PID"
    if sanity_check; then
        local sc
        for sc in "$@"; do
            case "$sc" in
                warmup) run_wrk warmup get 64 / "$WARMUP" || true; continue ;;
                idle_memory) scenario_idle_memory ;;
                small_c64) run_wrk small_c64 get 64 / || true ;;
                small_c512) run_wrk small_c512 get 512 / || true ;;
                large_1m) run_wrk large_1m get 16 /1m || true ;;
                upload_1m) run_wrk upload_1m post 16 /upload || true ;;
                new_conns) run_wrk new_conns close 32 / || true ;;
                websocket) scenario_websocket ;;
                policy) scenario_policy || true ;;
                gzip_js) run_wrk gzip_js gzip 64 /app.js || true ;;
                h2_small) [[ $TARGET != direct ]] && { run_h2load h2_small 16 16 / || true; } ;;
            esac
            alive_or_problem "$sc" || break
        done
    fi
    if [[ $TARGET != direct ]]; then
        stop_pid "$TARGET_PID"
        if [[ -f "$WORK/rss-guard-$TARGET-$SLOT" ]]; then
            problem memory "$TARGET passed MAX_PROXY_RSS_MB=$MAX_PROXY_RSS_MB (RSS $(( $(cat "$WORK/rss-guard-$TARGET-$SLOT") / 1024 )) MiB) and was killed"
        elif [[ $STOP_RC != 0 && $STOP_RC != gone && ! ( $TARGET == haproxy && $STOP_RC == 143 ) ]]; then
            # (HAProxy's documented answer to SIGTERM is a hard stop with status 143.)
            problem shutdown "$TARGET exited with status $STOP_RC on SIGTERM"
        fi
        [[ -n "$GUARD_PID" ]] && stop_pid "$GUARD_PID"
        grep -i -E 'error|warn|crit|alert|emerg|fatal|panic' "$WORK/logs/$TARGET-$SLOT.log" \
            | grep -v -E 'FD limit .* too low|setrlimit|exceed open file resource limit|not formatted' \
            >"$WORK/logs/$TARGET-$SLOT.errors" || true
    fi
    record scenario=slot slot="$SLOT" start="$SLOT_START" end="$(date +%s.%N)"
}

for ROUND in $(seq "$ROUNDS"); do
    for TARGET in "${ORDER[@]}"; do
        if [[ $TARGET == caddy && $CADDY_STATUS != ok ]]; then
            continue
        fi
        log "round $ROUND/$ROUNDS: $TARGET"
        # Idle memory gets a process of its own: its 10,000 connections leave every
        # allocator's heap in a different state, which should not be charged to the
        # throughput scenarios that follow.
        if [[ $TARGET != direct ]] && scenario_wanted idle_memory; then
            SLOT="r$ROUND-idle"
            run_slot idle_memory
        fi
        SLOT="r$ROUND"
        scenarios=(warmup)
        for sc in small_c64 small_c512 large_1m upload_1m new_conns websocket policy gzip_js h2_small; do
            [[ $sc == policy && $TARGET != porthole ]] && continue
            scenario_wanted "$sc" && scenarios+=("$sc")
        done
        (( ${#scenarios[@]} > 1 )) && run_slot "${scenarios[@]}"
    done
done

kill -0 "$UPSTREAM_PID" 2>/dev/null || log "warning: the upstream nginx died during the run"
stop_pid "$ECHO_PID"
stop_pid "$UPSTREAM_PID"
stop_pid "$CPUWATCH_PID"
TOTAL_SECONDS=$(( $(date +%s) - START_TIME ))

# MARK: - Report.

commit=$(git -C "$REPO_DIR" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$REPO_DIR" status --porcelain -- Sources Package.swift Package.resolved 2>/dev/null)" ]]; then
    commit="$commit (plus uncommitted changes in Sources/)"
fi
# version_field N COMMAND…: field N of the first line COMMAND prints, or "none". Never fails:
# under pipefail, `cmd | head -1` can die of SIGPIPE and add a second word to the JSON.
version_field() {
    local field=$1; shift
    command -v "$1" >/dev/null || { echo none; return; }
    local output
    output=$("$@" 2>&1 || true)
    awk -v f="$field" 'NR == 1 { print $f }' <<<"$output"
}

cat >"$WORK/meta.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%MZ)",
  "commit": "$commit",
  "binary_sha256": "$(sha256sum "$PORTHOLE" | cut -c1-16)",
  "nproc": "$(nproc)",
  "cpu_model": "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)",
  "kernel": "$(uname -r)",
  "rounds": $ROUNDS,
  "duration": $DURATION,
  "quick": $QUICK,
  "proxy_cpus": "$PROXY_CPUS",
  "load_cpus": "$LOAD_CPUS",
  "idle_conns": $IDLE_CONNS,
  "policy_sandboxes": $POLICY_SANDBOXES,
  "total_seconds": $TOTAL_SECONDS,
  "build_seconds": $BUILD_SECONDS,
  "caddy_status": "$CADDY_STATUS",
  "targets": "$(IFS=,; echo "${ORDER[*]}")",
  "versions": {
    "nginx": "$(nginx -v 2>&1 | sed 's/.*nginx\///')",
    "haproxy": "$(version_field 3 haproxy -v)",
    "caddy": "$(version_field 1 caddy version)",
    "wrk": "$(version_field 2 wrk -v)",
    "openssl": "$(openssl version 2>/dev/null | awk '{print $2}')",
    "python": "$(python3 -c 'import platform; print(platform.python_version())')",
    "uvloop": "$UVLOOP_VERSION"
  }
}
EOF

report_out="${OUT:-$WORK/RESULTS.md}"
python3 "$BENCH_DIR/tools/report.py" --results "$RESULTS" --meta "$WORK/meta.json" --logs "$WORK/logs" \
    --cpu-timeline "$WORK/cpu-timeline.jsonl" \
    --out "$report_out" || die "report failed (raw results: $RESULTS)"
FAILED=0
log "done in ${TOTAL_SECONDS}s (build ${BUILD_SECONDS}s); results written to $report_out"
[[ $QUICK -eq 1 && -z "$OUT" ]] && KEEP=1
exit 0
