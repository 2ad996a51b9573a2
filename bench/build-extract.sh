#!/usr/bin/env bash
# Builds the extract-CPU benchmark image once (needs root, mkfs.btrfs, loop devices):
# a kernel-made 1.4 GB filesystem with a mix like a real home directory: many
# small files, zstd- and zlib-compressed text (per-directory compression
# property), inline files, and plain large files. Cached in bench/.cache/ (not
# committed) and rebuilt only when this script or fill-extract.py changes.
#
#   sudo bash bench/build-extract.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=$HERE/.cache
IMG=$CACHE/extract-mix.img
STAMP=$IMG.stamp
SUM=$(sha256sum "$HERE/build-extract.sh" "$HERE/fill-extract.py" | sha256sum | cut -c1-16)
if [ -f "$IMG" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$SUM" ]; then
  echo "$IMG"
  exit 0
fi
mkdir -p "$CACHE"
rm -f "$IMG" "$STAMP"
truncate -s 1400M "$IMG"
mkfs.btrfs -q -f -L extract-bench "$IMG" >&2
MNT=$(mktemp -d /tmp/btrfs-bench-extract.XXXXXX)
cleanup() { umount "$MNT" 2>/dev/null || true; rmdir "$MNT" 2>/dev/null || true; }
trap cleanup EXIT
mount -o loop,noatime "$IMG" "$MNT"
mkdir "$MNT/zstd" "$MNT/zlib"
# The compression property makes the kernel compress every write below these directories.
btrfs property set "$MNT/zstd" compression zstd >&2
btrfs property set "$MNT/zlib" compression zlib >&2
python3 "$HERE/fill-extract.py" "$MNT" >&2
sync
umount "$MNT"
echo "$SUM" > "$STAMP"
echo "$IMG"
