#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: the one CPU
# figure a busy or virtual machine does not move. qmkeys (release build)
# runs under callgrind against the simulator; wrk sends a warm-up, then the
# counters are zeroed, switched on for a DURATION-second run at 4
# connections, and dumped. Printed per workload: answered requests, user-space
# instructions, instructions per request. The refresh cache hit and the cos
# sign with the InitUpload answer reused, as in scripts/bench.sh.
#
#   bash scripts/bench-callgrind.sh
#
# Kernel time (the socket writes, half of a cache hit's CPU) is not counted,
# and under valgrind SHA-256 takes its software path (about 10k instructions
# of a cache hit's HMAC key that SHA extensions make a few hundred): compare
# two builds with it, not with the CPU time of scripts/bench.sh.
#
# Settings, from the environment:
#   QMKEYS=target/release/qmkeys   the binary measured (another build, to compare)
#   DURATION=10   BUILD=1 (0: use the binaries already in target/release)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
BUILD=${BUILD:-1}
BIN=target/release
QMKEYS=${QMKEYS:-$BIN/qmkeys}

SCRIPT=bench-callgrind.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

if ! command -v valgrind >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  log "installing valgrind from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
need_tools curl python3 valgrind callgrind_control
if [ "$BUILD" = 1 ]; then
  log "cargo build --release"
  cargo build --release -q -p qmkeys -p qqmusic-sim --bins
fi

start_sim "$work/sim.log"
ENDS='"vip_end":"2030-09-15 07:20:45","svip_end":"2023-08-22 07:29:39"'
new_account() { curl -sf -X POST "$SIM/_sim/accounts" -H 'content-type: application/json' -d "{\"kind\":\"qq\",$ENDS}"; }
upload=$(new_account)
hit=$(new_account)
cat >"$work/qmkeys.toml" <<TOML
upstream = "$SIM"
cos_endpoint = "$SIM/cos/{bucket}"
rate_limit_per_second = 0
db = "$work/qmkeys.db"

$(account_toml "$upload")
TOML

addr=127.0.0.1:$(free_port)
log "starting qmkeys under callgrind on $addr"
QMKEYS_LISTEN=$addr valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$work/callgrind.out" "$QMKEYS" serve --config "$work/qmkeys.toml" \
  2>"$work/qmkeys.log" &
VG_PID=$!
PIDS+=("$VG_PID")
QMK=http://$addr
for _ in $(seq 1 600); do curl -s -o /dev/null "$QMK/healthz" && break; sleep 0.1; done
curl -sf -o /dev/null "$QMK/healthz" || die "qmkeys did not start under valgrind: $(tail -3 "$work/qmkeys.log")"

HIT="/music/tencent/cookie/refresh?uin=$(echo "$hit" | json 'd["uin"]')&music_key=$(echo "$hit" | json 'd["musickey"]')"
SIGN="/tool/cos/sign?sha1=4fbfbc28bbc4a67850fa90823fcea389fcfcd48d&md5=f853b39f8d7c2e617dbde77dca66d413&size=51458&ext=png"
echo "bench-callgrind: $QMKEYS ($(git rev-parse --short HEAD 2>/dev/null || echo '?') checked out), wrk 1 thread 4 connections, ${DURATION} s counted per workload after a 3 s warm-up"
dump=0
for workload in "refresh, cache hit|$HIT" "cos sign, InitUpload reused|$SIGN"; do
  name=${workload%%|*}
  path=${workload#*|}
  wrk -t1 -c4 -d3s "$QMK$path" >/dev/null
  callgrind_control -z "$VG_PID" >/dev/null 2>&1
  callgrind_control -i on "$VG_PID" >/dev/null 2>&1
  wrk -t1 -c4 -d"${DURATION}s" "$QMK$path" >"$work/wrk.txt"
  callgrind_control -i off "$VG_PID" >/dev/null 2>&1
  callgrind_control -d "$VG_PID" >/dev/null 2>&1
  dump=$((dump + 1))
  for _ in $(seq 1 100); do [ -s "$work/callgrind.out.$dump" ] && break; sleep 0.1; done
  grep -q "Non-2xx" "$work/wrk.txt" && die "$name: answers other than 200: $(cat "$work/wrk.txt")"
  requests=$(grep -Eo '^ +[0-9]+ requests' "$work/wrk.txt" | grep -Eo '[0-9]+')
  instructions=$(awk '$1 == "totals:" {print $2; exit}' "$work/callgrind.out.$dump")
  [ -n "$requests" ] && [ "$requests" -gt 0 ] && [ -n "$instructions" ] || die "$name: no figures"
  printf '%s: %s requests, %s instructions, %s per request\n' "$name" "$requests" "$instructions" \
    "$((instructions / requests))"
done
