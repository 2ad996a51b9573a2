#!/usr/bin/env python3
"""Fills the extract benchmark filesystem (see build-extract.sh), deterministically.

small/: 40,000 files of 100 B .. 16 KiB (a third inline), in 400 directories
zstd/, zlib/: 300 MiB each of compressible text (log-like lines) in 1-16 MiB files
plain/: 560 MiB of incompressible data in 8-64 MiB files
"""
import os
import random
import sys

root = sys.argv[1]
rng = random.Random(1400)
words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 10))) for _ in range(4000)]


def text(n):
    out = []
    size = 0
    i = 0
    while size < n:
        line = f'{i:08d} {rng.randint(0, 1 << 30):x} ' + ' '.join(rng.choice(words) for _ in range(rng.randint(3, 14))) + '\n'
        out.append(line)
        size += len(line)
        i += 1
    return ''.join(out).encode()[:n]


os.makedirs(f'{root}/small', exist_ok=True)
for d in range(400):
    p = f'{root}/small/d{d:03d}'
    os.mkdir(p)
    for f in range(100):
        n = rng.choice([rng.randint(100, 2000), rng.randint(2000, 16384), rng.randint(100, 16384)])
        with open(f'{p}/f{f:03d}.txt', 'wb') as fh:
            fh.write(text(n))

for comp in ('zstd', 'zlib'):
    total = 0
    k = 0
    while total < 300 << 20:
        n = rng.randint(1 << 20, 16 << 20)
        with open(f'{root}/{comp}/c{k:03d}.log', 'wb') as fh:
            fh.write(text(n))
        total += n
        k += 1

os.makedirs(f'{root}/plain', exist_ok=True)
total = 0
k = 0
while total < 560 << 20:
    n = rng.randint(8 << 20, 64 << 20)
    with open(f'{root}/plain/p{k:03d}.bin', 'wb') as fh:
        fh.write(rng.randbytes(n))
    total += n
    k += 1
