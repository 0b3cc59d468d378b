#!/usr/bin/env bash
# The OpenAPI contract test: schemathesis (pinned, in its own virtualenv)
# generates requests from /openapi.json and holds every answer to the
# document: status codes, content types, headers and bodies against their
# schemas, and that valid requests are not refused. It runs against qmkeys
# and the simulator on loopback, with one upload account and an admin token,
# and must report zero failures.
#
#   bash scripts/contract.sh               # builds and runs with cargo
#   SIM=target/debug/qqmusic-sim QMKEYS=target/debug/qmkeys bash scripts/contract.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT=contract.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

SCHEMATHESIS_VERSION=4.32.5
VENV=${CONTRACT_VENV:-target/contract-venv}
SIM=${SIM:-"cargo run -q -p qqmusic-sim --"}
QMKEYS=${QMKEYS:-"cargo run -q -p qmkeys --"}

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

SIM_ADDR=127.0.0.1:$(free_port)
API_ADDR=127.0.0.1:$(free_port)
# Short QR lifetimes, so a login stream the tester opens ends quickly.
$SIM --listen "$SIM_ADDR" --qr-lifetime-secs 3 --wx-poll-hold-ms 1000 >/dev/null 2>"$work/sim.log" &
PIDS+=($!)
wait_for "http://$SIM_ADDR/_sim/clock"
account=$(curl -s -X POST "http://$SIM_ADDR/_sim/accounts" -H 'content-type: application/json' -d '{"kind":"qq"}')
ADMIN_TOKEN=contract-admin-token-0123456789

cat >"$work/qmkeys.toml" <<TOML
listen = "$API_ADDR"
upstream = "http://$SIM_ADDR"
cos_endpoint = "http://$SIM_ADDR/cos/{bucket}"
db = "$work/qmkeys.db"
admin_token = "$ADMIN_TOKEN"
# Generated requests come fast from one address.
rate_limit_per_second = 0
# The login hosts are the simulator too.
ptlogin_base = "http://$SIM_ADDR"
ptlogin_graph_base = "http://$SIM_ADDR"
graph_base = "http://$SIM_ADDR"
wx_open_base = "http://$SIM_ADDR"
wx_lp_base = "http://$SIM_ADDR"
app_qr_push_url = "ws://$SIM_ADDR/ws/handshake"
login_max_sessions = 1000

$(account_toml "$account")
TOML
$QMKEYS serve --config "$work/qmkeys.toml" 2>"$work/qmkeys.log" &
PIDS+=($!)
wait_for "http://$API_ADDR/healthz"

log "schemathesis $SCHEMATHESIS_VERSION against http://$API_ADDR/openapi.json"
# Every check runs (schemathesis.toml enables them all; a --checks flag here
# would override its one per-operation exception, which it explains).
"$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run \
  "http://$API_ADDR/openapi.json" \
  --header "Authorization: Bearer $ADMIN_TOKEN" \
  --seed 1 \
  --no-color \
  --report-dir "$work/report"
