#!/bin/bash
# Make the fs-verity and zoned sample images in a VM. This host's kernel has
# neither CONFIG_FS_VERITY nor zoned block devices; Debian's 6.1 kernel has
# both (fs-verity built in, null_blk as a module), so it boots under qemu (TCG,
# no KVM needed) from an initramfs built here, and its init script
# (vm/init.sh) makes the filesystems and records the truth there, where the
# kernel and btrfs-progs see them as they really are.
#
# Needs (root, Debian): apt-get install qemu-system-x86 linux-image-amd64
#   fsverity busybox-static cpio
# Usage: sudo bash sample-images/vm/make-in-vm.sh [OUTDIR]
#   OUTDIR (default sample-images/vm-made) gets fsverity/ and zoned-nullblk/, each with
#   dev1.runs.gz and truth/.
# Env: BTRFS_PROGS (default /work/progs-6.19/bin): the mkfs.btrfs/btrfs copied
#   into the VM; KVER (default: the newest /lib/modules/6.1*).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$(dirname "$HERE")/vm-made}
PROGS=${BTRFS_PROGS:-/work/progs-6.19/bin}
KVER=${KVER:-$(basename "$(ls -d /lib/modules/6.1* | sort -V | tail -1)")}
KERNEL=/boot/vmlinuz-$KVER
[ -r "$KERNEL" ] || { echo "no $KERNEL (apt-get install linux-image-amd64)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/make-in-vm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,mnt,results,lib/modules,usr/bin}

# busybox-static provides the shell and the small tools (insmod, dd, sha256sum, tar).
cp /bin/busybox "$ROOT/bin/busybox"

# Modules in load order, as modprobe resolves their dependencies for KVER.
: > "$ROOT/modules.list"
for m in virtio_pci virtio_blk btrfs null_blk sha512_generic; do
  modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$ROOT/lib/modules/"
  basename "$ko" >> "$ROOT/modules.list"
done

# Dynamic binaries and the shared libraries ldd names for them.
copy_bin() {
  cp "$1" "$ROOT/usr/bin/"
  ldd "$1" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
  done
}
copy_bin "$PROGS/mkfs.btrfs"
copy_bin "$PROGS/btrfs"
copy_bin "$(command -v fsverity)"
copy_bin "$(command -v blkzone)"
"$PROGS/btrfs" --version > "$ROOT/progs-version.txt"
fsverity --version 2>&1 | head -1 > "$ROOT/fsverity-version.txt" || true
echo "$KVER" > "$ROOT/kernel-version.txt"

cp "$HERE/init.sh" "$ROOT/init"
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.gz"

# vda: the fs-verity filesystem; vdb: receives the copy of the zoned null_blk
# device; vdc: a tar of the truth files written in the VM.
truncate -s 256M "$WORK/verity.img"
truncate -s 1G "$WORK/zoned.img"
truncate -s 32M "$WORK/results.img"
timeout 3600 qemu-system-x86_64 -machine q35 -cpu max -m 1024 -smp 1 -nographic -no-reboot \
  -kernel "$KERNEL" -initrd "$WORK/initrd.gz" \
  -append 'console=ttyS0 panic=-1 quiet' \
  -drive file="$WORK/verity.img",format=raw,if=virtio,cache=unsafe \
  -drive file="$WORK/zoned.img",format=raw,if=virtio,cache=unsafe \
  -drive file="$WORK/results.img",format=raw,if=virtio,cache=unsafe \
  | tee "$WORK/console.log"

mkdir -p "$WORK/results"
tar -xf "$WORK/results.img" -C "$WORK/results"
[ -f "$WORK/results/done" ] || { echo "the VM did not finish: see the console output above" >&2; exit 1; }

for name in fsverity zoned-nullblk; do
  mkdir -p "$OUT/$name/truth"
  cp -r "$WORK/results/$name/." "$OUT/$name/truth/"
done
python3 "$(dirname "$HERE")/pack_runs.py" "$WORK/verity.img" "$OUT/fsverity/dev1.runs.gz"
zbytes=$(cat "$WORK/results/zoned-nullblk/device-bytes")
truncate -s "$zbytes" "$WORK/zoned.img"
python3 "$HERE/zero_unwritten.py" "$WORK/zoned.img" "$WORK/results/zoned-nullblk/blkzone.txt"
python3 "$(dirname "$HERE")/pack_runs.py" "$WORK/zoned.img" "$OUT/zoned-nullblk/dev1.runs.gz"

# Host-side truth for the verity image (a plain, not zoned, filesystem): the
# same btrfs-progs reading the copy.
T=$OUT/fsverity/truth
"$PROGS/btrfs" inspect-internal dump-super -f "$WORK/verity.img" > "$T/dump-super-dev1.txt"
"$PROGS/btrfs" inspect-internal dump-tree "$WORK/verity.img" | gzip -9n > "$T/dump-tree.txt.gz"
{ "$PROGS/btrfs" check --readonly "$WORK/verity.img" 2>&1; echo "exit $?"; } > "$T/check.txt" || true
echo "wrote $OUT/fsverity and $OUT/zoned-nullblk"
