#!/usr/bin/env bash
# The cost of concurrent QR logins: COUNT login streams
# (GET /music/tencent/cookie/qrcode) opened at once against qmkeys and the
# simulator on 127.0.0.1 and held open for WINDOW seconds; then qmkeys'
# memory with them open against its idle memory, and the polls per second the
# login hosts receive. Target: at most TARGET_MIB more for the streams.
#
#   bash scripts/bench-login.sh [WINDOW]      # default 30 seconds
#
# Builds the release binaries and starts qqmusic-sim with QRs that live
# QR_LIFETIME seconds, so none expires on the simulator's side during the
# run. For each kind of KINDS it starts a fresh qmkeys (the login hosts and
# the gateway all on the simulator, login_max_sessions 2000, the per-client
# rate limit off, log level warn) and reads its VmRSS idle; then
# qmkeys-bench-login-streams opens COUNT streams of that kind at once and
# reads their events. Once every stream has its QR image the window starts:
# the simulator's counters (/_sim/stats) are read at its start and end,
# VmRSS five times during it, qmkeys_login_sessions and qmkeys' open files
# once. Then every stream is dropped (as a browser going away) and VmRSS is
# read 3 s later.
#
# qmkeys gives up on a QR 125 s after making it, so opening and the window
# must fit in that: WINDOW is 5 to 90 s. About 3 minutes for the three kinds once
# built. The open-files limit is raised to 65536 (or the hard limit) for
# everything started: each stream is a connection to qmkeys, and each WeChat
# long poll one more to the simulator.
#
# Exits non-zero if a stream failed or ended early, if qmkeys died, or if the
# memory for the streams is over the target. Stops everything it started.
#
# Settings, from the environment:
#   COUNT=1000  KINDS="qq wx app"  QR_LIFETIME=600  TARGET_MIB=30
#   BUILD=1     BUILD=0 uses the binaries already in target/release
#   QMKEYS=target/release/qmkeys   the qmkeys binary measured (another build, to compare)
set -euo pipefail
cd "$(dirname "$0")/.."

WINDOW=${1:-30}
COUNT=${COUNT:-1000}
KINDS=${KINDS:-qq wx app}
QR_LIFETIME=${QR_LIFETIME:-600}
TARGET_MIB=${TARGET_MIB:-30}
BUILD=${BUILD:-1}
BIN=target/release
QMKEYS=${QMKEYS:-$BIN/qmkeys}

SCRIPT=bench-login.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
trap 'exit 130' INT TERM

check_seconds "$WINDOW" 5 90 "the window"
case $COUNT in '' | *[!0-9]* | 0) die "COUNT is a whole number of streams, not '$COUNT'" ;; esac
for kind in $KINDS; do
  case $kind in qq | wx | app) ;; *) die "KINDS are qq, wx and app, not '$kind'" ;; esac
done
for tool in curl python3; do command -v "$tool" >/dev/null 2>&1 || die "needs $tool"; done
# 65536, or the hard limit when that is lower; a stream needs up to three
# descriptors (client, qmkeys, and the simulator for a WeChat long poll).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((COUNT * 3 + 256)) ] ||
  die "the open-files limit is $(ulimit -n), too low for $COUNT streams"

if [ "$BUILD" = 1 ]; then
  log "cargo build --release (qmkeys, qqmusic-sim, qmkeys-bench)"
  cargo build --release -q -p qmkeys -p qqmusic-sim -p qmkeys-bench --bins
fi

SIM_ARGS=(--qr-lifetime-secs "$QR_LIFETIME")
start_sim "$work/sim.log"

# start_qmkeys KIND: a fresh qmkeys for one run; sets QMK_PID and QMK.
start_qmkeys() {
  local api
  api=127.0.0.1:$(free_port)
  log "starting qmkeys on $api"
  QMKEYS_LISTEN=$api QMKEYS_UPSTREAM=$SIM QMKEYS_COS_ENDPOINT="$SIM/cos/{bucket}" \
    QMKEYS_DB="$work/qmkeys-$1.db" QMKEYS_LOG_LEVEL=warn \
    QMKEYS_LOGIN_MAX_SESSIONS=2000 QMKEYS_RATE_LIMIT_PER_SECOND=0 \
    QMKEYS_LOGIN_MAX_PER_CLIENT=2000 QMKEYS_LOGIN_POLLS_PER_SECOND=1000 \
    QMKEYS_MAX_CONNECTIONS=$((COUNT + 100)) QMKEYS_MAX_CONNECTIONS_PER_CLIENT=$((COUNT + 100)) \
    QMKEYS_PTLOGIN_BASE=$SIM QMKEYS_PTLOGIN_GRAPH_BASE=$SIM QMKEYS_GRAPH_BASE=$SIM \
    QMKEYS_WX_OPEN_BASE=$SIM QMKEYS_WX_LP_BASE=$SIM \
    QMKEYS_APP_QR_PUSH_URL="ws://${SIM#http://}/ws/handshake" \
    "$QMKEYS" serve 2>"$work/qmkeys-$1.log" &
  QMK_PID=$!
  PIDS+=("$QMK_PID")
  QMK=http://$api
  wait_for "$QMK/healthz"
}

# wait_line FILE WORD SECONDS: the JSON after WORD in FILE, once it is there.
wait_line() {
  local i
  for i in $(seq 1 $(($3 * 10))); do
    if grep -q "^$2 " "$1" 2>/dev/null; then
      grep "^$2 " "$1" | head -1 | cut -d' ' -f2-
      return 0
    fi
    [ $((i % 10)) = 0 ] && ! kill -0 "$CLIENT_PID" 2>/dev/null && break
    sleep 0.1
  done
  die "the load client printed no $2 line: $(cat "$1")"
}

stats() { curl -sf "$SIM/_sim/stats"; }
# fds PID: open file descriptors (sockets: the streams, and the connections to
# the login hosts, pooled or held by a long poll).
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
now() { date +%s.%N; }

# --- One run per kind ------------------------------------------------------------
for kind in $KINDS; do
  start_qmkeys "$kind"
  sleep 1
  echo "$(rss_kib "$QMK_PID" VmRSS)" >"$work/$kind.idle"
  fds "$QMK_PID" >"$work/$kind.fds_idle"

  log "$kind: opening $COUNT streams at once"
  rm -f "$work/stop"
  "$BIN/qmkeys-bench-login-streams" --base "$QMK" --count "$COUNT" --kind "$kind" \
    --stop-file "$work/stop" --max-hold-secs 300 >"$work/$kind.client" 2>"$work/$kind.client.err" &
  CLIENT_PID=$!
  PIDS+=("$CLIENT_PID")
  wait_line "$work/$kind.client" OPEN 110 >"$work/$kind.open"

  log "$kind: all open; measuring for ${WINDOW}s"
  now >"$work/$kind.t0"
  stats >"$work/$kind.stats0"
  curl -sf "$QMK/metrics" | awk '/^qmkeys_login_sessions[{ ]/ {s += $2} END {print s + 0}' \
    >"$work/$kind.sessions"
  fds "$QMK_PID" >"$work/$kind.fds_open"
  : >"$work/$kind.rss"
  for i in 1 2 3 4 5; do
    sleep "$(python3 -c "print($WINDOW / 5)")"
    echo "$(python3 -c "print(round($WINDOW * $i / 5))") $(rss_kib "$QMK_PID" VmRSS)" >>"$work/$kind.rss"
  done
  stats >"$work/$kind.stats1"
  now >"$work/$kind.t1"
  kill -0 "$QMK_PID" 2>/dev/null || die "qmkeys died with the streams open: $(tail -5 "$work/qmkeys-$kind.log")"

  touch "$work/stop"
  wait_line "$work/$kind.client" DONE 60 >"$work/$kind.done"
  wait "$CLIENT_PID" || true
  sleep 3
  echo "$(rss_kib "$QMK_PID" VmRSS)" >"$work/$kind.after"
  echo "$(rss_kib "$QMK_PID" VmHWM)" >"$work/$kind.hwm"
  fds "$QMK_PID" >"$work/$kind.fds_after"
  curl -sf "$QMK/metrics" | awk '/^qmkeys_login_sessions[{ ]/ {s += $2} END {print s + 0}' \
    >"$work/$kind.sessions_after"
  kill "$QMK_PID" 2>/dev/null || true
  wait "$QMK_PID" 2>/dev/null || true
done

# --- Report --------------------------------------------------------------------------
export COUNT WINDOW TARGET_MIB KINDS QR_LIFETIME
python3 - "$work" <<'PY'
import json, os, sys
E, work = os.environ, sys.argv[1]
read = lambda kind, what: open(f"{work}/{kind}.{what}").read().strip()
mib = lambda kib: f"{kib / 1024:.1f} MiB"
counters = {"qq": ("ptlogin.ptqrlogin", 1.5), "wx": ("wx.lp", None), "app": ("push.connect", None)}
notes = {"wx": " (long polls, each held by the simulator up to 30 s)",
         "app": " (MQTT connections opened: the states are pushed, nothing is polled)"}
target_kib = int(E["TARGET_MIB"]) * 1024
failed = False
print(f"bench-login: {E['COUNT']} QR login streams at once against qmkeys and qqmusic-sim on 127.0.0.1, "
      f"held {E['WINDOW']} s after all had their QR; a fresh qmkeys for each kind; "
      f"target: at most {E['TARGET_MIB']} MiB more than idle")
for kind in E["KINDS"].split():
    opened, done = json.loads(read(kind, "open")), json.loads(read(kind, "done"))
    s0, s1 = json.loads(read(kind, "stats0")), json.loads(read(kind, "stats1"))
    secs = float(read(kind, "t1")) - float(read(kind, "t0"))
    idle, after, hwm = int(read(kind, "idle")), int(read(kind, "after")), int(read(kind, "hwm"))
    samples = [tuple(map(int, l.split())) for l in read(kind, "rss").splitlines()]
    top = max(k for _, k in samples)
    extra = top - idle
    key, every = counters[kind]
    polls = s1.get(key, 0) - s0.get(key, 0)
    expect = f" (one per stream every {every} s would be {done['count'] / every:,.0f})" if every else \
        notes[kind]
    ok = extra <= target_kib and done["errors"] == 0 and done["first_events"] == done["count"]
    failed |= not ok
    print(f"\n[{kind}] {done['opened']:,} of {done['count']:,} streams opened, {done['first_events']:,} QR images "
          f"(all within {opened['seconds']:.1f} s; first event p50 {done['first_event_p50_secs']:.2f} s, "
          f"max {done['first_event_max_secs']:.2f} s), {done['waiting']:,} waiting events, "
          f"{done['still_open_at_stop']:,} still open at the stop, errors {done['errors']} "
          f"(ended early {done['ended_early']})")
    for e in done["error_samples"]:
        print(f"  e.g. {e}")
    print(f"  qmkeys_login_sessions: {read(kind, 'sessions')} during the window, "
          f"{read(kind, 'sessions_after')} after the streams closed; qmkeys' open files: "
          f"idle {read(kind, 'fds_idle')}, window start {read(kind, 'fds_open')}, "
          f"after closing {read(kind, 'fds_after')}")
    print(f"  upstream polls: {key} {polls:,} in {secs:.1f} s = {polls / secs:,.0f}/s{expect}")
    print(f"  qmkeys VmRSS: idle {mib(idle)}; open: "
          + ", ".join(f"{t} s {mib(k)}" for t, k in samples)
          + f"; 3 s after closing {mib(after)} (peak VmHWM {mib(hwm)})")
    print(f"  the streams cost {mib(extra)} over idle = {extra / done['count']:.1f} KiB a stream; "
          f"{extra / target_kib:.0%} of the {E['TARGET_MIB']} MiB target: {'PASS' if ok else 'FAIL'}")
sys.exit(1 if failed else 0)
PY
