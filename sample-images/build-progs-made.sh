#!/bin/bash
# Build filesystems that only a newer btrfs-progs makes and this kernel will not mount, with
# btrfs-progs' own view of them as truth (no mount: no file-level truth from the kernel):
#
#   sudo BTRFS_PROGS_NEW=/work/progs-6.19/bin bash sample-images/build-progs-made.sh [NAME...]
#
# With NAMEs, only those images are rebuilt (the others keep their committed bytes).
# BTRFS_PROGS_NEW is the bin directory of a btrfs-progs build (mkfs.btrfs, btrfs), used as an
# oracle only. Output: sample-images/progs-made/NAME/devN.runs.gz and truth/ (mkfs.txt,
# dump-super-devN.txt, dump-tree.txt.gz, check.txt). Needs root (loop devices: dump-tree and
# check find the other devices of a multi-device filesystem by scanning).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P=${BTRFS_PROGS_NEW:?set BTRFS_PROGS_NEW to the bin directory of a btrfs-progs build (mkfs.btrfs, btrfs)}
WORK=$(mktemp -d /var/tmp/btrfs-progs-made.XXXXXX)
LOOPS=()
cleanup() {
    local rc=$? l
    set +e
    for l in "${LOOPS[@]}"; do
        "$P/btrfs" device scan --forget "$l" >/dev/null 2>&1
        case "$(losetup -n -O BACK-FILE "$l" 2>/dev/null)" in "$WORK"/*) losetup -d "$l" ;; esac
    done
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
export LC_ALL=C.UTF-8 TZ=UTC

ONLY=("$@")
build() {  # NAME NDEVS SIZE MKFS-ARGS...
    local name=$1 n=$2 size=$3 i
    shift 3
    if [ ${#ONLY[@]} -gt 0 ] && [[ ! " ${ONLY[*]} " == *" $name "* ]]; then return 0; fi
    local out=$HERE/progs-made/$name devs=()
    rm -rf "$out"
    mkdir -p "$out/truth"
    for i in $(seq 1 "$n"); do
        truncate -s "$size" "$WORK/$name-dev$i.img"
        LOOPS+=("$(losetup -f --show "$WORK/$name-dev$i.img")")
        devs+=("${LOOPS[-1]}")
    done
    { echo "\$ mkfs.btrfs -f $* (btrfs-progs $("$P/btrfs" --version | head -n 1 | awk '{print $2}'))"
      "$P/mkfs.btrfs" -f "$@" "${devs[@]}" 2>&1; } > "$out/truth/mkfs.txt"
    "$P/btrfs" device scan "${devs[@]}" >/dev/null
    for i in $(seq 1 "$n"); do
        # -a fails on a copy the device has no valid superblock at (zoned: the mirrors' zones are
        # at 512 GiB and 4 TiB); what it printed before is kept.
        "$P/btrfs" inspect-internal dump-super -f -a "${devs[$((i - 1))]}" > "$out/truth/dump-super-dev$i.txt" || [ -s "$out/truth/dump-super-dev$i.txt" ]
    done
    "$P/btrfs" inspect-internal dump-tree "${devs[0]}" | gzip -9n > "$out/truth/dump-tree.txt.gz"
    { set +e; "$P/btrfs" check --readonly "${devs[0]}" 2>&1; echo "# exit code $?"; set -e; } > "$out/truth/check.txt"
    for i in $(seq 1 "$n"); do
        python3 "$HERE/pack_runs.py" "$WORK/$name-dev$i.img" "$out/dev$i.runs.gz" >&2
    done
}

# raid-stripe-tree (experimental in btrfs-progs; the kernel here refuses incompat bit 14): RAID1
# data and metadata on two devices, made by mkfs alone (--rootdir takes one device only, and
# mkfs 6.19 fails writing DUP data with the raid stripe tree), so the tree has its root, no items.
build raid-stripe-tree 2 256M -O raid-stripe-tree -d raid1 -m raid1 -L rst
# Zoned (incompat ZONED): this kernel has no zoned block devices, so mkfs emulates zones on the
# loop device (256 MiB each, all conventional: the superblock copies stay at their fixed offsets,
# no superblock log). mkfs refuses --rootdir with zoned, so the filesystem holds no files.
build zoned 1 4G -O zoned -L zoned
# extent-tree-v2 (experimental; mkfs 6.19 built with --enable-experimental makes it): global
# roots (two extent and two csum trees, keyed (EXTENT_TREE ROOT_ITEM n)), block group items whose
# chunk_objectid is the global root id.
build extent-tree-v2 1 1G -O extent-tree-v2 -L etv2
ls -l "$HERE/progs-made"/*
