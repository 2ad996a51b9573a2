#!/usr/bin/env bash
# Builds the hostile images of issue 25 with the kernel (root, loop devices, btrfs-progs), N
# of each thing, into OUT (raw sparse images, cached: an image already there is kept):
#   dedup.img     /clones: N clone ranges (FICLONERANGE) of the one 4 KiB block of /block
#   punched.img   /punched: a file of 2N x 4 KiB with every other 4 KiB punched out (N holes)
#   deleted.img   N files written, committed, then deleted (older tree blocks keep them)
#   deep.img      directories nested N levels deep (d/d/.../bottom.txt; made with chdir)
#   wide.img      one directory of N entries
# usage: bench/build-hostile.sh N OUT   (prints OUT)
set -euo pipefail
N=${1:?usage: build-hostile.sh N OUT}; OUT=${2:?usage: build-hostile.sh N OUT}
mkdir -p "$OUT"
MNT=$(mktemp -d)
trap 'umount "$MNT" 2>/dev/null || true; rmdir "$MNT"' EXIT

# make NAME: a fresh filesystem mounted on $MNT, filled by the python on stdin (argv: mount, N).
make() {
  local img="$OUT/$1.img"
  if [ -s "$img" ]; then cat >/dev/null; return; fi
  rm -f "$img.tmp"; truncate -s 1G "$img.tmp"
  mkfs.btrfs -q -L "hostile-$1" "$img.tmp"
  mount -o loop "$img.tmp" "$MNT"
  python3 - "$MNT" "$N"
  sync; umount "$MNT"
  mv "$img.tmp" "$img"
}

make dedup <<'PY'
import fcntl, os, struct, sys
mnt, n = sys.argv[1], int(sys.argv[2])
FICLONERANGE = 0x4020940d
with open(f'{mnt}/block', 'wb') as f:
    f.write(bytes(range(256)) * 16)
src = os.open(f'{mnt}/block', os.O_RDONLY)
dst = os.open(f'{mnt}/clones', os.O_WRONLY | os.O_CREAT, 0o644)
for i in range(n):
    fcntl.ioctl(dst, FICLONERANGE, struct.pack('=qQQQ', src, 0, 4096, i * 8192))
PY

make punched <<'PY'
import ctypes, os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
with open(f'{mnt}/punched', 'wb') as f:
    block = bytes(range(256)) * 16
    for _ in range(2 * n):
        f.write(block)
    f.flush(); os.fsync(f.fileno())
    for i in range(n):
        if libc.fallocate(f.fileno(), FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, ctypes.c_long(i * 8192 + 4096), ctypes.c_long(4096)) != 0:
            raise OSError(ctypes.get_errno(), 'fallocate')
PY

make deleted <<'PY'
import os, subprocess, sys
mnt, n = sys.argv[1], int(sys.argv[2])
os.mkdir(f'{mnt}/victims')
for i in range(n):
    with open(f'{mnt}/victims/f{i:07d}', 'wb') as f:
        f.write(i.to_bytes(8, 'little') * 512)
subprocess.run(['sync'], check=True)
for i in range(n):
    os.unlink(f'{mnt}/victims/f{i:07d}')
PY

make deep <<'PY'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
os.chdir(mnt)
for _ in range(n):
    os.mkdir('d'); os.chdir('d')
with open('bottom.txt', 'w') as f:
    f.write(f'the bottom of a {n}-level tree\n')
PY

make wide <<'PY'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
os.mkdir(f'{mnt}/huge')
for i in range(n):
    with open(f'{mnt}/huge/entry-{i:07d}', 'wb') as f:
        f.write(b'x')
PY
echo "$OUT"
