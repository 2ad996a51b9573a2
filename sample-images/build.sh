#!/bin/bash
# Build the sample btrfs images (needs root, btrfs-progs, loop devices).
#
#   sudo bash sample-images/build.sh            # every image
#   sudo bash sample-images/build.sh raid5 mixed
#
# Each image ends up as sample-images/<name>/devN.runs.gz plus truth/ files;
# see README.md. Work files live in $BTRFS_SAMPLE_WORK (default: a fresh
# directory under /var/tmp) and are removed at exit, together with every
# mount and loop device this script created.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${BTRFS_SAMPLE_WORK:-$(mktemp -d /var/tmp/btrfs-sample-images.XXXXXX)}
mkdir -p "$WORK"
MNT=$WORK/mnt
mkdir -p "$MNT"
export LC_ALL=C.UTF-8 TZ=UTC

ALL_IMAGES=(default nodesize64k mixed holes csum-xxhash csum-sha256 csum-blake2 compress
    dup-data raid0 raid1 raid1c3 raid1c4 raid10 raid5 raid6 partitioned-gpt partitioned-mbr
    large-offsets deleted log-tree generations seed)

ALL_LOOPS=()     # every loop device we attached (for cleanup)

cleanup() {
    local rc=$?
    set +e
    # unmount anything still mounted under our work dir (deepest first)
    findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    local l
    # detach only loop devices that still point into our work dir (a number
    # we detached earlier may have been reused by someone else)
    for l in "${ALL_LOOPS[@]}"; do
        case "$(losetup -n -O BACK-FILE "$l" 2>/dev/null)" in
            "$WORK"/*) losetup -d "$l" ;;
        esac
    done
    [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '\n=== %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------
# per-image state
NAME= OUT= ST= TRUTH=
DEVFILES=()      # backing files, devN.img in devid order
LOOPS=()         # loop devices of this image (whole disks)
DEVS=()          # block devices holding btrfs (loop or partition), devid order
DEVLABELS=()     # how DEVS are named in manifest.json's mkfs_command

begin() {  # NAME DESCRIPTION
    NAME=$1
    log "building $NAME"
    OUT=$HERE/$NAME
    ST=$WORK/$NAME/state
    TRUTH=$OUT/truth
    rm -rf "$OUT" "$WORK/$NAME"
    mkdir -p "$TRUTH" "$ST"
    DEVFILES=() LOOPS=() DEVS=() DEVLABELS=()
    printf '%s\n' "$1" >"$ST/name"
    printf '%s\n' "$2" >"$ST/description"
    : >"$ST/mounts.log"
    : >"$ST/notes.txt"
}

note() { printf '%s\n' "$*" >>"$ST/notes.txt"; }

attach() {  # FILE [losetup args]; sets ATTACHED to the loop device
    ATTACHED=$(losetup -f --show "${@:2}" "$1")
    ALL_LOOPS+=("$ATTACHED")
    LOOPS+=("$ATTACHED")
}

make_devs() {  # COUNT SIZE
    local i
    for i in $(seq 1 "$1"); do
        truncate -s "$2" "$WORK/$NAME/dev$i.img"
        DEVFILES+=("$WORK/$NAME/dev$i.img")
        attach "$WORK/$NAME/dev$i.img"
        DEVS+=("$ATTACHED")
        DEVLABELS+=("dev$i")
    done
}

do_mkfs() {  # mkfs args (devices appended)
    printf '%s\n' "mkfs.btrfs -f $* ${DEVLABELS[*]}" >"$ST/mkfs.cmd"
    mkfs.btrfs -f "$@" "${DEVS[@]}" >"$TRUTH/mkfs.txt" 2>&1 || { cat "$TRUTH/mkfs.txt"; return 1; }
    if [ ${#DEVS[@]} -gt 1 ]; then btrfs device scan "${DEVS[@]}" >/dev/null; fi
}

forget_devs() {  # drop our devices from the kernel's btrfs device list
    local d
    for d in "${DEVS[@]}"; do btrfs device scan --forget "$d" >/dev/null 2>&1 || true; done
}

do_mount() {  # [extra options]
    local o="subvolid=5${1:+,$1}"
    mount -t btrfs -o "$o" "${DEVS[0]}" "$MNT"
    printf 'mount -o %s\n' "$o" >>"$ST/mounts.log"
}

do_remount() {  # options
    mount -o "remount,$1" "$MNT"
    printf 'mount -o remount,%s\n' "$1" >>"$ST/mounts.log"
}

fill() {  # RECIPE DIR [args]
    python3 "$HERE/fill.py" --report "$ST/special.json" --mount "$MNT" "$@"
}

record_mounted_and_umount() {  # [record_truth mounted flags]
    do_remount noatime
    python3 "$HERE/record_truth.py" mounted "$MNT" "$TRUTH" "$@"
    sync
    umount "$MNT"
}

finish() {  # [--check-data-csum]
    if [ ${#DEVS[@]} -gt 1 ]; then btrfs device scan "${DEVS[@]}" >/dev/null; fi
    python3 "$HERE/record_truth.py" unmounted "$TRUTH" "${DEVS[@]}" "$@"
    local l i
    forget_devs
    for l in "${LOOPS[@]}"; do losetup -d "$l"; done
    LOOPS=()
    : >"$ST/devices.tsv"
    for i in "${!DEVFILES[@]}"; do
        python3 "$HERE/pack_runs.py" "${DEVFILES[$i]}" "$OUT/dev$((i + 1)).runs.gz" >&2
        printf 'dev%d.runs.gz\t%s\n' $((i + 1)) "$(stat -c %s "${DEVFILES[$i]}")" >>"$ST/devices.tsv"
    done
    python3 "$HERE/record_truth.py" manifest "$TRUTH" "$ST"
    rm -rf "$WORK/$NAME"
    log "$NAME done: $(du -cb "$OUT"/dev*.runs.gz | tail -1 | cut -f1) bytes of images"
}

# ---------------------------------------------------------------------------
# images

build_default() {
    begin default "default mkfs.btrfs (crc32c, 16K nodes, DUP metadata, no-holes, free-space-tree); rich content, subvolumes, nested subvolume, rw/ro snapshots, non-default default subvolume, quotas with a level-1 qgroup and a limit, reflinks, clone-range, bookend extents, send/receive (received_uuid)"
    make_devs 1 512M
    do_mkfs -L default
    do_mount
    btrfs quota enable "$MNT"
    fill rich "$MNT/rich"
    btrfs subvolume create "$MNT/subvol-a" >/dev/null
    fill small "$MNT/subvol-a" --tag subvol-a --big $((1024 * 1024))
    btrfs subvolume create "$MNT/subvol-a/nested" >/dev/null
    fill small "$MNT/subvol-a/nested" --tag nested --big 300000
    btrfs subvolume create "$MNT/empty-subvol" >/dev/null
    mkdir "$MNT/snapshots" "$MNT/received"
    btrfs subvolume snapshot "$MNT/subvol-a" "$MNT/snap-a-rw" >/dev/null
    btrfs subvolume snapshot -r "$MNT/subvol-a" "$MNT/snapshots/snap-a-ro" >/dev/null
    fill default-extras "$MNT"
    fill modify-subvol "$MNT/subvol-a"
    echo "changed in the rw snapshot" >"$MNT/snap-a-rw/changed-in-snapshot.txt"
    btrfs subvolume snapshot -r "$MNT/subvol-a" "$MNT/snapshots/snap-a-ro2" >/dev/null
    sync
    btrfs send -q "$MNT/snapshots/snap-a-ro" | btrfs receive -q "$MNT/received"
    btrfs send -q -p "$MNT/snapshots/snap-a-ro" "$MNT/snapshots/snap-a-ro2" \
        | btrfs receive -q "$MNT/received"
    note "received/snap-a-ro is a full send of snapshots/snap-a-ro; received/snap-a-ro2 an incremental send (-p snap-a-ro) of snapshots/snap-a-ro2; both have received_uuid"
    local sva
    sva=$(btrfs inspect-internal rootid "$MNT/subvol-a")
    btrfs subvolume set-default "$sva" "$MNT"
    note "default subvolume set to subvol-a (id $sva)"
    btrfs qgroup create 1/100 "$MNT"
    btrfs qgroup assign --no-rescan "0/$sva" 1/100 "$MNT"
    btrfs qgroup assign --no-rescan "0/$(btrfs inspect-internal rootid "$MNT/snap-a-rw")" 1/100 "$MNT"
    btrfs qgroup limit 100M "$MNT/subvol-a"
    btrfs qgroup limit -e 50M 1/100 "$MNT"
    note "quotas: qgroup 1/100 holds subvol-a and snap-a-rw; referenced limit 100M on subvol-a; exclusive limit 50M on 1/100"
    btrfs quota rescan -w "$MNT" >/dev/null
    record_mounted_and_umount
    finish --check-data-csum
}

build_nodesize64k() {
    begin nodesize64k "64 KiB nodes (-n 65536); 3000 small files in 50 dirs so the fs tree and extent tree have level >= 1"
    make_devs 1 512M
    do_mkfs -L nodesize64k -n 65536
    do_mount
    fill many "$MNT/many" --count 3000
    fill small "$MNT/small" --tag n64k --big $((1024 * 1024))
    record_mounted_and_umount
    finish
}

build_mixed() {
    begin mixed "--mixed block groups (DATA+METADATA in one chunk type), nodesize = sectorsize = 4096; 2500 small files so the 4K-node fs tree has level 2"
    make_devs 1 256M
    do_mkfs -L mixed --mixed
    do_mount
    fill small "$MNT/small" --tag mixed --big $((2 * 1024 * 1024)) --random 131072
    fill many "$MNT/many" --count 2500
    record_mounted_and_umount
    finish
}

build_holes() {
    begin holes "-O ^no-holes: explicit hole file extent items; sparse, punched, prealloc and truncated files"
    make_devs 1 256M
    do_mkfs -L holes -O ^no-holes
    do_mount
    fill holes "$MNT/holes"
    fill small "$MNT/small" --tag holes --big $((512 * 1024))
    record_mounted_and_umount
    finish
}

build_csum() {  # ALG
    begin "csum-$1" "--csum $1 checksums for data and metadata"
    make_devs 1 256M
    do_mkfs -L "csum-$1" --csum "$1"
    do_mount
    fill small "$MNT/small" --tag "csum-$1" --big $((1024 * 1024)) --random 65536
    record_mounted_and_umount
    finish --check-data-csum
}
build_csum-xxhash() { build_csum xxhash; }
build_csum-sha256() { build_csum sha256; }
build_csum-blake2() { build_csum blake2; }

build_compress() {
    begin compress "zlib, lzo and zstd compressed extents (mount -o compress=ALG, compress-force=ALG and btrfs property), compressed inline extents, incompressible data, mixed compressed/uncompressed files"
    make_devs 1 512M
    do_mkfs -L compress
    do_mount compress=zlib
    fill compress "$MNT/zlib" --alg zlib
    sync
    do_remount compress=lzo
    fill compress "$MNT/lzo" --alg lzo
    sync
    do_remount compress=zstd
    fill compress "$MNT/zstd" --alg zstd
    sync
    do_remount compress-force=zlib
    fill force "$MNT/force-zlib" --alg zlib
    sync
    do_remount compress-force=lzo
    fill force "$MNT/force-lzo" --alg lzo
    sync
    do_remount compress-force=zstd:15
    fill force "$MNT/force-zstd" --alg zstd
    sync
    # property-based compression, without a compress mount option
    umount "$MNT"
    do_mount
    fill property "$MNT/prop-zlib" --alg zlib
    fill property "$MNT/prop-lzo" --alg lzo
    fill property "$MNT/prop-zstd" --alg zstd
    fill small "$MNT/uncompressed" --tag compress-none --big $((256 * 1024))
    note "directory = how its files were written: zlib|lzo|zstd (mount compress=ALG), force-* (compress-force=ALG; force-zstd used level 15), prop-* (btrfs property set ... compression ALG, no mount option), uncompressed (no compression)"
    record_mounted_and_umount
    finish --check-data-csum
}

build_dup-data() {
    begin dup-data "-d dup -m dup: data and metadata both DUP on one device"
    make_devs 1 256M
    do_mkfs -L dup-data -d dup -m dup
    do_mount
    fill small "$MNT/small" --tag dup-data --big $((2 * 1024 * 1024)) --random 65536
    record_mounted_and_umount
    finish --check-data-csum
}

build_raid() {  # NAME NDEV DATA META
    begin "$1" "$2 devices, data $3, metadata $4"
    make_devs "$2" 256M
    do_mkfs -L "$1" -d "$3" -m "$4"
    do_mount
    fill small "$MNT/small" --tag "$1" --big $((3 * 1024 * 1024)) --random $((256 * 1024))
    fill small "$MNT/second" --tag "$1-second" --big $((640 * 1024 + 4096 * 3))
    record_mounted_and_umount
    finish --check-data-csum
}
build_raid0() { build_raid raid0 2 raid0 raid0; }
build_raid1() { build_raid raid1 2 raid1 raid1; }
build_raid1c3() { build_raid raid1c3 3 raid1c3 raid1c3; }
build_raid1c4() { build_raid raid1c4 4 raid1c4 raid1c4; }
build_raid10() { build_raid raid10 4 raid10 raid10; }
build_raid5() { build_raid raid5 3 raid5 raid5; }
build_raid6() { build_raid raid6 4 raid6 raid1c3; }

build_partitioned() {  # gpt|mbr
    local kind=$1 disk l p1 p2
    begin "partitioned-$kind" "whole-disk image with a $kind partition table: partition 1 is a small ext4, partition 2 is btrfs"
    disk=$WORK/$NAME/dev1.img
    truncate -s 512M "$disk"
    DEVFILES=("$disk")
    if [ "$kind" = gpt ]; then
        printf 'label: gpt\nstart=2048, size=65536, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="ext4-part"\nstart=67584, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="btrfs-part"\n' \
            | sfdisk -q "$disk"
    else
        printf 'label: dos\nstart=2048, size=65536, type=83\nstart=67584, type=83\n' | sfdisk -q "$disk"
    fi
    (cd "$WORK/$NAME" && sfdisk --json dev1.img) >"$TRUTH/partitions.json"
    (cd "$WORK/$NAME" && sfdisk --dump dev1.img) >"$TRUTH/partitions.txt"
    attach "$disk" -P
    l=$ATTACHED
    # this kernel has no GPT/MBR parsers built in: add the partitions from userspace
    [ -e "${l}p2" ] || partx -a "$l"
    for _ in 1 2 3 4 5 6 7 8 9 10; do [ -b "${l}p2" ] && break; sleep 0.2; done
    p1=${l}p1 p2=${l}p2
    DEVS=("$p2")
    DEVLABELS=("dev1-partition2")
    mkfs.ext4 -q -L ext4-part "$p1"
    mount "$p1" "$MNT"
    echo "not btrfs" >"$MNT/hello.txt"
    umount "$MNT"
    python3 - "$TRUTH/partitions.json" "$kind" >"$ST/partition.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))["partitiontable"]
ss = t.get("sectorsize", 512)
parts = [dict(p, number=i + 1, offset_bytes=p["start"] * ss, size_bytes=p["size"] * ss)
         for i, p in enumerate(t["partitions"])]
print(json.dumps({"table": sys.argv[2], "sfdisk_label": t["label"], "sector_size": ss,
                  "btrfs_partition": 2, "btrfs_offset_bytes": parts[1]["offset_bytes"],
                  "btrfs_size_bytes": parts[1]["size_bytes"],
                  "partitions": parts,
                  "other_partitions": {"1": "ext4 (label ext4-part) with hello.txt"}}))
EOF
    do_mkfs -L "partitioned-$kind"
    do_mount
    fill small "$MNT/small" --tag "partitioned-$kind" --big $((1024 * 1024))
    record_mounted_and_umount
    note "dev1.runs.gz is the whole disk; btrfs starts at partition 2 (see partition); map-logical physical offsets are relative to the partition"
    finish
}
build_partitioned-gpt() { build_partitioned gpt; }
build_partitioned-mbr() { build_partitioned mbr; }

build_large-offsets() {
    begin large-offsets "one 260 GiB sparse device: all three superblock copies (64K, 64M, 256G) exist; a 5 GiB preallocated file pushes later data chunks beyond 5 GiB physical and logical"
    make_devs 1 260G
    do_mkfs -L large-offsets
    do_mount
    fallocate -l 5G "$MNT/prealloc-5g.bin"
    sync
    fill small "$MNT/far" --tag large-offsets --big $((3 * 1024 * 1024)) --random 65536
    note "prealloc-5g.bin is fallocated (unwritten extents, nothing on disk); files under far/ were written afterwards into chunks placed past 5 GiB"
    record_mounted_and_umount
    finish
}

build_deleted() {
    begin deleted "forensics: files written and committed, then deleted and committed (mounted nodiscard); see truth/deleted.json"
    make_devs 1 256M
    do_mkfs -L deleted
    do_mount nodiscard,noatime
    python3 "$HERE/forensics.py" deleted "$MNT" "${DEVFILES[0]}" "$TRUTH"
    record_mounted_and_umount
    finish
}

build_generations() {
    begin generations "forensics: three commits with a partial rewrite, a rename, an append and a truncate between them (mounted nodiscard); see truth/generations.json"
    make_devs 1 256M
    do_mkfs -L generations
    do_mount nodiscard,noatime
    python3 "$HERE/forensics.py" generations "$MNT" "${DEVFILES[0]}" "$TRUTH"
    record_mounted_and_umount
    finish
}

build_seed() {
    begin seed "a filesystem sprouted from a seed device: dev1 (devid 1) made, filled, then made a seed (btrfstune -S 1: read-only, its own fsid); dev2 (devid 2) added to the mounted seed (btrfs device add), remounted rw and written: new files, a seed file appended to, one overwritten in place, one deleted. The sprout has a new fsid; its chunk tree names the seed device with the seed's fsid"
    make_devs 2 256M
    printf '%s\n' "mkfs.btrfs -f -L seed dev1; btrfstune -S 1 dev1; btrfs device add dev2" >"$ST/mkfs.cmd"
    mkfs.btrfs -f -L seed "${DEVS[0]}" >"$TRUTH/mkfs.txt" 2>&1 || { cat "$TRUTH/mkfs.txt"; return 1; }
    do_mount
    fill small "$MNT/on-seed" --tag on-seed --big $((1024 * 1024)) --random 131072
    umount "$MNT"
    btrfstune -S 1 "${DEVS[0]}"
    note "dev1 is a seed (btrfstune -S 1): superblock flag SEEDING, its own fsid; the sprout (dev2) has another"
    mount -t btrfs -o ro,subvolid=5 "${DEVS[0]}" "$MNT"
    printf 'mount -o ro,subvolid=5 (seed)\n' >>"$ST/mounts.log"
    btrfs device add -f -K "${DEVS[1]}" "$MNT" >/dev/null
    do_remount rw
    fill small "$MNT/on-sprout" --tag on-sprout --big $((700 * 1024))
    printf 'appended on the sprout\n' >>"$MNT/on-seed/tiny.txt"
    printf 'X%.0s' $(seq 1 5000) | dd of="$MNT/on-seed/pattern-big.bin" bs=1 seek=70000 conv=notrunc status=none
    rm "$MNT/on-seed/exact-4096.bin"
    note "after sprouting: on-seed/tiny.txt appended (its hardlink dir/tiny-hardlink.txt with it), on-seed/pattern-big.bin overwritten at 70000 (+5000), on-seed/exact-4096.bin deleted"
    sync
    record_mounted_and_umount
    btrfs device scan "${DEVS[@]}" >/dev/null
    TRUTH_OPEN_DEV=1 finish
}

build_log-tree() {
    begin log-tree "forensics: copy of a mounted device taken after fsync without a transaction commit, so it holds a log tree (superblock log_root != 0); see truth/log-tree.json"
    make_devs 1 256M
    do_mkfs -L log-tree
    do_mount commit=300,nodiscard,noatime
    local copy=$WORK/$NAME/copy.img
    python3 "$HERE/forensics.py" log-tree "$MNT" "${DEVFILES[0]}" "$copy" "$TRUTH"
    umount "$MNT"
    # the kernel remembers the original device for this fsid; forget it
    forget_devs
    losetup -d "${LOOPS[0]}"
    LOOPS=()
    mv "$copy" "${DEVFILES[0]}"
    attach "${DEVFILES[0]}"
    DEVS=("$ATTACHED")
    note "the image was copied while mounted, after fsyncs and without a commit; all mounted truth (files.json.gz, subvolumes, du, df, usage) was recorded just before the copy without syncing; files.json.gz is the kernel's view at copy time, which a log replay must reproduce"
    finish
}

# ---------------------------------------------------------------------------
build_index() {
    python3 - "$HERE" <<'EOF'
import json, os, sys
here = sys.argv[1]
out = []
for name in sorted(os.listdir(here)):
    m = os.path.join(here, name, "truth", "manifest.json")
    if not os.path.exists(m):
        continue
    with open(m) as f:
        man = json.load(f)
    devs = [dict(d, stored_bytes=os.path.getsize(os.path.join(here, name, d["file"])))
            for d in man["devices"]]
    out.append({"name": name, "description": man["description"], "devices": devs,
                "profiles": man["profiles"], "csum_type": man["csum_type"],
                "nodesize": man["nodesize"], "sectorsize": man["sectorsize"],
                "partition": man.get("partition") and {
                    k: man["partition"][k] for k in ("table", "btrfs_partition",
                                                     "btrfs_offset_bytes", "btrfs_size_bytes")},
                "check_readonly_rc": man["check"]["check_readonly_rc"]})
with open(os.path.join(here, "index.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
EOF
}

main() {
    [ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
    local images=("$@") n
    [ ${#images[@]} -gt 0 ] || images=("${ALL_IMAGES[@]}")
    for n in "${images[@]}"; do
        declare -F "build_$n" >/dev/null || { echo "unknown image: $n" >&2; exit 1; }
    done
    modprobe btrfs 2>/dev/null || true
    for n in "${images[@]}"; do
        "build_$n"
    done
    build_index
    log "all done"
    du -sb "$HERE" >&2
}

main "$@"
