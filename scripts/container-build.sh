#!/usr/bin/env bash
# Builds the qmkeys container image without pulling or compiling anything in
# a container: a statically linked release binary is built here, on the host,
# then copied with passwd/group files into a build context for the
# Containerfile's empty base.
#
#   bash scripts/container-build.sh                 # podman, localhost/qmkeys:latest
#   ENGINE=docker IMAGE=qmkeys:dev bash scripts/container-build.sh
#
# Prints the binary's and the image's size. The context is left in
# target/container-context for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE=${ENGINE:-podman}
IMAGE=${IMAGE:-localhost/qmkeys:latest}
TARGET=x86_64-unknown-linux-gnu
# The same settings every time, so cargo reuses the last build.
export CARGO_PROFILE_RELEASE_STRIP=symbols
# glibc linked in statically; --target keeps the flags off build scripts and
# proc macros, which must stay dynamic to load. getrandom would look glibc's
# getrandom() up with dlsym, which a static binary cannot, and fall back to
# /dev/random: linked directly, the binary needs no /dev at all.
export RUSTFLAGS='-C target-feature=+crt-static --cfg getrandom_backend="linux_getrandom"'

echo "== static release binary ($TARGET)"
cargo build --release --locked -p qmkeys --bin qmkeys --target "$TARGET"
bin="target/$TARGET/release/qmkeys"

ctx=target/container-context
rm -rf "$ctx"
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/etc" "$ctx/rootfs/tmp" "$ctx/data"
chmod 1777 "$ctx/rootfs/tmp"
cp "$bin" "$ctx/rootfs/usr/local/bin/qmkeys"
# The numeric user the Containerfile names, so tools show a name for it.
printf 'qmkeys:x:65532:65532:qmkeys:/data:/sbin/nologin\n' >"$ctx/rootfs/etc/passwd"
printf 'qmkeys:x:65532:\n' >"$ctx/rootfs/etc/group"
cp Containerfile "$ctx/Containerfile"

echo "== image $IMAGE ($ENGINE)"
format=()
# OCI images have no HEALTHCHECK: podman keeps it only in the docker format.
[ "$ENGINE" = podman ] && format=(--format docker)
"$ENGINE" build "${format[@]}" -t "$IMAGE" -f "$ctx/Containerfile" "$ctx"

bin_bytes=$(stat -c %s "$bin")
image_bytes=$("$ENGINE" image inspect --format '{{.Size}}' "$IMAGE")
echo "static binary: $bin_bytes bytes ($((bin_bytes / 1024 / 1024)) MiB)"
echo "image $IMAGE: $image_bytes bytes ($((image_bytes / 1024 / 1024)) MiB)"
