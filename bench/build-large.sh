#!/usr/bin/env bash
# Builds the large benchmark image once (needs root, btrfs-progs, loop devices):
# hundreds of thousands of files of mixed sizes, a dozen snapshots with changes
# between them, reflinks and compressed files. The image is cached in
# bench/.cache/ (not committed) and rebuilt only when this script changes.
#
#   sudo bash bench/build-large.sh [FILES] [SNAPSHOTS]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=$HERE/.cache
FILES=${1:-300000}
SNAPS=${2:-12}
IMG=$CACHE/large-$FILES-$SNAPS.img
STAMP=$IMG.stamp
SUM=$(sha256sum "$HERE/build-large.sh" "$HERE/fill-large.py" | sha256sum | cut -c1-16)
if [ -f "$IMG" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$SUM" ]; then
  echo "$IMG"
  exit 0
fi
mkdir -p "$CACHE"
rm -f "$IMG" "$STAMP"
truncate -s 24G "$IMG"
mkfs.btrfs -q -f -L bench "$IMG" >&2
MNT=$(mktemp -d /tmp/btrfs-bench.XXXXXX)
cleanup() { umount "$MNT" 2>/dev/null || true; rmdir "$MNT" 2>/dev/null || true; }
trap cleanup EXIT
mount -o loop,noatime "$IMG" "$MNT"
python3 "$HERE/fill-large.py" "$MNT" "$FILES" "$SNAPS" >&2
sync
umount "$MNT"
echo "$SUM" > "$STAMP"
echo "$IMG"
