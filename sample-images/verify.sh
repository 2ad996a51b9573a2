#!/bin/bash
# Check that the stored images round-trip (needs root and btrfs-progs):
# unpack every devN.runs.gz to a sparse raw file, attach loop devices
# (partitioned images: a loop over the btrfs partition), then
#   - btrfs check --readonly must exit 0,
#   - btrfs inspect-internal dump-tree must equal truth/dump-tree.txt.gz,
#   - dump-super must equal truth/dump-super*.txt apart from the device path.
#
#   sudo bash sample-images/verify.sh [IMAGE ...]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d /var/tmp/btrfs-sample-verify.XXXXXX)
LOOPS=()
cleanup() {
    local l
    for l in "${LOOPS[@]}"; do
        case "$(losetup -n -O BACK-FILE "$l" 2>/dev/null)" in
            "$WORK"/*) losetup -d "$l" ;;
        esac
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for d in "$HERE"/*/truth/manifest.json; do
        d=${d%/truth/manifest.json}
        names+=("${d##*/}")
    done
fi

fail=0
for n in "${names[@]}"; do
    python3 "$HERE/unpack_runs.py" -d "$WORK" "$n" >/dev/null
    devs=()
    LOOPS_IMG=()
    for raw in "$WORK/$n"/dev*.raw; do
        off=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["partition"]; print("%d %d" % (p["btrfs_offset_bytes"], p["btrfs_size_bytes"]) if p else "")' "$HERE/$n/truth/manifest.json")
        if [ -n "$off" ]; then
            l=$(losetup -f --show -r -o "${off% *}" --sizelimit "${off#* }" "$raw")
        else
            l=$(losetup -f --show -r "$raw")
        fi
        LOOPS+=("$l")
        LOOPS_IMG+=("$l")
        devs+=("$l")
    done
    btrfs device scan "${devs[@]}" >/dev/null 2>&1 || true
    status=ok
    # A sprouted filesystem is opened through a device that is not a seed (superblock flag
    # SEEDING, 1 << 32): opening the seed opens the seed's own filesystem.
    open=${devs[0]}
    for d in "${devs[@]}"; do
        f=$(btrfs inspect-internal dump-super "$d" | awk '/^flags/ {print $2; exit}')
        if (( (f >> 32) & 1 )); then continue; fi
        open=$d; break
    done
    if ! btrfs check --readonly "$open" >"$WORK/$n.check" 2>&1; then
        status="CHECK FAILED"; fail=1
    fi
    btrfs inspect-internal dump-tree "$open" >"$WORK/$n.dump" 2>/dev/null
    if ! zcat "$HERE/$n/truth/dump-tree.txt.gz" | cmp -s - "$WORK/$n.dump"; then
        status="$status, DUMP-TREE DIFFERS"; fail=1
    fi
    i=1
    for d in "${devs[@]}"; do
        t=$HERE/$n/truth/dump-super.txt
        [ ${#devs[@]} -gt 1 ] && t=$HERE/$n/truth/dump-super-dev$i.txt
        if ! diff -q <(tail -n +2 "$t" | grep -v '^superblock: bytenr=') \
                     <(btrfs inspect-internal dump-super -f -a "$d" | grep -v '^superblock: bytenr=') >/dev/null; then
            status="$status, DUMP-SUPER dev$i DIFFERS"; fail=1
        fi
        i=$((i + 1))
    done
    printf '%-18s %s\n' "$n" "$status"
    for l in "${LOOPS_IMG[@]}"; do btrfs device scan --forget "$l" >/dev/null 2>&1 || true; done
    for l in "${LOOPS_IMG[@]}"; do losetup -d "$l"; done
    rm -rf "${WORK:?}/$n"
done
exit $fail
