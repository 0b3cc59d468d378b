# Helpers shared by scripts/bench.sh, scripts/soak.sh and scripts/fuzz.sh.
# Source it after `cd` to the repository and after setting SCRIPT (the name
# messages start with).

log() { printf '== %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

# check_seconds VALUE MIN MAX WHAT: VALUE is whole seconds from MIN to MAX.
check_seconds() {
  case $1 in
    '' | *[!0-9]*) die "$4 is whole seconds, not '$1'" ;;
  esac
  if [ "$1" -lt "$2" ] || [ "$1" -gt "$3" ]; then
    die "$4 must be $2 to $3 seconds"
  fi
}

# need_tools TOOL...: wrk is installed from Debian's packages when missing
# (as root); any other tool missing stops the script.
need_tools() {
  if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  fi
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "needs $tool"
  done
}

# A scratch folder, and the processes started (PIDS), both gone at exit. A
# script with more to undo defines cleanup_more.
work=$(mktemp -d)
PIDS=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  if declare -F cleanup_more >/dev/null; then cleanup_more; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }
wait_for() { for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; die "no answer from $1"; }
first_line() { for _ in $(seq 1 300); do [ -s "$1" ] && { head -1 "$1"; return 0; }; sleep 0.1; done; die "nothing in $1"; }
# account_toml JSON: an [[accounts]] entry for the simulator account JSON describes.
account_toml() {
  printf '[[accounts]]\nuin = %s\nmusickey = "%s"\nrefresh_key = "%s"\nrefresh_token = "%s"\n' \
    "$(echo "$1" | json 'd["uin"]')" "$(echo "$1" | json 'd["musickey"]')" \
    "$(echo "$1" | json 'd["refresh_key"]')" "$(echo "$1" | json 'd["refresh_token"]')"
}
rss_kib() { awk -v f="$2" '$1 == f":" {print $2}' "/proc/$1/status"; }

# start_sim LOG [PREFIX...]: qqmusic-sim from target/release on a free
# loopback port, run under PREFIX (taskset, nice), with the options in the
# array SIM_ARGS if set; sets SIM_PID and SIM.
start_sim() {
  local sim_log=$1
  shift
  log "starting qqmusic-sim"
  RUST_LOG=warn "$@" target/release/qqmusic-sim --listen 127.0.0.1:0 ${SIM_ARGS[@]+"${SIM_ARGS[@]}"} >"$work/sim.url" 2>"$sim_log" &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  SIM=$(first_line "$work/sim.url")
  case $SIM in http://127.0.0.1:*) ;; *) die "the simulator is not on loopback: $SIM" ;; esac
  wait_for "$SIM/_sim/clock"
}
