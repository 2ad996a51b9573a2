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
# extent-tree-v2 with files (--rootdir) and four global roots (--num-global-roots 4): mkfs 6.19
# puts every extent and checksum item in the global roots with id 0 (its block groups' chunk_objectid
# is 0), so the trees with the highest ids are empty; a reader taking "the" csum tree by the
# highest key offset finds no checksums. Truth for the files: btrfs restore's copies (sha256) and
# btrfs check --check-data-csum.
if [ ${#ONLY[@]} -eq 0 ] || [[ " ${ONLY[*]} " == *" etv2-data "* ]]; then
    mkdir -p "$WORK/etv2-root/dir"
    python3 -c 'import random, sys
r = random.Random(19)
for i, n in enumerate((300000, 70000, 4096, 1234567)):
    open(sys.argv[1] + "/dir/f%d.bin" % i, "wb").write(bytes(r.getrandbits(8) for _ in range(n)))
open(sys.argv[1] + "/hello.txt", "w").write("hello, extent-tree-v2\n")' "$WORK/etv2-root"
    build etv2-data 1 1G -O extent-tree-v2 --num-global-roots 4 -L etv2g --rootdir "$WORK/etv2-root"
    img=$WORK/etv2-data-dev1.img
    mkdir "$WORK/etv2-restore"
    "$P/btrfs" restore "$img" "$WORK/etv2-restore" > /dev/null
    (cd "$WORK/etv2-restore" && find . -type f | sort | xargs sha256sum) > "$HERE/progs-made/etv2-data/truth/files.sha256"
    { set +e; "$P/btrfs" check --readonly --check-data-csum "$img" 2>&1; echo "# exit code $?"; set -e; } > "$HERE/progs-made/etv2-data/truth/check-data-csum.txt"
fi
ls -l "$HERE/progs-made"/*
