#!/usr/bin/env bash
# Builds the hostile images of issue 25 with the kernel (root, loop devices, btrfs-progs) into OUT
# (raw sparse images, cached: an image already there is kept). SCALE is a number N (every image
# gets N of its thing: a quick pass) or "issue" (the counts issue 25 names, in brackets):
#   dedup.img      /clones: clone ranges (FICLONERANGE) of the one 4 KiB block of /block [100,000]
#   dedup1m.img    the same, a 1M-reference extent [1,000,000]
#   punched.img    /punched: a file of 2N x 4 KiB with every other 4 KiB punched out [100,000 holes]
#   deleted.img    files written, committed, then deleted (older tree blocks keep them) [20,000]
#   deep.img       directories nested N levels deep (d/d/.../bottom.txt; made with chdir) [5,000]
#   wide.img       /huge: one directory of N entries [200,000]
#   xattrs.img     /x: one file with N xattrs of 64,000 bytes [16,000] (64 KiB nodes: the only
#                  node size whose leaf holds a 64 KB xattr value)
#   bomb.runs.gz   a 1 MiB gzip runs image that inflates to 1 GiB (item 7)
#   index.runs.gz  a ~22 MiB gzip runs image of millions of 1-byte runs: a huge index that is
#                  within the 256 MiB decompression cap (item 7)
# usage: bench/build-hostile.sh SCALE OUT   (prints OUT)
set -euo pipefail
SCALE=${1:?usage: build-hostile.sh SCALE OUT}; OUT=${2:?usage: build-hostile.sh SCALE OUT}
mkdir -p "$OUT"
MNT=$(mktemp -d)
trap 'umount "$MNT" 2>/dev/null || true; rmdir "$MNT"' EXIT

# count ISSUE-COUNT: how many of its thing an image gets at this scale.
count() { if [ "$SCALE" = issue ]; then echo "$1"; else echo "$SCALE"; fi; }

# make NAME COUNT SIZE [MKFS-OPTIONS...]: a fresh filesystem mounted on $MNT, filled by the
# python on stdin (argv: mount, COUNT). HEAVY=1 (the 1M-clone and the 1 GB xattr images)
# fills under /tmp/bench-build.lock (NO_LOCK=1: not, when another holder keeps it for long).
make() {
  local name=$1 n=$2 size=$3
  shift 3
  local lock=()
  if [ "${HEAVY:-0}" = 1 ] && [ "${NO_LOCK:-0}" != 1 ]; then lock=(flock /tmp/bench-build.lock); fi
  local img="$OUT/$name.img"
  if [ -s "$img" ]; then cat >/dev/null; return; fi
  rm -f "$img.tmp"; truncate -s "$size" "$img.tmp"
  mkfs.btrfs -q -L "hostile-$name" "$@" "$img.tmp"
  mount -o loop "$img.tmp" "$MNT"
  "${lock[@]}" python3 - "$MNT" "$n"
  sync; umount "$MNT"
  mv "$img.tmp" "$img"
}

DEDUP=$(cat <<'PY'
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
)
make dedup "$(count 100000)" 1G <<<"$DEDUP"

make punched "$(count 100000)" 1G <<'PY'
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

make deleted "$(count 20000)" 1G <<'PY'
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

make deep "$(count 5000)" 1G <<'PY'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
os.chdir(mnt)
for _ in range(n):
    os.mkdir('d'); os.chdir('d')
with open('bottom.txt', 'w') as f:
    f.write(f'the bottom of a {n}-level tree\n')
PY

make wide "$(count 200000)" 1G <<'PY'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
os.mkdir(f'{mnt}/huge')
for i in range(n):
    with open(f'{mnt}/huge/entry-{i:07d}', 'wb') as f:
        f.write(b'x')
PY

# The heavy images last: they wait for the shared build lock, the light ones need not.
HEAVY=1 make dedup1m "$(count 1000000)" 4G <<<"$DEDUP"

HEAVY=1 make xattrs "$(count 16000)" 4G --nodesize 65536 <<'PY'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
with open(f'{mnt}/x', 'w') as f:
    f.write('a file with many large xattrs\n')
for i in range(n):
    os.setxattr(f'{mnt}/x', f'user.x{i:06d}', i.to_bytes(4, 'little') * 16000)
PY

# The runs images are not filesystems: the runs reader must refuse or load them within its caps.
[ -s "$OUT/bomb.runs.gz" ] || python3 - "$OUT/bomb.runs.gz" <<'PY'
import gzip, json, os, sys
with gzip.open(sys.argv[1] + '.tmp', 'wb', compresslevel=9) as f:
    f.write(b'btrfs-corpus-runs 1\n' + json.dumps({'size': 1 << 30, 'runs': [[0, 1 << 30]]}).encode() + b'\n')
    zero = bytes(1 << 20)
    for _ in range(1024):
        f.write(zero)
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
PY
[ -s "$OUT/index.runs.gz" ] || python3 - "$OUT/index.runs.gz" <<'PY'
import gzip, os, random, sys
n = 6_000_000  # 1-byte runs at random even offsets: an index of ~110 MB, ~22 MiB gzipped
rng = random.Random(25)
offsets, pos = [], 0
for _ in range(n):
    pos += 2 * rng.randint(1, 64)
    offsets.append(pos)
with gzip.open(sys.argv[1] + '.tmp', 'wb', compresslevel=6) as f:
    f.write(b'btrfs-corpus-runs 1\n{"size": %d, "runs": [' % (pos + 2))
    f.write(','.join(f'[{o},1]' for o in offsets).encode())
    f.write(b']}\n')
    f.write(rng.randbytes(n))
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
PY
echo "$OUT"
