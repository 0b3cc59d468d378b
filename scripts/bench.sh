#!/usr/bin/env bash
# End-to-end benchmark: qmkeys against a minimal hyper server measured in the
# same run, on this machine. BENCHMARKS.md records a run and explains the method.
#
#   bash scripts/bench.sh
#
# Builds the release binaries, installs wrk (Debian package) if it is missing,
# then starts on 127.0.0.1 only: qqmusic-sim, qmkeys and qmkeys-bench-baseline
# (a hyper server answering a fixed body as large as a refresh answer). Each
# workload gets a WARMUP-second wrk run, then a measured DURATION-second run at
# CONNECTIONS connections, right after a baseline run it is compared with:
# refresh cache hit, refresh cache miss, cos sign with the InitUpload answer
# reused, cos sign with a fresh InitUpload each time. Then a second, fresh
# qmkeys gives the memory figures: resident memory idle, and after FILL
# distinct refreshes sit in its cache. Prints the tables and writes them, with
# the raw figures and the logs, to $OUT. Stops everything it started. About 3 minutes once built.
#
# Settings, from the environment:
#   DURATION=10     seconds of each measured run
#   WARMUP=2        seconds of the warm-up run before it
#   CONNECTIONS=64  wrk connections (the same for every workload)
#   FILL=100000     distinct cached refreshes for the memory figure
#   PIN=1           servers under test on CPU 0, wrk and the simulator on CPU 1
#                   (PIN=0: no pinning, everything shares every CPU)
#   QUIET_WAIT=30   before each pair of runs, wait up to this many seconds for
#                   the rest of the machine to go idle (0: do not wait)
#   NICE=-10        scheduling priority of everything the benchmark starts, so
#                   that other work on the machine (a build) disturbs it less;
#                   applied only when run as root (NICE=0: as started)
#   BUILD=1         BUILD=0 uses the binaries already in target/release
#   QMKEYS=target/release/qmkeys
#                   the qmkeys binary measured (another build, to compare)
#   OUT=target/bench
#   REVISION        what the report says was measured (default: git's HEAD)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
FILL=${FILL:-100000}
PIN=${PIN:-1}
QUIET_WAIT=${QUIET_WAIT:-30}
NICE=${NICE:--10}
BUILD=${BUILD:-1}
OUT=${OUT:-target/bench}
BIN=target/release
QMKEYS=${QMKEYS:-$BIN/qmkeys}
LUA=scripts/bench-wrk.lua

SCRIPT=bench.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# --- Tools -------------------------------------------------------------------
need_tools curl python3 taskset
if [ "$BUILD" = 1 ]; then
  log "cargo build --release"
  cargo build --release -q -p qmkeys -p qqmusic-sim -p qmkeys-bench --bins
fi

CPUS=$(nproc)
if [ "$PIN" = 1 ] && [ "$CPUS" -ge 2 ]; then
  SERVER_PIN=(taskset -c 0)
  LOAD_PIN=(taskset -c 1)
  THREADS=1
  PLACEMENT="servers under test pinned to CPU 0; wrk, the simulator and the fill client pinned to CPU 1"
else
  PIN=0
  SERVER_PIN=()
  LOAD_PIN=()
  THREADS=$CPUS
  PLACEMENT="no pinning: servers, wrk and the simulator share all $CPUS CPUs"
fi
PRIO=()
AUTOGROUP_WAS=
if [ "$NICE" != 0 ] && [ "$(id -u)" = 0 ]; then
  PRIO=(nice -n "$NICE")
  PLACEMENT="$PLACEMENT; all of them at nice $NICE"
  # With scheduler autogroups, nice only ranks processes within their session:
  # give this session's group the same priority for the run (restored at exit).
  if [ -w /proc/self/autogroup ]; then
    AUTOGROUP_WAS=$(awk '{print $NF}' /proc/self/autogroup)
    if echo "$NICE" 2>/dev/null >/proc/self/autogroup; then
      PLACEMENT="$PLACEMENT, as is their session's scheduler autogroup"
    else
      AUTOGROUP_WAS=
    fi
  fi
fi
SERVER_PIN=("${PRIO[@]}" "${SERVER_PIN[@]}")
LOAD_PIN=("${PRIO[@]}" "${LOAD_PIN[@]}")
CLK_TCK=$(getconf CLK_TCK)

mkdir -p "$OUT/logs"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
# shellcheck disable=SC2317 # called by lib.sh's cleanup
cleanup_more() {
  if [ -n "$AUTOGROUP_WAS" ]; then echo "$AUTOGROUP_WAS" >/proc/self/autogroup || true; fi
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Busy CPU ticks of the whole machine (every CPU), to see what else ran.
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# --- Simulator and accounts ---------------------------------------------------
start_sim "$OUT/logs/sim.log" "${LOAD_PIN[@]}"

# Accounts with both VIP end times set, so every answer formats all its dates.
ENDS='"vip_end":"2030-09-15 07:20:45","svip_end":"2023-08-22 07:29:39"'
new_account() { curl -sf -X POST "$SIM/_sim/accounts" -H 'content-type: application/json' -d "{\"kind\":\"qq\",$ENDS}"; }
# add_accounts N FILE: N new accounts, appended to FILE as refresh GET paths.
add_accounts() {
  local left=$1
  while [ "$left" -gt 0 ]; do
    local n=$((left > 100000 ? 100000 : left))
    curl -sf -X POST "$SIM/_sim/accounts/bulk" -H 'content-type: application/json' \
      -d "{\"kind\":\"qq\",\"count\":$n,$ENDS}" |
      python3 -c '
import json, sys
for a in json.load(sys.stdin):
    print("/music/tencent/cookie/refresh?uin=%s&music_key=%s" % (a["uin"], a["musickey"]))' >>"$2"
    left=$((left - n))
  done
}
sim_stats() { curl -sf "$SIM/_sim/stats"; }

upload=$(new_account)
hit=$(new_account)
HIT_PATH="/music/tencent/cookie/refresh?uin=$(echo "$hit" | json 'd["uin"]')&music_key=$(echo "$hit" | json 'd["musickey"]')"
SIGN_PATH="/tool/cos/sign?sha1=4fbfbc28bbc4a67850fa90823fcea389fcfcd48d&md5=f853b39f8d7c2e617dbde77dca66d413&size=51458&ext=png"

# ...and to the per-client connection cap, in a build that has one (an older
# build, measured with QMKEYS=, would refuse the key).
CONNECTION_CAPS=
if grep -qa max_connections_per_client "$QMKEYS"; then
  CONNECTION_CAPS="max_connections_per_client = 512"
fi
cat >"$work/qmkeys.toml" <<TOML
upstream = "$SIM"
cos_endpoint = "$SIM/cos/{bucket}"
# One wrk client would otherwise be held to the per-client rate limit.
rate_limit_per_second = 0
$CONNECTION_CAPS

$(account_toml "$upload")
TOML

# start_qmkeys NAME: a qmkeys on a free port with the settings above; sets QMK_PID and QMK.
start_qmkeys() {
  local addr
  addr=127.0.0.1:$(free_port)
  QMKEYS_LISTEN=$addr "${SERVER_PIN[@]}" "$QMKEYS" serve --config "$work/qmkeys.toml" \
    2>"$OUT/logs/$1.log" &
  QMK_PID=$!
  PIDS+=("$QMK_PID")
  QMK=http://$addr
  wait_for "$QMK/"
}

# --- Runs ---------------------------------------------------------------------
wrk_run() { # SECONDS URL MODE [ARGS]
  local secs=$1 url=$2
  shift 2
  "${LOAD_PIN[@]}" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${secs}s" --timeout 5s -s "$LUA" "$url" -- "$@"
}
warm() { wrk_run "$WARMUP" "$@" >"$work/warm.txt"; }

# measure NAME PID URL MODE [ARGS]: one measured run against the server PID;
# appends the figures to $RESULTS.
measure() {
  local name=$1 pid=$2 url=$3
  shift 3
  log "measuring $name (${DURATION}s, $CONNECTIONS connections)"
  sim_stats >"$work/stats0.json"
  local s0 m0 b0 s1 m1 b1
  s0=$(cpu_ticks "$pid")
  m0=$(cpu_ticks "$SIM_PID")
  b0=$(busy_ticks)
  # wrk's CPU time: the `times` builtin, run in this shell (not a subshell),
  # reports the CPU time of the children it has reaped.
  times >"$work/times0"
  wrk_run "$DURATION" "$url" "$@" >"$work/wrk.txt"
  times >"$work/times1"
  s1=$(cpu_ticks "$pid")
  m1=$(cpu_ticks "$SIM_PID")
  b1=$(busy_ticks)
  sim_stats >"$work/stats1.json"
  cp "$work/wrk.txt" "$OUT/logs/wrk-$name.txt"
  grep -q '^BENCH_JSON ' "$work/wrk.txt" || die "wrk printed no figures for $name (see $OUT/logs/wrk-$name.txt)"
  python3 - "$name" "$((s1 - s0))" "$((m1 - m0))" "$((b1 - b0))" "$CLK_TCK" "$work" >>"$RESULTS" <<'PY'
import json, re, sys
name, server_ticks, sim_ticks, busy_ticks, tck, work = sys.argv[1:]
tck = int(tck)
def children(path):  # the second line of `times`: children's user and system time
    last = open(path).read().strip().splitlines()[-1]
    return sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", last))
line = next(l for l in open(f"{work}/wrk.txt") if l.startswith("BENCH_JSON "))
r = json.loads(line[len("BENCH_JSON "):])
before, after = json.load(open(f"{work}/stats0.json")), json.load(open(f"{work}/stats1.json"))
r.update(
    name=name,
    server_cpu_s=int(server_ticks) / tck,
    sim_cpu_s=int(sim_ticks) / tck,
    wrk_cpu_s=children(f"{work}/times1") - children(f"{work}/times0"),
    machine_busy_s=int(busy_ticks) / tck,
    upstream_calls={k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)},
)
print(json.dumps(r))
PY
}

log "starting qmkeys and qmkeys-bench-baseline"
start_qmkeys qmkeys
answer=$(curl -sf "$QMK$HIT_PATH")
[ "$(echo "$answer" | json 'd["code"]')" = 200 ] || die "refresh failed: $answer"
BODY_BYTES=$(curl -sf "$QMK$HIT_PATH" | wc -c)
"${SERVER_PIN[@]}" "$BIN/qmkeys-bench-baseline" --listen 127.0.0.1:0 --body-bytes "$BODY_BYTES" \
  >"$work/baseline.url" 2>"$OUT/logs/baseline.log" &
BASE_PID=$!
PIDS+=("$BASE_PID")
BASE=$(first_line "$work/baseline.url")
wait_for "$BASE/"
# The same body through axum with no middleware: the framework's own ceiling.
"${SERVER_PIN[@]}" "$BIN/qmkeys-bench-baseline" --axum --listen 127.0.0.1:0 --body-bytes "$BODY_BYTES" \
  >"$work/axum.url" 2>"$OUT/logs/axum-floor.log" &
AXUM_PID=$!
PIDS+=("$AXUM_PID")
AXUM=$(first_line "$work/axum.url")
wait_for "$AXUM/"
sleep 1
BASE_IDLE_KIB=$(rss_kib "$BASE_PID" VmRSS)

# Each workload is measured right after a baseline run and compared with it,
# so that a disturbance of the machine (a build starting) hits both alike. The
# baseline gets the same request as the cache-hit run.
warm "$BASE$HIT_PATH" fixed
# A build or test elsewhere on the machine slows qmkeys more than the
# baseline (they share caches and, on a VM, physical cores), so each pair
# starts once the machine is idle: our servers are idle between runs, so
# whatever is busy then is someone else.
wait_quiet() {
  local waited=0 b0 b1
  while [ "$waited" -lt "$QUIET_WAIT" ]; do
    b0=$(busy_ticks)
    sleep 1
    b1=$(busy_ticks)
    [ $((b1 - b0)) -le $((CLK_TCK / 10)) ] && return 0
    waited=$((waited + 1))
  done
  [ "$QUIET_WAIT" -gt 0 ] && log "the machine stayed busy for ${QUIET_WAIT}s: measuring anyway (see 'other CPU')"
  return 0
}
baseline() {
  wait_quiet
  measure "baseline-$1" "$BASE_PID" "$BASE$HIT_PATH" fixed
}

# 1. Refresh, cache hit: the credential was refreshed under a minute ago and
# stays cached for the run (upstream_calls shows no Login).
baseline 1
warm "$AXUM$HIT_PATH" fixed
measure axum-floor "$AXUM_PID" "$AXUM$HIT_PATH" fixed
curl -sf "$QMK$HIT_PATH" >/dev/null
warm "$QMK$HIT_PATH" fixed
measure refresh-hit "$QMK_PID" "$QMK$HIT_PATH" fixed

# 2. Refresh, cache miss: every request a different account the simulator
# knows (a Login and a VIP lookup upstream each). The warm-up run's rate sizes
# the measured run's list, with room to spare.
log "provisioning cache-miss accounts"
add_accounts 10000 "$work/miss-warm.txt"
warm "$QMK/" list "$work/miss-warm.txt" "$THREADS"
warm_rps=$(python3 -c '
import json, sys
r = json.loads(next(l for l in open(sys.argv[1]) if l.startswith("BENCH_JSON "))[11:])
print(int(r["requests"] / max(r["duration_us"], 1) * 1e6))' "$work/warm.txt")
MISS_N=$((warm_rps * DURATION * 2 + 5000))
add_accounts "$MISS_N" "$work/miss.txt"
baseline 2
measure refresh-miss "$QMK_PID" "$QMK/" list "$work/miss.txt" "$THREADS"

# 3. COS sign, InitUpload answer reused: the same file each time.
signed=$(curl -sf "$QMK$SIGN_PATH")
[ "$(echo "$signed" | json 'd["code"]')" = 0 ] || die "sign failed: $signed"
warm "$QMK$SIGN_PATH" fixed
baseline 3
measure sign-reuse "$QMK_PID" "$QMK$SIGN_PATH" fixed

# 4. COS sign, fresh InitUpload: a new file (sha1) each request.
warm "$QMK/" sign-fresh "$(printf '%08x' $((RANDOM * 32768 + RANDOM)))"
baseline 4
measure sign-fresh "$QMK_PID" "$QMK/" sign-fresh "$(printf '%08x' $((RANDOM * 32768 + RANDOM)))"
QMK_AFTER_KIB=$(rss_kib "$QMK_PID" VmRSS)

# --- Memory --------------------------------------------------------------------
log "memory: a fresh qmkeys, idle, then $FILL distinct cached refreshes"
add_accounts "$FILL" "$work/fill.txt"
start_qmkeys qmkeys-memory
sleep 1
IDLE_KIB=$(rss_kib "$QMK_PID" VmRSS)
sim_stats >"$work/fill0.json"
"${LOAD_PIN[@]}" "$BIN/qmkeys-bench-fill" --base "$QMK" --paths "$work/fill.txt" \
  --concurrency "$CONNECTIONS" >"$work/fill.json"
FILLED_KIB=$(rss_kib "$QMK_PID" VmRSS)
FILLED_HWM_KIB=$(rss_kib "$QMK_PID" VmHWM)
sim_stats >"$work/fill1.json"

# --- Report --------------------------------------------------------------------
MACHINE=$(python3 - <<'PY'
import os, platform, re
cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
mem = re.search(r"MemTotal:\s*(\d+)", open("/proc/meminfo").read())
print(f"{os.cpu_count()} CPUs ({cpu.group(1) if cpu else 'unknown'}), "
      f"{int(mem.group(1)) / 1048576:.1f} GiB memory, Linux {platform.release()}")
PY
)
export MACHINE PLACEMENT DURATION WARMUP CONNECTIONS THREADS FILL BODY_BYTES BASE_IDLE_KIB \
  QMK_AFTER_KIB IDLE_KIB FILLED_KIB FILLED_HWM_KIB
export WRK_VERSION=$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)
export RUSTC_VERSION=$(rustc -V)
if [ -z "${REVISION:-}" ]; then
  REVISION="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if GIT_OPTIONAL_LOCKS=0 git status --porcelain 2>/dev/null | grep -q .; then
    REVISION="$REVISION with uncommitted changes"
  fi
fi
export REVISION
python3 - "$RESULTS" "$work" >"$OUT/report.md" <<'PY'
import datetime, json, os, sys
E = os.environ
runs = {r["name"]: r for r in map(json.loads, open(sys.argv[1]))}
work = sys.argv[2]
fill = json.load(open(f"{work}/fill.json"))
f0, f1 = json.load(open(f"{work}/fill0.json")), json.load(open(f"{work}/fill1.json"))
logins = f1.get("music.login.LoginServer.Login", 0) - f0.get("music.login.LoginServer.Login", 0)

def rps(r):
    return r["requests"] / r["duration_us"] * 1e6

order = [r["name"] for r in map(json.loads, open(sys.argv[1]))]
paired = {w: f"baseline-{i}" for i, w in enumerate(["refresh-hit", "refresh-miss", "sign-reuse", "sign-fresh"], 1)}
paired["axum-floor"] = "baseline-1"
ratio = {w: rps(runs[w]) / rps(runs[b]) for w, b in paired.items()}
ms = lambda us: f"{us / 1000:.2f}"
mib = lambda kib: int(kib) / 1024
labels = {
    "axum-floor": "axum floor (axum router, same body, no middleware, no work)",
    "refresh-hit": "**1. refresh, cache hit**",
    "refresh-miss": "**2. refresh, cache miss**",
    "sign-reuse": "**3. cos sign, InitUpload reused**",
    "sign-fresh": "**4. cos sign, fresh InitUpload**",
}
short = {"music.login.LoginServer.Login": "Login", "VipLogin.VipLoginInter.vip_login_base": "VIP",
         "music.filesys.FileSystem.InitUpload": "InitUpload"}
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"Run of `bash scripts/bench.sh` on {now}, {E['REVISION']}.")
print()
print(f"- Machine: {E['MACHINE']}.")
print(f"- Placement: {E['PLACEMENT']}.")
print(f"- Load: {E['WRK_VERSION']}, {E['THREADS']} thread(s), {E['CONNECTIONS']} connections, "
      f"{E['DURATION']} s measured per run (after a {E['WARMUP']} s warm-up run of each workload); "
      f"refresh answer and baseline body {E['BODY_BYTES']} bytes; {E['RUSTC_VERSION']}, release profile.")
print()
print("| run, in order | req/s | vs baseline | p50 ms | p99 ms | p99.9 ms | server CPU | CPU µs/req | wrk CPU | sim CPU | other CPU | upstream calls | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
for name in order:
    r = runs[name]
    secs = r["duration_us"] / 1e6
    errors = sum(r["errors"].values())
    calls = ", ".join(f"{short.get(k, k)} {v:,}" for k, v in sorted(r["upstream_calls"].items())) or "none"
    note = " (list ran out)" if r["exhausted"] else ""
    other = r["machine_busy_s"] - r["server_cpu_s"] - r["sim_cpu_s"] - r["wrk_cpu_s"]
    label = labels.get(name, "baseline (hyper, fixed body)")
    if other / secs > 0.15:
        label += " (disturbed)"
    vs = f"**{ratio[name]:.0%}**" if name in ratio else ""
    print(f"| {label}{note} | {rps(r):,.0f} | {vs} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | "
          f"{ms(r['p999_us'])} | {r['server_cpu_s'] / secs:.0%} | {r['server_cpu_s'] / r['requests'] * 1e6:.1f} | "
          f"{r['wrk_cpu_s'] / secs:.0%} | {r['sim_cpu_s'] / secs:.0%} | {max(other, 0) / secs:.0%} | {calls} | {errors} |")
print()
print("Each workload's ratio is to the baseline run just before it (the axum floor's and the cache "
      "hit's to baseline 1). CPU columns are CPU time over the run's "
      "wall time (100% = one core); CPU µs/req is the server's CPU time per answered request; other CPU is "
      "what the rest of the machine used meanwhile (kernel work not charged to a process, and anything else "
      "running): near 0% is an undisturbed run; above 15% the row says disturbed, and its figures, above all "
      "qmkeys' CPU µs/req and ratio, are not to be trusted.")
print()
print("| memory | VmRSS |")
print("|---|---:|")
print(f"| qmkeys idle (fresh process, one request answered) | {mib(E['IDLE_KIB']):.1f} MiB |")
print(f"| qmkeys after {int(E['FILL']):,} distinct cached refreshes | {mib(E['FILLED_KIB']):.1f} MiB (peak {mib(E['FILLED_HWM_KIB']):.1f} MiB) |")
print(f"| qmkeys of the throughput runs, at their end | {mib(E['QMK_AFTER_KIB']):.1f} MiB |")
print(f"| baseline idle | {mib(E['BASE_IDLE_KIB']):.1f} MiB |")
print()
print(f"The fill sent {fill['requests']:,} refreshes ({fill['ok']:,} answered 200) in {fill['seconds']} s "
      f"({fill['rps']:,.0f} req/s, {E['CONNECTIONS']} at a time), making {logins:,} upstream Logins; "
      "the cookie cache keeps an entry 60 s, so all of them were cached at once"
      + ("." if fill["seconds"] < 60 else " only if the fill took under 60 s: it did NOT."))
print()
hit, reuse = ratio["refresh-hit"], ratio["sign-reuse"]
idle, filled = mib(E["IDLE_KIB"]), mib(E["FILLED_KIB"])
mark = lambda ok: "met" if ok else "MISSED"
print("| target | result | |")
print("|---|---:|---|")
print(f"| refresh cache hit ≥ 70% of baseline req/s | {hit:.0%} | {mark(hit >= 0.70)} |")
print(f"| cos sign with reuse ≥ 50% of baseline req/s | {reuse:.0%} | {mark(reuse >= 0.50)} |")
print(f"| idle RSS ≤ 20 MiB | {idle:.1f} MiB | {mark(idle <= 20)} |")
print(f"| {int(E['FILL']):,} cached refreshes ≤ 200 MiB | {filled:.1f} MiB | {mark(filled <= 200)} |")
PY
echo
cat "$OUT/report.md"
echo
log "report in $OUT/report.md, raw figures in $RESULTS, logs in $OUT/logs"
