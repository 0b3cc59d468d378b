#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]   # default: 30 s each, every target
#
# Installs cargo-fuzz from crates.io if it is missing, builds all targets once,
# then runs each for SECONDS (libFuzzer's -max_total_time) and fails if any
# target crashes, panics, breaks one of its assertions, leaks, runs out of
# memory or spends more than 10 s on one input. A failing input is kept in
# fuzz/artifacts/TARGET/ and the line to replay it is printed. New inputs are
# kept in fuzz/corpus/TARGET/ (ignored by git), so later runs start from them.
#
# The machine has only the stable toolchain. With a sanitizer, cargo-fuzz
# passes the nightly-only rustc flag -Zsanitizer=address, which stable rustc
# refuses ("the option `Z` is only accepted on the nightly compiler") unless
# RUSTC_BOOTSTRAP=1 is set, as this script does; the AddressSanitizer runtime
# ships with stable's standard library. With SANITIZER=none every flag is a
# stable -C flag (coverage instrumentation, --cfg fuzzing) and plain stable
# builds it.
#
# Settings, from the environment:
#   SANITIZER=address   or none (faster builds and runs, no AddressSanitizer)
#   FUZZ_PROFILE=release  or dev: unoptimised, so the build takes a fraction
#                       of the time and each run makes fewer executions; CI
#                       uses dev (every target built and fuzzed on each
#                       change), a long search by hand wants release
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-30}
shift || true
SANITIZER=${SANITIZER:-address}
FUZZ_PROFILE=${FUZZ_PROFILE:-release}

SCRIPT=fuzz.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
check_seconds "$SECONDS_EACH" 1 86400 "the time per target"
case $SANITIZER in address | none) ;; *) die "SANITIZER is address or none" ;; esac
case $FUZZ_PROFILE in
  release) profile=() ;;
  dev) profile=(--dev) ;;
  *) die "FUZZ_PROFILE is release or dev" ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz from crates.io" >&2
  cargo install cargo-fuzz --locked
fi
if [ "$SANITIZER" != none ]; then
  export RUSTC_BOOTSTRAP=1
fi
# Cargo caches rustc's answers in fuzz/target/.rustc_info.json without
# RUSTC_BOOTSTRAP in the key: one `cargo fuzz build` run by hand without it
# caches the refusal of -Z and every later build fails. Do not use that cache.
export CARGO_CACHE_RUSTC_INFO=0
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
[ ${#targets[@]} -gt 0 ] || die "no fuzz targets found"

echo "== building ${#targets[@]} fuzz targets (sanitizer: $SANITIZER, profile: $FUZZ_PROFILE)" >&2
build_start=$(date +%s)
cargo fuzz build "${profile[@]}" --sanitizer "$SANITIZER"
echo "== built in $(($(date +%s) - build_start)) s" >&2

failed=()
for target in "${targets[@]}"; do
  echo "== $target: ${SECONDS_EACH} s" >&2
  mkdir -p "fuzz/corpus/$target"
  marker=$(mktemp -p "$work")
  # The outer timeout is a backstop only: libFuzzer stops itself at -max_total_time.
  if timeout --kill-after=10 $((SECONDS_EACH + 120)) \
    cargo fuzz run "${profile[@]}" --sanitizer "$SANITIZER" "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    >"fuzz/last-$target.log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "fuzz/last-$target.log" |
      sed "s/^/   $target: /" >&2 || true
  else
    failed+=("$target")
    tail -n 40 "fuzz/last-$target.log" >&2
    find "fuzz/artifacts/$target" -type f -newer "$marker" 2>/dev/null | while read -r artifact; do
      echo "   replay: ${RUSTC_BOOTSTRAP:+RUSTC_BOOTSTRAP=1 }cargo fuzz run ${profile[*]} --sanitizer $SANITIZER $target $artifact" >&2
    done
  fi
  rm -f "$marker"
done

if [ ${#failed[@]} -gt 0 ]; then
  die "failed: ${failed[*]} (logs in fuzz/last-TARGET.log)"
fi
echo "fuzz: ${#targets[@]} targets ran ${SECONDS_EACH} s each without a failure"
