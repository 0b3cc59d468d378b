#!/usr/bin/env bash
# The container image, checked the way these machines allow: `podman run` is
# refused here, so the image is built, inspected, and what it holds is run
# outside a container, on the host and chrooted into the image's own files.
# Also checks deploy/: the systemd unit and the compose file.
#
#   bash scripts/container-test.sh      # CI runs it from .ci/run
#
# Needs root (apt, chroot). Without podman it installs it; if it cannot, it
# fails: an unchecked image is not a passing one.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT=container-test
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

IMAGE=localhost/qmkeys:ci-test
MAX_IMAGE_BYTES=$((25 * 1000 * 1000))
checks=0
failed=0
pass() { checks=$((checks + 1)); printf 'ok   %s\n' "$*"; }
fail() { checks=$((checks + 1)); failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
# wait_up URL LOG: like wait_for, but shows the server's log when it never answers.
wait_up() {
  for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  cat "$2" >&2
  die "no answer from $1"
}
cleanup_more() {
  [ -n "${cid:-}" ] && podman rm -f "$cid" >/dev/null 2>&1 || true
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
}

need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} from Debian's packages"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }; then
    die "${need[*]} not installed and could not be installed: the image and the unit cannot be checked"
  fi
fi
for tool in python3 curl chroot ldd readelf systemd-analyze redis-server redis-cli; do
  command -v "$tool" >/dev/null 2>&1 || die "needs $tool"
done

log "building the image"
IMAGE=$IMAGE bash scripts/container-build.sh

# --- The image as built ---
bin_bytes=$(stat -c %s target/x86_64-unknown-linux-gnu/release/qmkeys)
image_bytes=$(podman image inspect --format '{{.Size}}' "$IMAGE")
check "image is $image_bytes bytes, at most $MAX_IMAGE_BYTES (binary $bin_bytes)" \
  test "$image_bytes" -le "$MAX_IMAGE_BYTES"

podman image inspect "$IMAGE" >"$work/inspect.json"
# c is the image config; podman shows the health check beside it, docker in it.
config() {
  python3 -c 'import json,sys; i=json.load(open(sys.argv[1]))[0]; c=i["Config"]; c.setdefault("Healthcheck", i.get("Healthcheck")); print(eval(sys.argv[2], {}, {"c": c}))' "$work/inspect.json" "$1"
}
check "runs as the numeric non-root user 65532" test "$(config 'c.get("User")')" = "65532:65532"
check "exposes 8080/tcp" test "$(config '"8080/tcp" in (c.get("ExposedPorts") or {})')" = True
check "/data is the working directory" test "$(config 'c.get("WorkingDir")')" = /data
check "/data is a volume" test "$(config '"/data" in (c.get("Volumes") or {})')" = True
check "listens on 0.0.0.0:8080" test "$(config '"QMKEYS_LISTEN=0.0.0.0:8080" in c.get("Env", [])')" = True
check "the healthcheck runs qmkeys healthcheck, no shell" \
  test "$(config '(c.get("Healthcheck") or {}).get("Test")')" = "['CMD', '/usr/local/bin/qmkeys', 'healthcheck']"
check "the entrypoint is qmkeys serve" \
  test "$(config 'c.get("Entrypoint"), c.get("Cmd")')" = "(['/usr/local/bin/qmkeys'], ['serve'])"

# --- What it holds ---
log "extracting the image's files"
# Never started: created only to export its files.
cid=$(podman create --no-healthcheck "$IMAGE")
podman export "$cid" >"$work/image.tar"
podman rm -f "$cid" >/dev/null
cid=
root="$work/rootfs"
mkdir -p "$root"
tar -xpf "$work/image.tar" -C "$root" --numeric-owner
tar -tvf "$work/image.tar" --numeric-owner |
  awk '{sub(/^\.\//, "", $6); sub(/\/$/, "", $6); print $6, $2, $1}' | sort >"$work/listing"
paths=$(cut -d' ' -f1 "$work/listing" | tr '\n' ' ')
check "the image holds the binary, passwd, group, /tmp and /data, nothing else: $paths" \
  test "$paths" = "data etc etc/group etc/passwd tmp usr usr/local usr/local/bin usr/local/bin/qmkeys "
check "/data belongs to 65532, so a fresh volume is writable; the rest to root" \
  test "$(awk '$2 != ($1 == "data" ? "65532/65532" : "0/0")' "$work/listing" | wc -l)" = 0
check "/tmp is sticky and writable by all" grep -q '^tmp 0/0 drwxrwxrwt$' "$work/listing"
check "user 65532 has a name" grep -q '^qmkeys:x:65532:65532:' "$root/etc/passwd"

bin="$root/usr/local/bin/qmkeys"
ldd_out=$(ldd "$bin" 2>&1 || true)
check "ldd finds no shared library to load: $ldd_out" \
  grep -q -E 'not a dynamic executable|statically linked' <<<"$ldd_out"
check "no program interpreter and no NEEDED entry" \
  test "$(readelf -l -d "$bin" | grep -c -E 'INTERP|\(NEEDED\)')" = 0
features=$(cargo tree -e normal,features -p qmkeys --locked --target x86_64-unknown-linux-gnu -i reqwest 2>/dev/null)
check "reqwest resolves names with hickory, not the libc resolver" \
  grep -q 'reqwest feature "hickory-dns"' <<<"$features"
check "reqwest trusts the compiled-in Mozilla roots, no CA file needed" \
  grep -q 'reqwest feature "rustls-tls-webpki-roots"' <<<"$features"

# --- Running it on the host ---
version=$("$bin" --version)
check "--version prints '$version'" grep -q -E '^qmkeys [0-9]+\.[0-9]+\.[0-9]+' <<<"$version"

sim_bin=target/debug/qqmusic-sim
[ -x "$sim_bin" ] || cargo build -q --locked -p qqmusic-sim
RUST_LOG=warn "$sim_bin" --listen 127.0.0.1:0 >"$work/sim.url" 2>"$work/sim.log" &
PIDS+=($!)
SIM=$(first_line "$work/sim.url")
wait_for "$SIM/_sim/clock"
SIM_PORT=${SIM##*:}

# refresh_once LABEL URL: one refresh of a fresh simulator account through
# the qmkeys at URL must answer code 200.
refresh_once() {
  local account body code
  account=$(curl -sf -X POST "$SIM/_sim/accounts" -H 'content-type: application/json' -d '{"kind":"qq"}')
  body=$(curl -s -G "$2/music/tencent/cookie/refresh" \
    --data-urlencode "uin=$(json 'd["uin"]' <<<"$account")" \
    --data-urlencode "music_key=$(json 'd["musickey"]' <<<"$account")" \
    --data-urlencode "refresh_key=$(json 'd["refresh_key"]' <<<"$account")" \
    --data-urlencode "refresh_token=$(json 'd["refresh_token"]' <<<"$account")") || body="curl failed: $?"
  # Only the code is shown: the answer holds the new key.
  code=$(json 'd.get("code")' <<<"$body" 2>/dev/null) || code="${body:0:20}"
  check "$1: a refresh answers code 200 (got $code)" test "$code" = 200
}

log "the extracted binary on the host"
port=$(free_port)
(cd "$work" && QMKEYS_LISTEN=127.0.0.1:$port QMKEYS_UPSTREAM=$SIM QMKEYS_DB="$work/host.db" \
  exec "$bin" serve 2>"$work/host.log") &
host_pid=$!
PIDS+=("$host_pid")
wait_up "http://127.0.0.1:$port/readyz" "$work/host.log"
check "host: /readyz answers 200" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200
refresh_once host "http://127.0.0.1:$port"
check "host: healthcheck (from QMKEYS_LISTEN) exits 0" \
  env QMKEYS_LISTEN=0.0.0.0:$port "$bin" healthcheck
kill "$host_pid" && wait "$host_pid" 2>/dev/null || true
check "host: healthcheck against the stopped server exits 1" \
  bash -c '"$1" healthcheck --url "http://127.0.0.1:$2/readyz" 2>/dev/null; test $? = 1' _ "$bin" "$port"

# In the image's own files, as its user, with only what a container runtime
# adds (/etc/hosts, /etc/resolv.conf): no libc, no NSS modules, no CA files,
# not even /dev. The simulator and Redis are named by host names, so both
# resolvers are tried: hickory (reqwest) and static glibc's built-in files
# and dns lookups (the Redis client).
log "the image's files, chrooted, as user 65532"
# env -i leaves no PATH to find chroot by.
chroot=$(command -v chroot)
printf '127.0.0.1 localhost\n127.0.0.1 upstream.qmkeys.test redis.qmkeys.test\n' >"$root/etc/hosts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
check "image: there is no /dev to lean on" test ! -e "$root/dev"
in_image() { # in_image LOG [VAR=VALUE...] -- ARGS...: qmkeys in the image's files
  local log=$1
  shift
  env -i "$@" "$chroot" --userspec=65532:65532 "$root" /usr/local/bin/qmkeys serve 2>"$log" &
}
port=$(free_port)
in_image "$work/chroot.log" QMKEYS_LISTEN=127.0.0.1:$port QMKEYS_DB=/data/qmkeys.db \
  QMKEYS_UPSTREAM="http://upstream.qmkeys.test:$SIM_PORT"
chroot_pid=$!
PIDS+=("$chroot_pid")
wait_up "http://127.0.0.1:$port/readyz" "$work/chroot.log"
check "image: /readyz answers 200" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200
refresh_once "image (upstream by host name)" "http://127.0.0.1:$port"
check "image: the store was created in /data" test -s "$root/data/qmkeys.db"
check "image: healthcheck exits 0" \
  env -i QMKEYS_LISTEN=0.0.0.0:$port "$chroot" --userspec=65532:65532 "$root" /usr/local/bin/qmkeys healthcheck
kill "$chroot_pid" && wait "$chroot_pid" 2>/dev/null || true

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
port=$(free_port)
in_image "$work/chroot-redis.log" QMKEYS_LISTEN=127.0.0.1:$port \
  QMKEYS_UPSTREAM="http://upstream.qmkeys.test:$SIM_PORT" \
  QMKEYS_REDIS_URL="redis://redis.qmkeys.test:$redis_port/" QMKEYS_SECRET_KEY=container-test-secret-key
chroot_pid=$!
PIDS+=("$chroot_pid")
wait_up "http://127.0.0.1:$port/readyz" "$work/chroot-redis.log"
redis_state=unknown
for _ in $(seq 1 50); do
  redis_state=$(curl -s "http://127.0.0.1:$port/readyz" | json 'd["data"]["redis"]' 2>/dev/null) || true
  [ "$redis_state" = ok ] && break
  sleep 0.2
done
check "image: reaches Redis by host name (readyz says redis: $redis_state)" test "$redis_state" = ok
refresh_once "image with Redis" "http://127.0.0.1:$port"
kill "$chroot_pid" && wait "$chroot_pid" 2>/dev/null || true

# --- deploy/ ---
log "deploy/qmkeys.service"
unit="$work/unit/qmkeys.service"
mkdir -p "$work/unit"
# verify wants the ExecStart binary to exist.
sed "s|/usr/local/bin/qmkeys|$bin|" deploy/qmkeys.service >"$unit"
verify=$(systemd-analyze verify "$unit" 2>&1 || echo "exit status $?")
check "systemd-analyze verify reports nothing${verify:+: $verify}" test -z "$verify"
security=$(systemd-analyze security --offline=true "$unit" 2>&1 | tail -1)
exposure_at_most_2() { systemd-analyze security --offline=true --threshold=20 "$1" >/dev/null 2>&1; }
check "systemd-analyze security: ${security#→ }, at most 2.0" exposure_at_most_2 "$unit"

log "deploy/compose.yaml"
if bash scripts/compose-check.sh >"$work/compose.log" 2>&1; then
  pass "compose.yaml: $(tail -1 "$work/compose.log")"
else
  cat "$work/compose.log"
  fail "compose.yaml is valid"
fi

echo "container: $((checks - failed)) passed, $failed failed"
echo "sizes: static binary $bin_bytes bytes, image $image_bytes bytes"
[ "$failed" = 0 ]
