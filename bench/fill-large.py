#!/usr/bin/env python3
"""Fills a mounted btrfs for the benchmark: FILES files in a subvolume, then
SNAPS snapshots with about 1% of the files changed, added or removed between
them, some reflinked copies and a compressed directory. Deterministic.

PROFILE picks the shape (argv[4], default "large"):
  large  the first bench image: 70% inline files, a tail up to 32 MiB (about
         50 KiB a file on average), zstd, two directory levels (997 x 31).
  scale  the scale image of issue 22 (4x the files, 2x the snapshots on the
         same disk budget): 80% inline files, a tail up to 4 MiB (about 5 KiB a
         file), zlib, three directory levels (211 x 53 x 17), so many more
         small leaves and a taller fs tree per data byte; 0.2% of the files
         changed between snapshots (not 1%).
Profile "large" draws exactly the random sequence it always did, so its image
is the one built before profiles existed."""
import os, random, subprocess, sys

mnt, nfiles, nsnaps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
profile = sys.argv[4] if len(sys.argv) > 4 else 'large'
if profile not in ('large', 'scale'):
    sys.exit(f'unknown profile {profile}')
rnd = random.Random(20261121)
vol = os.path.join(mnt, 'data')
subprocess.run(['btrfs', '-q', 'subvolume', 'create', vol], check=True)
comp = os.path.join(vol, 'compressed')
os.mkdir(comp)
algo = 'zstd' if profile == 'large' else 'zlib'
subprocess.run(['btrfs', 'property', 'set', comp, 'compression', algo], check=True)

def payload(n):
    # Half compressible text, half random: realistic mix for compression and csums.
    if rnd.random() < 0.5:
        line = (f'line {rnd.randrange(10**9)} of benchmark data\n').encode()
        return (line * (n // len(line) + 1))[:n]
    return rnd.randbytes(n)

def size():
    r = rnd.random()
    if profile == 'scale':
        if r < 0.80: return rnd.randrange(0, 2048)     # inline
        if r < 0.99: return rnd.randrange(2048, 12288)
        if r < 0.9995: return rnd.randrange(12288, 256 << 10)
        return rnd.randrange(256 << 10, 4 << 20)
    if r < 0.70: return rnd.randrange(0, 2048)        # inline
    if r < 0.95: return rnd.randrange(2048, 65536)
    if r < 0.999: return rnd.randrange(65536, 1 << 20)
    return rnd.randrange(1 << 20, 32 << 20)

paths = []
for i in range(nfiles):
    if profile == 'scale':
        d = os.path.join(vol if i % 10 else comp, f'd{i % 211:03d}', f'e{(i // 211) % 53:02d}', f'g{(i // 11183) % 17:02d}')
    else:
        d = os.path.join(vol if i % 10 else comp, f'd{i % 997:03d}', f'e{(i // 997) % 31:02d}')
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, f'f{i:07d}')
    with open(p, 'wb') as f:
        f.write(payload(size()))
    paths.append(p)
    if i % 50000 == 0:
        print(f'{i} files', flush=True)
for i in range(0, nfiles, 1000):
    subprocess.run(['cp', '--reflink=always', paths[i], paths[i] + '.reflink'], check=True)
subprocess.run(['sync'], check=True)
for s in range(nsnaps):
    subprocess.run(['btrfs', '-q', 'subvolume', 'snapshot', '-r', vol, os.path.join(mnt, f'snap{s:02d}')], check=True)
    # scale: 0.2% of the files a snapshot (2,400 changes of 1.2M); at 1% its 24 snapshots' copied
    # leaves filled a 16 GiB image by snapshot 13 (each change copies a leaf and its path, twice with DUP).
    for _ in range(nfiles // (500 if profile == 'scale' else 100)):
        p = rnd.choice(paths)
        op = rnd.random()
        if op < 0.6 and os.path.exists(p):
            with open(p, 'r+b') as f:
                f.seek(rnd.randrange(0, max(1, os.path.getsize(p))))
                f.write(payload(rnd.randrange(1, 8192)))
        elif op < 0.8 and os.path.exists(p):
            os.unlink(p)
        else:
            with open(p + f'.new{s}', 'wb') as f:
                f.write(payload(size()))
    subprocess.run(['sync'], check=True)
    print(f'snapshot {s}', flush=True)
