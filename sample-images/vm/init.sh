#!/bin/busybox sh
# /init of the VM that make-in-vm.sh boots: makes the fs-verity and the zoned
# filesystems and records their truth under /results (written as a tar to
# /dev/vdc), then powers off. Each step's output goes to the console as well.
/bin/busybox --install -s /bin
export PATH=/usr/bin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
# null_blk as a 1 GiB host-managed zoned device of 8 MiB zones, kept in memory
# (null_blk's module parameters; its configfs interface gave no device here).
for ko in $(cat /modules.list); do
  case $ko in null_blk.ko) args="nr_devices=1 zoned=1 zone_size=8 zone_nr_conv=0 memory_backed=1 gb=1 bs=4096" ;; *) args= ;; esac
  insmod "/lib/modules/$ko" $args 2>/dev/null || echo "insmod $ko $args failed"
done
sleep 1
R=/results
mkdir -p $R/fsverity $R/zoned-nullblk
cp /progs-version.txt /fsverity-version.txt /kernel-version.txt $R/
step() { echo "+ $*"; "$@"; }

# --- fs-verity: a plain filesystem on vda, files of the sizes whose Merkle
# trees differ in shape (none, one block, two levels), one with a salt, one
# with SHA-512. Content is random: the recorded hashes are the truth.
V=$R/fsverity
step mkfs.btrfs -f -L fsverity /dev/vda > $V/mkfs.txt 2>&1
cat $V/mkfs.txt
mount /dev/vda /mnt
: > /mnt/empty
head -c 1 /dev/urandom > /mnt/one-byte
head -c 5000 /dev/urandom > /mnt/small-5000
head -c 1061233 /dev/urandom > /mnt/two-levels-1061233
head -c 70000 /dev/urandom > /mnt/salted-70000
head -c 300000 /dev/urandom > /mnt/sha512-300000
head -c 20000 /dev/urandom > /mnt/not-verity-20000
sync
for f in empty one-byte small-5000 two-levels-1061233; do step fsverity enable /mnt/$f; done
step fsverity enable --salt=5eed0123456789abcdef /mnt/salted-70000
step fsverity enable --hash-alg=sha512 /mnt/sha512-300000
sync
(cd /mnt && fsverity measure empty one-byte small-5000 two-levels-1061233 salted-70000 sha512-300000) > $V/fsverity-measure.txt 2>&1
(cd /mnt && sha256sum empty one-byte small-5000 two-levels-1061233 salted-70000 sha512-300000 not-verity-20000) > $V/files.sha256
(cd /mnt && ls -li) > $V/ls.txt
cat $V/fsverity-measure.txt $V/files.sha256
umount /mnt

# --- zoned: the host-managed zoned null_blk device; mkfs detects the zones; several commits advance the superblock
# log; btrfs-progs records the truth on the zoned device itself (a copy in a
# plain file loses the write pointers, so progs there reads 64 KiB, a slot in
# the log, not the newest superblock).
Z=$R/zoned-nullblk
sleep 1
if [ "$(cat /sys/block/nullb0/queue/zoned)" != host-managed ]; then
  echo "make-in-vm: /dev/nullb0 is not a host-managed zoned device"; ls /sys/block; dmesg | tail -20; poweroff -f
fi
ls -l /dev/nullb0
cat /sys/block/nullb0/queue/zoned > $Z/zoned-model.txt
echo $(( $(cat /sys/block/nullb0/queue/chunk_sectors) * 512 )) > $Z/zone-bytes
echo $(( $(cat /sys/block/nullb0/size) * 512 )) > $Z/device-bytes
cat $Z/zoned-model.txt $Z/zone-bytes $Z/device-bytes
step mkfs.btrfs -f -L zoned-nullblk /dev/nullb0 > $Z/mkfs.txt 2>&1
cat $Z/mkfs.txt
blkzone report /dev/nullb0 > $Z/blkzone-after-mkfs.txt 2>&1
mount /dev/nullb0 /mnt
mkdir /mnt/dir
head -c 1 /dev/urandom > /mnt/one-byte
head -c 5000 /dev/urandom > /mnt/small-5000
sync
head -c 3000000 /dev/urandom > /mnt/dir/three-mb
sync
head -c 100000 /dev/urandom > /mnt/dir/hundred-k
sync
rm /mnt/small-5000
head -c 12345 /dev/urandom > /mnt/small-12345
sync
(cd /mnt && find . -type f | sort | xargs sha256sum) > $Z/files.sha256
cat $Z/files.sha256
umount /mnt
blkzone report /dev/nullb0 > $Z/blkzone.txt 2>&1
cat $Z/blkzone.txt | head -8
btrfs inspect-internal dump-super -f /dev/nullb0 > $Z/dump-super-dev1.txt 2>&1
btrfs inspect-internal dump-super -a /dev/nullb0 > $Z/dump-super-all.txt 2>&1
btrfs inspect-internal dump-tree /dev/nullb0 2>&1 | gzip -9 > $Z/dump-tree.txt.gz
{ btrfs check --readonly /dev/nullb0 2>&1; echo "exit $?"; } > $Z/check.txt
cat $Z/check.txt
step dd if=/dev/nullb0 of=/dev/vdb bs=1M
sync

touch $R/done
(cd $R && tar -cf /dev/vdc .)
sync
echo "make-in-vm: done"
poweroff -f
