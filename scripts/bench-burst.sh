#!/usr/bin/env bash
# Does memory handed out under a burst come back? One qmkeys, ROUNDS rounds:
# each opens COUNT QR login streams of KIND at once (qmkeys-bench-login-streams),
# waits until every stream has its QR, closes them all, and reads qmkeys'
# VmRSS AFTER seconds later. Prints VmRSS idle, the peak (VmHWM) and after
# each round, so a process that keeps what a burst took (or grows round after
# round) shows it. Beside each VmRSS, the time another client (127.0.0.2)
# waits for GET /healthz then.
#
#   bash scripts/bench-burst.sh
#   QMKEYS=/path/to/another/qmkeys bash scripts/bench-burst.sh   # compare builds
#
# The caps that would refuse one client's burst are raised for the run
# (login places, per-client logins, connections, the poll rate); nothing else
# is changed. About ROUNDS x (AFTER + 15) s.
#
# Settings, from the environment:
#   COUNT=2500  ROUNDS=4  AFTER=30  KIND=qq  BUILD=1  QMKEYS=target/release/qmkeys
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-2500}
ROUNDS=${ROUNDS:-4}
AFTER=${AFTER:-30}
KIND=${KIND:-qq}
BUILD=${BUILD:-1}
QMKEYS=${QMKEYS:-target/release/qmkeys}

SCRIPT=bench-burst.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
trap 'exit 130' INT TERM

check_seconds "$AFTER" 0 300 "AFTER"
case $KIND in qq | wx) ;; *) die "KIND is qq or wx, not '$KIND'" ;; esac
for tool in curl python3; do command -v "$tool" >/dev/null 2>&1 || die "needs $tool"; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$BUILD" = 1 ]; then
  log "cargo build --release (qmkeys, qqmusic-sim, qmkeys-bench)"
  cargo build --release -q -p qmkeys -p qqmusic-sim -p qmkeys-bench --bins
fi
[ -x "$QMKEYS" ] || die "no qmkeys at $QMKEYS"

SIM_ARGS=(--qr-lifetime-secs 600)
start_sim "$work/sim.log"
api=127.0.0.1:$(free_port)
log "starting $QMKEYS on $api"
# The caps on one client's logins and connections, raised for the burst; a
# build from before they existed would refuse these names, so they are set
# only for a binary that knows them.
caps=()
if grep -qa login_max_per_client "$QMKEYS"; then
  caps=(QMKEYS_LOGIN_MAX_PER_CLIENT=$((COUNT + 10)) QMKEYS_MAX_CONNECTIONS=$((COUNT + 100))
    QMKEYS_MAX_CONNECTIONS_PER_CLIENT=$((COUNT + 100)) QMKEYS_LOGIN_POLLS_PER_SECOND=1000)
fi
env ${caps[@]+"${caps[@]}"} QMKEYS_LISTEN=$api QMKEYS_UPSTREAM=$SIM QMKEYS_COS_ENDPOINT="$SIM/cos/{bucket}" \
  QMKEYS_DB="$work/qmkeys.db" QMKEYS_LOG_LEVEL=warn \
  QMKEYS_LOGIN_MAX_SESSIONS=$((COUNT + 10)) QMKEYS_RATE_LIMIT_PER_SECOND=0 \
  QMKEYS_PTLOGIN_BASE=$SIM QMKEYS_PTLOGIN_GRAPH_BASE=$SIM QMKEYS_GRAPH_BASE=$SIM \
  QMKEYS_WX_OPEN_BASE=$SIM QMKEYS_WX_LP_BASE=$SIM \
  "$QMKEYS" serve 2>"$work/qmkeys.log" &
QMK_PID=$!
PIDS+=("$QMK_PID")
wait_for "http://$api/healthz"
sleep 1
# ms GET /healthz takes for a client of its own address.
legit_ms() {
  curl -s -o /dev/null --interface 127.0.0.2 -m 10 -w '%{http_code} %{time_total}' "http://$api/healthz" |
    python3 -c 'import sys; c, t = (sys.stdin.read().split() + ["0", "0"])[:2]; print(f"{float(t) * 1000:.1f}" if c == "200" else "failed")'
}
idle=$(rss_kib "$QMK_PID" VmRSS)
echo "bench-burst: $ROUNDS rounds of $COUNT $KIND QR login streams opened at once and closed; VmRSS $AFTER s after each"
echo "  idle $((idle / 1024)) MiB, /healthz $(legit_ms) ms"
for round in $(seq 1 "$ROUNDS"); do
  rm -f "$work/stop"
  target/release/qmkeys-bench-login-streams --base "http://$api" --count "$COUNT" --kind "$KIND" \
    --stop-file "$work/stop" --max-hold-secs 120 >"$work/client.$round" 2>"$work/client.$round.err" &
  client=$!
  PIDS+=("$client")
  for _ in $(seq 1 1200); do
    grep -q '^OPEN ' "$work/client.$round" 2>/dev/null && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^OPEN ' "$work/client.$round" || die "round $round: the streams did not all open: $(tail -3 "$work/client.$round.err")"
  peak=$(rss_kib "$QMK_PID" VmRSS)
  during=$(legit_ms)
  touch "$work/stop"
  wait "$client" || true
  errors=$(grep '^DONE ' "$work/client.$round" | cut -d' ' -f2- | json 'd["errors"]')
  sleep "$AFTER"
  after=$(rss_kib "$QMK_PID" VmRSS)
  echo "  round $round: all open $((peak / 1024)) MiB, /healthz $during ms; $AFTER s after closing $((after / 1024)) MiB, /healthz $(legit_ms) ms (errors $errors)"
done
echo "  peak VmHWM $(($(rss_kib "$QMK_PID" VmHWM) / 1024)) MiB"
