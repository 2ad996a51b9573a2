#!/bin/bash
# Build the btrfs-image dump fixtures in sample-images/metadump/ and their truth, with a
# btrfs-progs newer than the system's (used as an oracle only, never by btrfs-inspect):
#
#   sudo BTRFS_PROGS_NEW=/work/progs-6.19/bin bash sample-images/build-metadump.sh
#
# BTRFS_PROGS_NEW is the bin directory holding btrfs, btrfs-image (6.x). The dumps are made
# from the committed sample images `default` (one device, DUP metadata) and `raid1` (two
# devices, attached as loop devices so that btrfs-image finds both), and the data dumps (-d,
# which needs a btrfs-progs configured with --enable-experimental) from `holes`. Needs root
# (loop devices).
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
python3 "$HERE/unpack_runs.py" -d "$WORK" default raid1 holes >/dev/null

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

# -d: the data extents too, in format 1 ("_DUmP_v1", ranges up to 256 MiB). Made from `holes`
# (holes, preallocated ranges, inline files and a symlink: a dump of a few KiB). btrfs-image
# still zeroes inline file data and csum items in the tree blocks it copies (image-create.c
# copy_buffer, zero_items), so the truth is what btrfs restore gets from the restored dump.
"$P/btrfs-image" -t 1 -c 9 -d "$WORK/holes/dev1.raw" "$OUT/holes-d-c9.dump"
"$P/btrfs-image" -t 1 -d "$WORK/holes/dev1.raw" "$WORK/holes-d.dump"
gzip -9n < "$WORK/holes-d.dump" > "$OUT/holes-d.dump.gz"
restore "$OUT/holes-d-c9.dump" holes-d
# The plain dump restores to the same bytes (checked here).
"$P/btrfs-image" -r "$WORK/holes-d.dump" "$WORK/holes-d-plain.restored"
cmp "$WORK/holes-d.restored" "$WORK/holes-d-plain.restored"
mkdir "$WORK/holes-d.files"
{ echo "\$ btrfs restore -x -S (btrfs-progs $("$P/btrfs" --version | head -n 1 | awk '{print $2}')) of btrfs-image -r holes-d-c9.dump"
  set +e; "$P/btrfs" restore -x -S "$WORK/holes-d.restored" "$WORK/holes-d.files" 2>&1 | sed "s|$WORK/holes-d.files|<out>|g"; echo "# exit code ${PIPESTATUS[0]}"; set -e
} > "$OUT/truth/holes-d.restore.txt"
(cd "$WORK/holes-d.files" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) > "$OUT/truth/holes-d.restore.sha256"
ls -l "$OUT" "$OUT/truth"
