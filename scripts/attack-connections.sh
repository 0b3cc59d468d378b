#!/usr/bin/env bash
# The half-open connection attack of issue 19, against a release qmkeys on
# 127.0.0.1: one address (127.0.0.1) opens COUNT connections that each send
# the start of a request and stop, and holds them for HOLD seconds; meanwhile
# another address (127.0.0.2) asks GET /healthz every 0.5 s and times each
# answer. qmkeys' VmRSS is read idle, every second during the attack, and
# AFTER seconds after the attacker has gone.
#
#   bash scripts/attack-connections.sh            # this tree's build
#   QMKEYS=/path/to/old/qmkeys bash scripts/attack-connections.sh
#
# qmkeys runs with its default limits (header_timeout_ms 10000,
# max_connections 512, max_connections_per_client 64, max_header_bytes
# 16384) and the open-files limit given by NOFILE (default 1024, a small
# VPS's), unless QMKEYS_* variables say otherwise. The script reports, for
# the legitimate client: answers, failures and the slowest answer; and how
# many of the attacker's connections the server had closed by the end of the
# hold. Exits 1 if the legitimate client saw a failure or an answer slower
# than 1 s (the old build does, which is the point of running it).
#
# Settings, from the environment:
#   COUNT=3000  HOLD=20  AFTER=30  NOFILE=1024  PAD=0 (bytes of unfinished
#   header each attacker connection sends after the request line)
#   QMKEYS=target/release/qmkeys  BUILD=1 (BUILD=0 uses the binary as it is)
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-3000}
HOLD=${HOLD:-20}
AFTER=${AFTER:-30}
NOFILE=${NOFILE:-1024}
PAD=${PAD:-0}
QMKEYS=${QMKEYS:-target/release/qmkeys}
BUILD=${BUILD:-1}

SCRIPT=attack-connections.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
trap 'exit 130' INT TERM

check_seconds "$HOLD" 1 300 "HOLD"
check_seconds "$AFTER" 0 300 "AFTER"
for tool in curl python3; do command -v "$tool" >/dev/null 2>&1 || die "needs $tool"; done
if [ "$BUILD" = 1 ] && [ "$QMKEYS" = target/release/qmkeys ]; then
  log "building release qmkeys"
  cargo build --release -q -p qmkeys
fi
[ -x "$QMKEYS" ] || die "no qmkeys at $QMKEYS"
QMKEYS=$(realpath "$QMKEYS")
# The attacker's side needs a descriptor per connection.
ulimit -n $((COUNT + 1024)) 2>/dev/null || die "cannot raise the open-files limit for $COUNT connections"

port=$(free_port)
log "starting qmkeys ($QMKEYS) on 127.0.0.1:$port with $NOFILE open files"
(
  ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  cd "$work"
  QMKEYS_LISTEN=127.0.0.1:$port QMKEYS_LOG_LEVEL=warn QMKEYS_DB="$work/qmkeys.db" \
    exec "$QMKEYS" serve
) >"$work/qmkeys.log" 2>&1 &
PIDS+=("$!")
QPID=$!
wait_for "http://127.0.0.1:$port/healthz"
sleep 1
idle=$(rss_kib "$QPID" VmRSS)

status=0
python3 - "$port" "$COUNT" "$HOLD" "$PAD" "$QPID" "$AFTER" "$idle" <<'EOF' || status=$?
import socket, sys, threading, time

port, count, hold, pad, pid, after, idle = (int(a) for a in sys.argv[1:])

def rss():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

stop = threading.Event()
answers, failures, slowest = 0, 0, 0.0
def legit():
    global answers, failures, slowest
    while not stop.is_set():
        started = time.monotonic()
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
            s.close()
            if not data.startswith(b"HTTP/1.1 200"):
                raise OSError("answered " + repr(data[:20]))
            answers += 1
            slowest = max(slowest, time.monotonic() - started)
        except OSError:
            failures += 1
            slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.5)

head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + (b"X-Pad: " + b"a" * pad + b"\r\n" if pad else b"")
held = []
opened_at = time.monotonic()
for _ in range(count):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    held.append(s)
# Non-blocking sends: a connection still in the handshake gets another try.
unsent = list(held)
for _ in range(20):
    left = []
    for s in unsent:
        try:
            s.send(head)
        except (BlockingIOError, InterruptedError):
            left.append(s)
        except OSError:
            pass
    unsent = left
    if not unsent:
        break
    time.sleep(0.05)
opened_at = time.monotonic()
t = threading.Thread(target=legit); t.start()
samples = []
while time.monotonic() - opened_at < hold:
    time.sleep(1)
    samples.append(rss())
closed = 0
for s in held:
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
stop.set(); t.join()
peak = max(samples) if samples else float("nan")
for s in held:
    s.close()
time.sleep(after)
print(f"attacker: {count} half-open connections held {hold} s; closed by the server by then: {closed}")
print(f"legitimate client (127.0.0.2): {answers} answers, {failures} failures, slowest {slowest*1000:.0f} ms")
print(f"qmkeys VmRSS: idle {idle/1024:.1f} MiB; during the attack peak {peak:.1f} MiB "
      f"(samples {', '.join(f'{x:.0f}' for x in samples[::max(1, len(samples)//6)])}); {after} s after {rss():.1f} MiB")
sys.exit(0 if failures == 0 and slowest < 1.0 else 1)
EOF
if grep -q "Too many open files" "$work/qmkeys.log"; then
  log "qmkeys logged 'Too many open files' $(grep -c 'Too many open files' "$work/qmkeys.log") times"
fi
exit $status
