#!/usr/bin/env bash
# The README's worked example, runnable: start the simulator, start qmkeys
# pointed at it with one upload account, sign a cover, PUT it with curl, read it
# back. CI runs it, so the README cannot drift from what the server does.
#
#   bash scripts/cos-demo.sh            # builds and runs with cargo
#   SIM=target/debug/qqmusic-sim QMKEYS=target/debug/qmkeys bash scripts/cos-demo.sh
set -euo pipefail

SIM=${SIM:-"cargo run -q -p qqmusic-sim --"}
QMKEYS=${QMKEYS:-"cargo run -q -p qmkeys --"}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }
wait_for() { for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
SIM_ADDR=127.0.0.1:$(free_port)
API_ADDR=127.0.0.1:$(free_port)

# 1. The simulator, and an account in it.
$SIM --listen "$SIM_ADDR" >/dev/null 2>"$work/sim.log" &
wait_for "http://$SIM_ADDR/_sim/clock"
account=$(curl -s -X POST "http://$SIM_ADDR/_sim/accounts" -H 'content-type: application/json' -d '{"kind":"qq"}')

# 2. qmkeys, with that account for uploads and the simulated bucket as endpoint.
cat >"$work/qmkeys.toml" <<TOML
listen = "$API_ADDR"
upstream = "http://$SIM_ADDR"
cos_endpoint = "http://$SIM_ADDR/cos/{bucket}"

[[accounts]]
uin = $(echo "$account" | json 'd["uin"]')
musickey = "$(echo "$account" | json 'd["musickey"]')"
refresh_key = "$(echo "$account" | json 'd["refresh_key"]')"
refresh_token = "$(echo "$account" | json 'd["refresh_token"]')"
TOML
$QMKEYS serve --config "$work/qmkeys.toml" 2>"$work/qmkeys.log" &
wait_for "http://$API_ADDR/tool/cos/sign"

# 3. Sign a cover.
head -c 51458 /dev/urandom >"$work/cover.png"
sha1=$(sha1sum "$work/cover.png" | cut -d' ' -f1)
md5=$(md5sum "$work/cover.png" | cut -d' ' -f1)
size=$(stat -c %s "$work/cover.png")
signed=$(curl -s "http://$API_ADDR/tool/cos/sign?sha1=$sha1&md5=$md5&size=$size")
[ "$(echo "$signed" | json 'd["code"]')" = 0 ] || { echo "sign failed: $signed" >&2; exit 1; }
url=$(echo "$signed" | json 'd["data"]["url"]')

# 4. PUT the raw bytes with the signed headers (curl sets Host and Content-Length).
curl -sf -X PUT "$url" --data-binary "@$work/cover.png" \
  -H "content-md5: $(echo "$signed" | json 'd["data"]["header"]["content-md5"]')" \
  -H "x-cos-security-token: $(echo "$signed" | json 'd["data"]["header"]["x-cos-security-token"]')" \
  -H "Authorization: $(echo "$signed" | json 'd["data"]["header"]["Authorization"]')"

# 5. Read it back.
curl -sf "$url" -o "$work/back.png"
cmp "$work/cover.png" "$work/back.png"
echo "uploaded $size bytes to $url"
echo "CDN address: $(echo "$signed" | json 'd["data"]["CDN"]')"
