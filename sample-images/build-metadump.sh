#!/bin/bash
# Build the btrfs-image dump fixtures in sample-images/metadump/ and their truth, with a
# btrfs-progs newer than the system's (used as an oracle only, never by btrfs-inspect):
#
#   sudo BTRFS_PROGS_NEW=/work/progs-6.19/bin bash sample-images/build-metadump.sh
#
# BTRFS_PROGS_NEW is the bin directory holding btrfs, btrfs-image (6.x). The dumps are made
# from the committed sample images `default` (one device, DUP metadata) and `raid1` (two
# devices, attached as loop devices so that btrfs-image finds both). Needs root (loop devices).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P=${BTRFS_PROGS_NEW:?set BTRFS_PROGS_NEW to the bin directory of a btrfs-progs build (btrfs, btrfs-image)}
OUT=$HERE/metadump
WORK=$(mktemp -d /var/tmp/btrfs-metadump.XXXXXX)
LOOPS=()
cleanup() {
    local rc=$? l
    set +e
    for l in "${LOOPS[@]}"; do
        case "$(losetup -n -O BACK-FILE "$l" 2>/dev/null)" in "$WORK"/*) losetup -d "$l" ;; esac
    done
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
export LC_ALL=C.UTF-8 TZ=UTC

mkdir -p "$OUT/truth"
python3 "$HERE/unpack_runs.py" -d "$WORK" default raid1 >/dev/null

# One thread: the ranges are written in the order they were read (a rebuild gives the same index).
"$P/btrfs-image" -t 1 "$WORK/default/dev1.raw" "$WORK/default.dump"
gzip -9n < "$WORK/default.dump" > "$OUT/default.dump.gz"
"$P/btrfs-image" -t 1 -c 9 "$WORK/default/dev1.raw" "$OUT/default-c9.dump"
# -s: every name replaced by random garbage of the same length (a new draw each rebuild).
"$P/btrfs-image" -t 1 -c 9 -s "$WORK/default/dev1.raw" "$OUT/default-c9-sanitized.dump"

for f in dev1 dev2; do
    LOOPS+=("$(losetup -f --show "$WORK/raid1/$f.raw")")
done
"$P/btrfs" device scan "${LOOPS[@]}" >/dev/null
"$P/btrfs-image" -t 1 -c 9 "${LOOPS[0]}" "$OUT/raid1-c9.dump"

# Truth: what btrfs-progs makes of each dump once restored (btrfs-image -r). The restore
# rewrites the chunk tree of a multi-device dump for one device, so raid1's trees are
# compared with the raid1 sample's own dump-tree instead (the dump copies its blocks).
restore() {  # DUMP NAME
    "$P/btrfs-image" -r "$1" "$WORK/$2.restored"
    { echo "\$ btrfs check --readonly (btrfs-progs $("$P/btrfs" --version | head -n 1 | awk '{print $2}')) of btrfs-image -r $(basename "$1")"
      set +e; "$P/btrfs" check --readonly "$WORK/$2.restored" 2>&1; echo "# exit code $?"; set -e
    } > "$OUT/truth/$2.check.txt"
}
gzip -dc "$OUT/default.dump.gz" > "$WORK/default.dump"
restore "$WORK/default.dump" default
"$P/btrfs" inspect-internal dump-tree "$WORK/default.restored" | gzip -9n > "$OUT/truth/default.dump-tree.txt.gz"
# The compressed dump holds the same blocks: its restored trees are the same text (checked here).
restore "$OUT/default-c9.dump" default-c9
"$P/btrfs" inspect-internal dump-tree "$WORK/default-c9.restored" | gzip -9n | cmp - "$OUT/truth/default.dump-tree.txt.gz"
restore "$OUT/raid1-c9.dump" raid1-c9
ls -l "$OUT" "$OUT/truth"
