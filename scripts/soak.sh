#!/usr/bin/env bash
# Load and soak test: qmkeys and the simulator on 127.0.0.1 under a
# fixed mix of refresh cache hits, refresh cache misses and cover signs for a
# fixed time, then throughput, the error count and qmkeys' memory.
#
#   bash scripts/soak.sh [SECONDS]        # default 60
#
# Builds the release binaries, installs wrk (Debian's package, as
# scripts/bench.sh uses) if it is missing, starts qqmusic-sim and qmkeys on
# free loopback ports with one upload account, and drives them with wrk and
# scripts/soak-wrk.lua. Every 20 requests: 11 refreshes of HITS credentials
# refreshed just before (cache hits), 2 refreshes of accounts never refreshed
# (misses: a Login and a VIP lookup upstream each), 6 signs of SIGN_FILES files
# (InitUpload reused) and 1 sign of a new file (a fresh InitUpload). The
# per-client rate limit stays at its defaults: qmkeys trusts 127.0.0.1 as a
# proxy and each request names one of CLIENTS addresses in X-Forwarded-For.
#
# A 5-second probe of the same mix measures the rate, which sizes the lists of
# miss accounts; then a WARMUP-second run of the mix fills the caches. They
# are capped at CACHE_MAX_ENTRIES entries each (cache_max_entries; the
# server's default is 200000), small enough that misses and new files fill
# them during the warm-up: the measured run then shows whether memory stays
# flat once every cache is full and evicting. VmRSS of qmkeys is read idle,
# at the start of the measured run, every 10 s and at the end. About 50 s
# more than SECONDS once built.
#
# Exits non-zero if any request failed (non-2xx or socket error), if qmkeys
# died or if /healthz is not 200 afterwards. Stops everything it started.
#
# Settings, from the environment:
#   CONNECTIONS=64  THREADS=2  WARMUP=30  HITS=256  SIGN_FILES=256  CLIENTS=4096
#   CACHE_MAX_ENTRIES=5000  MAX_MISSES=1000000
#   BUILD=1         BUILD=0 uses the binaries already in target/release
#   QMKEYS_*        passed on to qmkeys; they win over the file soak.sh writes
#                   (log_level is warn there, so the log does not weigh on the run)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-60}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-30}
CACHE_MAX_ENTRIES=${CACHE_MAX_ENTRIES:-5000}
MAX_MISSES=${MAX_MISSES:-1000000}
HITS=${HITS:-256}
SIGN_FILES=${SIGN_FILES:-256}
CLIENTS=${CLIENTS:-4096}
BUILD=${BUILD:-1}
BIN=target/release
LUA=scripts/soak-wrk.lua

SCRIPT=soak.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
trap 'exit 130' INT TERM

check_seconds "$DURATION" 5 86400 "the duration"

# --- Tools ---------------------------------------------------------------------
need_tools curl python3
if [ "$BUILD" = 1 ]; then
  log "cargo build --release (qmkeys, qqmusic-sim)"
  cargo build --release -q -p qmkeys -p qqmusic-sim --bins
fi

# --- Simulator and accounts ------------------------------------------------------
start_sim "$work/sim.log"

# bulk_paths N: N new simulator accounts as refresh paths, one a line.
bulk_paths() {
  local left=$1 n
  while [ "$left" -gt 0 ]; do
    n=$((left > 100000 ? 100000 : left))
    curl -sf -X POST "$SIM/_sim/accounts/bulk" -H 'content-type: application/json' \
      -d "{\"kind\":\"qq\",\"count\":$n,\"vip_end\":\"2030-09-15 07:20:45\"}" |
      python3 -c '
import json, sys
from urllib.parse import quote
for a in json.load(sys.stdin):
    print("/music/tencent/cookie/refresh?uin=%s&music_key=%s" % (a["uin"], quote(a["musickey"], safe="")))'
    left=$((left - n))
  done
}
upload=$(curl -sf -X POST "$SIM/_sim/accounts" -H 'content-type: application/json' -d '{"kind":"qq"}')
bulk_paths "$HITS" >"$work/hits.txt"
python3 - "$SIGN_FILES" >"$work/signs.txt" <<'PY'
import hashlib, sys
for i in range(int(sys.argv[1])):
    body = b"soak cover %d" % i
    print("/tool/cos/sign?sha1=%s&md5=%s&size=%d&ext=png" % (
        hashlib.sha1(body).hexdigest(), hashlib.md5(body).hexdigest(), 1000 + i))
PY

# --- qmkeys ------------------------------------------------------------------------
API=127.0.0.1:$(free_port)
cat >"$work/qmkeys.toml" <<TOML
listen = "$API"
upstream = "$SIM"
cos_endpoint = "$SIM/cos/{bucket}"
db = "$work/qmkeys.db"
log_level = "warn"
cache_max_entries = $CACHE_MAX_ENTRIES
# wrk stands in for a reverse proxy on 127.0.0.1 that forwards many clients.
trusted_proxies = ["127.0.0.1/32"]

$(account_toml "$upload")
TOML
log "starting qmkeys on $API"
"$BIN/qmkeys" serve --config "$work/qmkeys.toml" 2>"$work/qmkeys.log" &
QMK_PID=$!
PIDS+=("$QMK_PID")
QMK=http://$API
wait_for "$QMK/healthz"
sleep 1
IDLE_KIB=$(rss_kib "$QMK_PID" VmRSS)

stats() { curl -sf "$SIM/_sim/stats"; }
run_wrk() { # SECONDS SALT
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "$1s" --timeout 10s -s "$LUA" "$QMK" -- \
    "$work" "$THREADS" "$CLIENTS" "$2"
}
soak_json() { grep '^SOAK_JSON ' "$1" | cut -d' ' -f2-; }

# --- Warm-up: a short probe sizes the lists of misses, then the caches fill -------
# A miss needs an account never refreshed, and every 10th request is one: the
# probe's rate, with room to spare, says how many the runs need (at most
# MAX_MISSES in all; past that, misses are sent as hits and the report says so).
misses_for() { # SECONDS: accounts for that long at the probe's rate
  python3 -c 'import sys; print(min(int(float(sys.argv[1]) * int(sys.argv[2]) * 0.1 * 1.5) + 1000, int(sys.argv[3])))' \
    "$PROBE_RPS" "$1" "$MAX_MISSES"
}
log "probe: 5s of the same mix"
bulk_paths 2000 >"$work/misses.txt"
run_wrk 5 0000aaaa >"$work/probe.txt" || die "wrk failed: $(cat "$work/probe.txt")"
probe=$(soak_json "$work/probe.txt")
[ -n "$probe" ] || die "wrk printed no figures: $(cat "$work/probe.txt")"
PROBE_RPS=$(echo "$probe" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(round(r["requests"] / (r["duration_us"] / 1e6)))')
WARM_MISSES=$(misses_for "$WARMUP")
SOAK_MISSES=$(misses_for "$DURATION")
log "probe: $PROBE_RPS req/s; provisioning $WARM_MISSES + $SOAK_MISSES accounts for cache misses"
bulk_paths "$WARM_MISSES" >"$work/misses.txt"
bulk_paths "$SOAK_MISSES" >"$work/soak-misses.txt"
log "warm-up: ${WARMUP}s of the same mix"
run_wrk "$WARMUP" 0000bbbb >"$work/warm.txt" || die "wrk failed: $(cat "$work/warm.txt")"
mv "$work/soak-misses.txt" "$work/misses.txt"

# --- The soak ------------------------------------------------------------------------
log "soak: ${DURATION}s, $CONNECTIONS connections, $THREADS wrk threads"
stats >"$work/stats0.json"
START_KIB=$(rss_kib "$QMK_PID" VmRSS)
(
  t=0
  while [ "$t" -lt "$DURATION" ]; do
    sleep 10
    t=$((t + 10))
    echo "$t $(rss_kib "$QMK_PID" VmRSS)"
  done
) >"$work/rss.txt" 2>/dev/null &
SAMPLER_PID=$!
PIDS+=("$SAMPLER_PID")
run_wrk "$DURATION" "$(printf '%08x' $((RANDOM * 32768 + RANDOM)))" >"$work/wrk.txt" ||
  die "wrk failed: $(cat "$work/wrk.txt")"
kill "$SAMPLER_PID" 2>/dev/null || true
kill -0 "$QMK_PID" 2>/dev/null || die "qmkeys died during the soak: $(tail -5 "$work/qmkeys.log")"
END_KIB=$(rss_kib "$QMK_PID" VmRSS)
HWM_KIB=$(rss_kib "$QMK_PID" VmHWM)
stats >"$work/stats1.json"
HEALTH=$(curl -s -o /dev/null -w '%{http_code}' "$QMK/healthz")
result=$(soak_json "$work/wrk.txt")
[ -n "$result" ] || die "wrk printed no figures: $(cat "$work/wrk.txt")"

# --- Report --------------------------------------------------------------------------
export IDLE_KIB START_KIB END_KIB HWM_KIB HEALTH DURATION CONNECTIONS THREADS CLIENTS \
  HITS SIGN_FILES WARMUP CACHE_MAX_ENTRIES
WRK_VERSION=$({ wrk -v 2>&1 || true; } | head -1 | cut -d' ' -f1-2)
export WRK_VERSION
status=0
echo "$result" >"$work/result.json"
python3 - "$work" <<'PY' || status=1
import json, os, sys
E, work = os.environ, sys.argv[1]
r = json.load(open(f"{work}/result.json"))
before = json.load(open(f"{work}/stats0.json"))
after = json.load(open(f"{work}/stats1.json"))
secs = r["duration_us"] / 1e6
non2xx = sum(v for s, v in r["statuses"].items() if not 200 <= int(s) <= 299)
socket = sum(r["socket_errors"].values())
mib = lambda kib: f"{int(kib) / 1024:.1f} MiB"
short = {"music.login.LoginServer.Login": "Login", "VipLogin.VipLoginInter.vip_login_base": "vip_login_base",
         "music.filesys.FileSystem.InitUpload": "InitUpload"}
calls = {short.get(k, k): after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
s = r["sent"]
print(f"soak: {E['DURATION']} s against qmkeys and qqmusic-sim on 127.0.0.1, {E['WRK_VERSION']}, "
      f"{E['THREADS']} threads, {E['CONNECTIONS']} connections, after a {E['WARMUP']} s warm-up; "
      f"caches capped at {int(E['CACHE_MAX_ENTRIES']):,} entries each")
print(f"mix sent: {s['hit']:,} refresh cache hits ({E['HITS']} credentials), {s['miss']:,} refresh misses "
      f"(new accounts), {s['sign']:,} signs of {E['SIGN_FILES']} known files, {s['new']:,} signs of new files; "
      f"{E['CLIENTS']} clients per thread by X-Forwarded-For")
print(f"throughput: {r['requests']:,} requests in {secs:.1f} s = {r['requests'] / secs:,.0f} req/s")
print(f"latency: p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms, "
      f"p99.9 {r['p999_us'] / 1000:.2f} ms, max {r['max_us'] / 1000:.2f} ms")
print("statuses: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(r["statuses"].items())))
e = r["socket_errors"]
print(f"errors: {non2xx + socket} (non-2xx {non2xx}; socket: connect {e['connect']}, read {e['read']}, "
      f"write {e['write']}, timeout {e['timeout']})")
for b in r["error_samples"]:
    print(f"  e.g. {b}")
if r["misses_exhausted"]:
    print(f"note: the miss list ran out; {r['misses_exhausted']:,} misses were sent as hits")
print("upstream calls: " + (", ".join(f"{k} {v:,}" for k, v in sorted(calls.items())) or "none"))
samples = [l.split() for l in open(f"{work}/rss.txt") if l.strip()]
print(f"qmkeys VmRSS: idle {mib(E['IDLE_KIB'])}; soak start {mib(E['START_KIB'])}, "
      f"end {mib(E['END_KIB'])} (peak VmHWM {mib(E['HWM_KIB'])})")
if samples:
    print("  every 10 s: " + ", ".join(f"{t} s {mib(k)}" for t, k in samples))
print(f"/healthz after the soak: {E['HEALTH']}")
sys.exit(1 if non2xx + socket else 0)
PY
[ "$HEALTH" = 200 ] || die "/healthz answered $HEALTH after the soak"
exit "$status"
