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
# The stamp hashes the fill's content, not the scripts' paths: a worktree whose bench/.cache
# links to the shared cache finds the same image valid instead of rebuilding it.
SUM=$(cat "$HERE/fill-extract.py" | sha256sum | cut -c1-16)
# The image built before by the path-hashing stamp of 2026-12-03 (same fill): keep it.
LEGACY=87818c134d9b481a
have=$(cat "$STAMP" 2>/dev/null || true)
if [ -f "$IMG" ] && { [ "$have" = "$SUM" ] || [ "$have" = "$LEGACY" ]; }; then
  echo "$IMG"
  exit 0
fi
# One build at a time across worktrees: wait for another build, then look again.
exec 9>/tmp/bench-build.lock
flock 9
have=$(cat "$STAMP" 2>/dev/null || true)
if [ -f "$IMG" ] && [ "$have" = "$SUM" ]; then
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
